// Package policy holds the twelve-factor rules, written once as pure functions
// of a TwelveFactorApp's spec and of what the operator has observed.
//
// The reconciler calls Evaluate to fill status.factors, Summary for the
// TwelveFactorCompliant condition and Mode to choose between enforce and warn.
// The kubectl plugin calls Evaluate offline for `kubectl twelvefactor lint`.
// The rules whose verdict depends on the spec alone are marked Static; they are
// also written in CEL in config/policy, a ValidatingAdmissionPolicy, with the
// same messages, and a test runs every fixture in policytest through both.
//
// The package has no client and no clock: the same inputs give the same
// results, and messages never hold volatile values (timestamps, observed
// durations, generated names) or the value of a secret.
package policy

import (
	"fmt"
	"slices"
	"strings"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
)

// DefaultStartupWarnSeconds is the startup time above which factor IX warns
// when Observations.StartupWarnSeconds is zero.
const DefaultStartupWarnSeconds = 30

// Factors are the twelve factors' Roman numerals, in order. Evaluate returns
// one result for each, in this order.
var Factors = []string{"I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII"}

// factorInfo describes a factor and what a passing result says.
type factorInfo struct {
	name        string
	passReason  string
	passMessage string
}

var factors = map[string]factorInfo{
	"I":    {"Codebase", "OneCodebase", "One app runs one build image from one codebase."},
	"II":   {"Dependencies", "ImagePinned", "spec.build.image is pinned: a digest, or a version tag resolved to a digest when a release is made."},
	"III":  {"Config", "ConfigInEnvironment", "Config is individual environment variables, and secrets come from Secrets."},
	"IV":   {"Backing services", "AttachedResources", "Backing services are attached resources: credentials come from spec.services bindings, not literals."},
	"V":    {"Build, release, run", "BuildReleaseRun", "Each release is an immutable snapshot of the build, config and bindings, and runs unchanged."},
	"VI":   {"Processes", "Stateless", "Processes are stateless: no persistent volumes, a read-only root filesystem and an emptyDir at /tmp."},
	"VII":  {"Port binding", "PortBound", "Processes that serve traffic bind a port and get a Service."},
	"VIII": {"Concurrency", "ScalesOut", "Process types scale out with replicas or autoscaling."},
	"IX":   {"Disposability", "Disposable", "Processes start fast and shut down gracefully: the grace period exceeds the preStop sleep."},
	"X":    {"Dev/prod parity", "DevProdParity", "The app runs the same digest as its upstream, or has no spec.promotion."},
	"XI":   {"Logs", "LogsToStdout", "Logs go to stdout as an event stream."},
	"XII":  {"Admin processes", "AdminProcesses", "Admin processes run as AdminRuns and release-phase Jobs from the same release."},
}

// FactorName returns the title of a factor, such as "Dependencies" for "II".
func FactorName(factor string) string { return factors[factor].name }

// Observations is what the operator has observed about an app, beyond its
// spec. The zero value means nothing is known yet, which is what lint uses.
type Observations struct {
	// ImageDigest is the digest spec.build.image resolved to, either bare
	// (sha256:…) or as a digest reference (repo@sha256:…). Empty when unknown.
	ImageDigest string
	// UpstreamDigest is the digest that the spec.promotion.from app currently
	// runs (its status.image), bare or as a digest reference. Nil when that app
	// is missing or has not released yet.
	UpstreamDigest *string
	// StartupSeconds is, per process type, the observed time from pod creation
	// to Ready.
	StartupSeconds map[string]float64
	// StartupWarnSeconds is the startup time above which factor IX warns.
	// Zero means DefaultStartupWarnSeconds.
	StartupWarnSeconds float64
	// ConfigKeys are the keys of the resolved environment (names, never
	// values): the latest release's, or the spec's when it resolves to new
	// content. Nil when unknown.
	ConfigKeys []string
}

// Rule is one twelve-factor rule. A rule either passes or fires; when it
// fires it reports its Status with its Reason and a message that says how to
// fix it.
type Rule struct {
	// Factor is the Roman numeral of the factor the rule checks.
	Factor string
	// Reason is the CamelCase reason reported when the rule fires.
	Reason string
	// Status is Warn or Fail: what the rule reports when it fires.
	Status tfv1.FactorStatus
	// Static is true when the rule depends on the spec alone, so it can be
	// decided at admission. Static rules are implemented in CEL in
	// config/policy with identical messages.
	Static bool

	check func(app *tfv1.TwelveFactorApp, obs Observations) (message string, fired bool)
}

// Check runs the rule. It returns the rule's message and true when the rule
// fires, and "" and false when it passes.
func (r Rule) Check(app *tfv1.TwelveFactorApp, obs Observations) (message string, fired bool) {
	return r.check(app, obs)
}

// Rules returns every rule, ordered by factor. Within a factor, Fail rules
// come before Warn rules.
func Rules() []Rule { return slices.Clone(rules) }

// Finding is a rule that fired.
type Finding struct {
	Rule    Rule
	Message string
}

