package policy_test

import (
	"regexp"
	"slices"
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/utils/ptr"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
	"github.com/twelvefactor/twelvefactor-operator/internal/policy"
	"github.com/twelvefactor/twelvefactor-operator/internal/policy/policytest"
)

func reasons(fs []policy.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Rule.Reason)
	}
	return out
}

func TestEachFixtureFiresExactlyTheExpectedRules(t *testing.T) {
	for _, f := range policytest.Fixtures() {
		t.Run(f.Name, func(t *testing.T) {
			g := NewWithT(t)
			g.Expect(reasons(policy.Findings(f.App, f.Obs))).To(Equal(f.Fires))
		})
	}
}

func TestEveryRuleHasAFiringFixtureAndANearMiss(t *testing.T) {
	g := NewWithT(t)
	fires, misses := map[string]int{}, map[string]int{}
	for _, f := range policytest.Fixtures() {
		for _, r := range f.Fires {
			fires[r]++
		}
		if f.Rule != "" && !slices.Contains(f.Fires, f.Rule) {
			misses[f.Rule]++
		}
	}
	for _, r := range policy.Rules() {
		g.Expect(fires).To(HaveKey(r.Reason), "no fixture on which %s fires", r.Reason)
		g.Expect(misses).To(HaveKey(r.Reason), "no fixture on which %s passes", r.Reason)
	}
}

func TestRulesAreWellFormed(t *testing.T) {
	g := NewWithT(t)
	camel := regexp.MustCompile(`^[A-Z][a-z]+([A-Z][a-z]*)+$`)
	seen := map[string]bool{}
	for _, r := range policy.Rules() {
		g.Expect(policy.Factors).To(ContainElement(r.Factor))
		g.Expect(r.Status).To(BeElementOf(tfv1.FactorWarn, tfv1.FactorFail))
		g.Expect(r.Reason).To(MatchRegexp(camel.String()))
		g.Expect(seen).NotTo(HaveKey(r.Reason), "duplicate reason")
		seen[r.Reason] = true
		got, ok := policy.Lookup(r.Reason)
		g.Expect(ok).To(BeTrue())
		g.Expect(got.Factor).To(Equal(r.Factor))
	}
	_, ok := policy.Lookup("NoSuchRule")
	g.Expect(ok).To(BeFalse())
}

// wantResults derives the twelve results a fixture should produce from the
// rules it says fire.
func wantStatus(t *testing.T, fires []string) map[string]tfv1.FactorStatus {
	want := map[string]tfv1.FactorStatus{}
	for _, f := range policy.Factors {
		want[f] = tfv1.FactorPass
	}
	for _, reason := range fires {
		r, ok := policy.Lookup(reason)
		if !ok {
			t.Fatalf("fixture names unknown rule %s", reason)
		}
		if want[r.Factor] != tfv1.FactorFail {
			want[r.Factor] = r.Status
		}
	}
	return want
}

func TestEvaluateReturnsTwelveFactorsInOrderWithTheWorstStatus(t *testing.T) {
	for _, f := range policytest.Fixtures() {
		t.Run(f.Name, func(t *testing.T) {
			g := NewWithT(t)
			got := policy.Evaluate(f.App, f.Obs)
			g.Expect(got).To(HaveLen(12))
			want := wantStatus(t, f.Fires)
			for i, r := range got {
				g.Expect(r.Factor).To(Equal(policy.Factors[i]))
				g.Expect(r.Status).To(Equal(want[r.Factor]), "factor %s", r.Factor)
				g.Expect(r.Reason).To(MatchRegexp(`^[A-Z][A-Za-z]+$`))
				g.Expect(r.Message).NotTo(BeEmpty())
			}
		})
	}
}

func TestStaticIgnoresObservedRules(t *testing.T) {
	for _, f := range policytest.Fixtures() {
		t.Run(f.Name, func(t *testing.T) {
			g := NewWithT(t)
			var want []string
			for _, reason := range f.Fires {
				if r, _ := policy.Lookup(reason); r.Static {
					want = append(want, reason)
				}
			}
			g.Expect(reasons(policy.StaticFindings(f.App))).To(Equal(want))
			got := policy.Static(f.App)
			g.Expect(got).To(HaveLen(12))
			ws := wantStatus(t, want)
			for _, r := range got {
				g.Expect(r.Status).To(Equal(ws[r.Factor]), "factor %s", r.Factor)
			}
		})
	}
}

func TestMessagesNameKeysButNeverValues(t *testing.T) {
	for _, f := range policytest.Fixtures() {
		t.Run(f.Name, func(t *testing.T) {
			g := NewWithT(t)
			results := policy.Evaluate(f.App, f.Obs)
			_, _, summary := policy.Summary(results)
			for _, e := range f.App.Spec.Config.Env {
				if len(e.Value) < 6 {
					continue
				}
				for _, r := range results {
					g.Expect(r.Message).NotTo(ContainSubstring(e.Value), "factor %s leaks the value of %s", r.Factor, e.Name)
				}
				g.Expect(summary).NotTo(ContainSubstring(e.Value))
			}
			for _, x := range policy.Findings(f.App, f.Obs) {
				g.Expect(x.Message).To(HaveSuffix("."))
			}
		})
	}
}

func TestFactorMessagesAndReasons(t *testing.T) {
	env := func(pairs ...string) []tfv1.EnvVar {
		var out []tfv1.EnvVar
		for i := 0; i < len(pairs); i += 2 {
			out = append(out, tfv1.EnvVar{Name: pairs[i], Value: pairs[i+1]})
		}
		return out
	}
	cases := []struct {
		name        string
		mutate      func(a *tfv1.TwelveFactorApp)
		obs         policy.Observations
		factor      string
		wantStatus  tfv1.FactorStatus
		wantReason  string
		wantMessage string
	}{
		{
			name:        "secret keys are named in spec order",
			mutate:      func(a *tfv1.TwelveFactorApp) { a.Spec.Config.Env = env("Z_TOKEN", "zzzzzz", "A_PASSWORD", "aaaaaa") },
			factor:      "III",
			wantStatus:  tfv1.FactorFail,
			wantReason:  policy.ReasonSecretInLiteral,
			wantMessage: "spec.config.env has secret-looking literal values (Z_TOKEN, A_PASSWORD): move them to a Secret and import it with spec.config.envFrom[].secretRef, or attach the backing service with spec.services.",
		},
		{
			name: "a failure and a warning in one factor keep the failure's reason and join both messages, worst first",
			mutate: func(a *tfv1.TwelveFactorApp) {
				a.Spec.Config.Env = env("RACK_ENV", "production", "SESSION_SECRET", "abcdef")
			},
			factor:     "III",
			wantStatus: tfv1.FactorFail,
			wantReason: policy.ReasonSecretInLiteral,
			wantMessage: "spec.config.env has secret-looking literal values (SESSION_SECRET): move them to a Secret and import it with spec.config.envFrom[].secretRef, or attach the backing service with spec.services. " +
				"spec.config.env selects a named environment group (RACK_ENV): configure each setting as its own variable instead, and keep the switch only where the framework requires it.",
		},
		{
			name:        "slow startup names the process and the threshold, not the observed time",
			obs:         policy.Observations{StartupSeconds: map[string]float64{"worker": 91.25, "web": 31}},
			factor:      "IX",
			wantStatus:  tfv1.FactorWarn,
			wantReason:  policy.ReasonSlowStartup,
			wantMessage: "Processes took longer than 30s to become ready (web, worker): start fast, and move warm-up work out of startup or into the release phase.",
		},
		{
			name: "a short grace period fails before slow startup warns",
			mutate: func(a *tfv1.TwelveFactorApp) {
				a.Spec.Shutdown = &tfv1.ShutdownSpec{GracePeriodSeconds: ptr.To[int64](2)}
			},
			obs:         policy.Observations{StartupSeconds: map[string]float64{"web": 31}},
			factor:      "IX",
			wantStatus:  tfv1.FactorFail,
			wantReason:  policy.ReasonGracePeriodTooShort,
			wantMessage: "spec.shutdown.gracePeriodSeconds must be greater than spec.shutdown.preStopSleepSeconds (defaults 30 and 5), so the process gets SIGTERM and time to finish its work after its endpoints drain. Processes took longer than 30s to become ready (web): start fast, and move warm-up work out of startup or into the release phase.",
		},
		{
			name: "digest mismatch names the upstream app",
			mutate: func(a *tfv1.TwelveFactorApp) {
				a.Spec.Promotion = &tfv1.PromotionSpec{From: "shop-staging"}
			},
			obs:         policy.Observations{ImageDigest: "ghcr.io/acme/shop@" + policytest.OtherDigest, UpstreamDigest: ptr.To(policytest.Digest)},
			factor:      "X",
			wantStatus:  tfv1.FactorFail,
			wantReason:  policy.ReasonDigestMismatch,
			wantMessage: "The image digest differs from the one upstream app shop-staging runs: promote its digest by setting spec.build.image to its status.image.",
		},
		{
			name:        "factors without findings pass with their own reason",
			factor:      "VI",
			wantStatus:  tfv1.FactorPass,
			wantReason:  "Stateless",
			wantMessage: "Processes are stateless: no persistent volumes, a read-only root filesystem and an emptyDir at /tmp.",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			app := policytest.App()
			if tc.mutate != nil {
				tc.mutate(app)
			}
			var got tfv1.FactorResult
			for _, r := range policy.Evaluate(app, tc.obs) {
				if r.Factor == tc.factor {
					got = r
				}
			}
			g.Expect(got).To(Equal(tfv1.FactorResult{Factor: tc.factor, Status: tc.wantStatus, Reason: tc.wantReason, Message: tc.wantMessage}))
		})
	}
}