// Findings runs every rule and returns those that fire, in rule order.
func Findings(app *tfv1.TwelveFactorApp, obs Observations) []Finding {
	return findings(app, obs, false)
}

// StaticFindings runs the static rules only, in rule order. These are what
// the ValidatingAdmissionPolicy in config/policy reports.
func StaticFindings(app *tfv1.TwelveFactorApp) []Finding {
	return findings(app, Observations{}, true)
}

func findings(app *tfv1.TwelveFactorApp, obs Observations, staticOnly bool) []Finding {
	var out []Finding
	for _, r := range rules {
		if staticOnly && !r.Static {
			continue
		}
		if msg, fired := r.check(app, obs); fired {
			out = append(out, Finding{Rule: r, Message: msg})
		}
	}
	return out
}

// Evaluate runs every rule and returns exactly twelve results, one per factor
// in order I to XII, for status.factors.
//
// A factor's status is the worst of its rules. Its reason is the reason of the
// first rule with that status. Its message joins the messages of every rule
// that fired, worst first. A factor whose rules all pass reports Pass with a
// fixed reason and message.
func Evaluate(app *tfv1.TwelveFactorApp, obs Observations) []tfv1.FactorResult {
	return results(Findings(app, obs))
}

// Static is Evaluate with the static rules only: the verdict admission gives.
// Factors decided only by observations (IX startup, X promotion) pass.
func Static(app *tfv1.TwelveFactorApp) []tfv1.FactorResult {
	return results(StaticFindings(app))
}

func results(fs []Finding) []tfv1.FactorResult {
	out := make([]tfv1.FactorResult, 0, len(Factors))
	for _, f := range Factors {
		var mine []Finding
		for _, x := range fs {
			if x.Rule.Factor == f {
				mine = append(mine, x)
			}
		}
		if len(mine) == 0 {
			info := factors[f]
			out = append(out, tfv1.FactorResult{Factor: f, Status: tfv1.FactorPass, Reason: info.passReason, Message: info.passMessage})
			continue
		}
		// Worst first; the sort is stable, so rule order breaks ties.
		slices.SortStableFunc(mine, func(a, b Finding) int { return severity(b.Rule.Status) - severity(a.Rule.Status) })
		msgs := make([]string, len(mine))
		for i, x := range mine {
			msgs[i] = x.Message
		}
		out = append(out, tfv1.FactorResult{
			Factor:  f,
			Status:  mine[0].Rule.Status,
			Reason:  mine[0].Rule.Reason,
			Message: strings.Join(msgs, " "),
		})
	}
	return out
}

func severity(s tfv1.FactorStatus) int {
	switch s {
	case tfv1.FactorFail:
		return 2
	case tfv1.FactorWarn:
		return 1
	default:
		return 0
	}
}

// Worst returns the worst status among results: Fail, then Warn, then Pass.
func Worst(results []tfv1.FactorResult) tfv1.FactorStatus {
	worst := tfv1.FactorPass
	for _, r := range results {
		if severity(r.Status) > severity(worst) {
			worst = r.Status
		}
	}
	return worst
}

// Summary condenses the twelve results into the TwelveFactorCompliant
// condition. status is the worst result. reason is tfv1.ReasonNotCompliant
// when any factor fails and tfv1.ReasonCompliant otherwise, so an app with
// warnings is still compliant. message names the failing (or else warning)
// factors with their reasons and messages, or says that all factors pass.
//
// The condition's status is the caller's choice; the intended mapping is
// True unless status is Fail.
func Summary(results []tfv1.FactorResult) (status tfv1.FactorStatus, reason, message string) {
	status = Worst(results)
	if status == tfv1.FactorPass {
		return status, tfv1.ReasonCompliant, "All twelve factors pass."
	}
	var parts []string
	for _, r := range results {
		if r.Status == status {
			parts = append(parts, fmt.Sprintf("%s (%s): %s", r.Factor, r.Reason, r.Message))
		}
	}
	if status == tfv1.FactorFail {
		return status, tfv1.ReasonNotCompliant, "Failing factors: " + strings.Join(parts, " ")
	}
	return status, tfv1.ReasonCompliant, "No factor fails. Warnings: " + strings.Join(parts, " ")
}

// Mode returns the policy mode of a namespace, tfv1.PolicyEnforce or
// tfv1.PolicyWarn, from its tfv1.LabelPolicy label. A namespace without the
// label, or with another value, gets defaultMode (the operator's flag); an
// invalid defaultMode means warn.
//
// In enforce mode a spec with a failing rule makes no new release, and the
// running release is untouched. In warn mode failures are only reported.
func Mode(nsLabels map[string]string, defaultMode string) string {
	switch v := nsLabels[tfv1.LabelPolicy]; v {
	case tfv1.PolicyEnforce, tfv1.PolicyWarn:
		return v
	}
	if defaultMode == tfv1.PolicyEnforce {
		return tfv1.PolicyEnforce
	}
	return tfv1.PolicyWarn
}