func TestFactorsWithoutRulesAlwaysPass(t *testing.T) {
	g := NewWithT(t)
	want := map[string]string{"I": "OneCodebase", "V": "BuildReleaseRun", "VI": "Stateless", "XII": "AdminProcesses"}
	for _, f := range policytest.Fixtures() {
		for _, r := range policy.Evaluate(f.App, f.Obs) {
			if reason, ok := want[r.Factor]; ok {
				g.Expect(r.Status).To(Equal(tfv1.FactorPass))
				g.Expect(r.Reason).To(Equal(reason))
			}
		}
	}
	g.Expect(policy.FactorName("II")).To(Equal("Dependencies"))
}

func TestSummary(t *testing.T) {
	pass := func(f string) tfv1.FactorResult {
		return tfv1.FactorResult{Factor: f, Status: tfv1.FactorPass, Reason: "Ok", Message: "Fine."}
	}
	twelve := func(override ...tfv1.FactorResult) []tfv1.FactorResult {
		var out []tfv1.FactorResult
		for _, f := range policy.Factors {
			r := pass(f)
			for _, o := range override {
				if o.Factor == f {
					r = o
				}
			}
			out = append(out, r)
		}
		return out
	}
	cases := []struct {
		name        string
		results     []tfv1.FactorResult
		wantStatus  tfv1.FactorStatus
		wantReason  string
		wantMessage string
	}{
		{"all pass", twelve(), tfv1.FactorPass, tfv1.ReasonCompliant, "All twelve factors pass."},
		{"warnings are still compliant", twelve(
			tfv1.FactorResult{Factor: "VIII", Status: tfv1.FactorWarn, Reason: "SingleReplica", Message: "Scale out."},
		), tfv1.FactorWarn, tfv1.ReasonCompliant, "No factor fails. Warnings: VIII (SingleReplica): Scale out."},
		{"failures are named in factor order and warnings left out", twelve(
			tfv1.FactorResult{Factor: "XI", Status: tfv1.FactorFail, Reason: "LogToFile", Message: "Use stdout."},
			tfv1.FactorResult{Factor: "II", Status: tfv1.FactorFail, Reason: "ImageNotPinned", Message: "Pin it."},
			tfv1.FactorResult{Factor: "VIII", Status: tfv1.FactorWarn, Reason: "SingleReplica", Message: "Scale out."},
		), tfv1.FactorFail, tfv1.ReasonNotCompliant, "Failing factors: II (ImageNotPinned): Pin it. XI (LogToFile): Use stdout."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			status, reason, message := policy.Summary(tc.results)
			g.Expect(status).To(Equal(tc.wantStatus))
			g.Expect(reason).To(Equal(tc.wantReason))
			g.Expect(message).To(Equal(tc.wantMessage))
		})
	}
}

func TestSummaryOfEvaluateIsStable(t *testing.T) {
	g := NewWithT(t)
	f := policytest.Fixtures()
	for _, x := range f {
		a, b := policy.Evaluate(x.App, x.Obs), policy.Evaluate(x.App.DeepCopy(), x.Obs)
		g.Expect(a).To(Equal(b))
		_, _, m1 := policy.Summary(a)
		_, _, m2 := policy.Summary(b)
		g.Expect(m1).To(Equal(m2))
	}
}

func TestMode(t *testing.T) {
	cases := []struct {
		name        string
		labels      map[string]string
		defaultMode string
		want        string
	}{
		{"enforce label", map[string]string{tfv1.LabelPolicy: "enforce"}, tfv1.PolicyWarn, tfv1.PolicyEnforce},
		{"warn label overrides an enforce default", map[string]string{tfv1.LabelPolicy: "warn"}, tfv1.PolicyEnforce, tfv1.PolicyWarn},
		{"no label takes the default", nil, tfv1.PolicyEnforce, tfv1.PolicyEnforce},
		{"unknown label value takes the default", map[string]string{tfv1.LabelPolicy: "Enforce"}, tfv1.PolicyWarn, tfv1.PolicyWarn},
		{"invalid default means warn", map[string]string{"other": "x"}, "strict", tfv1.PolicyWarn},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			NewWithT(t).Expect(policy.Mode(tc.labels, tc.defaultMode)).To(Equal(tc.want))
		})
	}
}
