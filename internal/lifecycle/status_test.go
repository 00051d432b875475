package lifecycle

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
	"github.com/twelvefactor/twelvefactor-operator/internal/policy"
)

// cond is the expected state of one condition; a zero cond means absent.
type cond struct {
	status  metav1.ConditionStatus
	reason  string
	message string // "" means not checked
}

var statusNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func TestSetConditions(t *testing.T) {
	const gen = 7
	stalledBlocker := func(reason, msg string) *Blocker { return &Blocker{Stalled: true, Reason: reason, Message: msg} }
	waiting := func(reason, msg string) *Blocker {
		return &Blocker{Reason: reason, Message: msg, RetryAfter: time.Minute}
	}

	tests := []struct {
		name                        string
		obs                         Observation
		ready, reconciling, stalled cond
		released                    cond
		wantObservedGeneration      bool
	}{
		{
			name:        "no release yet is Progressing while waiting for the first release",
			obs:         Observation{},
			ready:       cond{metav1.ConditionFalse, tfv1.ReasonProgressing, "Waiting for the first release"},
			reconciling: cond{metav1.ConditionTrue, tfv1.ReasonProgressing, "Waiting for the first release"},
		},
		{
			name:        "a release not yet Available is RollingOut",
			obs:         Observation{Latest: 2, Target: 2, NotAvailable: []string{"web", "worker"}},
			ready:       cond{metav1.ConditionFalse, tfv1.ReasonRollingOut, "Rolling out v2: waiting for [web worker] to be Available"},
			reconciling: cond{metav1.ConditionTrue, tfv1.ReasonRollingOut, "Rolling out v2: waiting for [web worker] to be Available"},
			released:    cond{metav1.ConditionTrue, tfv1.ReasonUpToDate, "Release v2 holds the spec's content"},
		},
		{
			name:                   "every process Available is Ready and UpToDate",
			obs:                    Observation{Latest: 3, Target: 3},
			ready:                  cond{metav1.ConditionTrue, tfv1.ReasonReady, "Release v3 is Available"},
			released:               cond{metav1.ConditionTrue, tfv1.ReasonUpToDate, "Release v3 holds the spec's content"},
			wantObservedGeneration: true,
		},
		{
			name:                   "process types the target does not have are named in Ready",
			obs:                    Observation{Latest: 3, Target: 3, OutOfRelease: []string{"clock", "mailer"}},
			ready:                  cond{metav1.ConditionTrue, tfv1.ReasonReady, "Release v3 is Available; clock, mailer not in v3, so not running"},
			released:               cond{metav1.ConditionTrue, tfv1.ReasonUpToDate, ""},
			wantObservedGeneration: true,
		},
		{
			name:                   "a pin that runs is Ready and Released=Pinned",
			obs:                    Observation{Latest: 5, Target: 2, PinnedTo: 2},
			ready:                  cond{metav1.ConditionTrue, tfv1.ReasonReady, "Release v2 is Available (pinned by spec.rollbackTo)"},
			released:               cond{metav1.ConditionTrue, tfv1.ReasonPinned, "Pinned to v2 by spec.rollbackTo; the spec's latest release is v5. Remove spec.rollbackTo to run it"},
			wantObservedGeneration: true,
		},
		{
			name: "a pin with a non-stalled blocker is Ready: the pin runs a snapshot",
			obs: Observation{Latest: 5, Target: 2, PinnedTo: 2,
				Blocker: waiting(tfv1.ReasonConfigNotFound, "ConfigMap \"cfg\" is missing")},
			ready:                  cond{metav1.ConditionTrue, tfv1.ReasonReady, "Release v2 is Available (pinned by spec.rollbackTo)"},
			released:               cond{metav1.ConditionFalse, tfv1.ReasonConfigNotFound, "ConfigMap \"cfg\" is missing"},
			wantObservedGeneration: true,
		},
		{
			name: "a pin with a failed latest release phase is Ready",
			obs: Observation{Latest: 5, Target: 2, PinnedTo: 2, ReleasePhase: tfv1.PhaseFailed,
				ReleasePhaseMessage: "Release phase of v5 failed: fix the release command or the code and apply a new release"},
			ready:                  cond{metav1.ConditionTrue, tfv1.ReasonReady, ""},
			released:               cond{metav1.ConditionTrue, tfv1.ReasonPinned, ""},
			wantObservedGeneration: true,
		},
		{
			name: "a pin with a failed latest rollout is Ready",
			obs: Observation{Latest: 5, Target: 2, PinnedTo: 2, RolloutFailed: true,
				RolloutFailedMessage: "Rollout of v5 failed"},
			ready:                  cond{metav1.ConditionTrue, tfv1.ReasonReady, ""},
			released:               cond{metav1.ConditionTrue, tfv1.ReasonPinned, ""},
			wantObservedGeneration: true,
		},
		{
			name: "a pin to a missing release is Stalled with ReleaseNotFound, and what runs keeps serving",
			obs: Observation{Latest: 3, Target: 3,
				Blocker: stalledBlocker(tfv1.ReasonReleaseNotFound, "spec.rollbackTo names v9, which does not exist; available releases: v1, v2, v3. Nothing running was changed")},
			ready: cond{metav1.ConditionFalse, tfv1.ReasonReleaseNotFound,
				"spec.rollbackTo names v9, which does not exist; available releases: v1, v2, v3. Nothing running was changed; v3 keeps serving"},
			stalled:                cond{metav1.ConditionTrue, tfv1.ReasonReleaseNotFound, "spec.rollbackTo names v9, which does not exist; available releases: v1, v2, v3. Nothing running was changed"},
			released:               cond{metav1.ConditionFalse, tfv1.ReasonReleaseNotFound, ""},
			wantObservedGeneration: true,
		},
		{
			name:                   "an invalid spec is Stalled before any release",
			obs:                    Observation{Blocker: stalledBlocker(tfv1.ReasonInvalidSpec, "spec.processes[web].resources: requests above limits")},
			ready:                  cond{metav1.ConditionFalse, tfv1.ReasonInvalidSpec, "spec.processes[web].resources: requests above limits"},
			stalled:                cond{metav1.ConditionTrue, tfv1.ReasonInvalidSpec, "spec.processes[web].resources: requests above limits"},
			released:               cond{metav1.ConditionFalse, tfv1.ReasonInvalidSpec, ""},
			wantObservedGeneration: true,
		},
		{
			name:                   "content over the limits is Stalled with LimitExceeded",
			obs:                    Observation{Latest: 1, Target: 1, Blocker: stalledBlocker(tfv1.ReasonLimitExceeded, "too big")},
			ready:                  cond{metav1.ConditionFalse, tfv1.ReasonLimitExceeded, "too big; v1 keeps serving"},
			stalled:                cond{metav1.ConditionTrue, tfv1.ReasonLimitExceeded, "too big"},
			released:               cond{metav1.ConditionFalse, tfv1.ReasonLimitExceeded, "too big"},
			wantObservedGeneration: true,
		},
		{
			name:                   "an enforced policy violation is Stalled with the rule's reason",
			obs:                    Observation{Latest: 1, Target: 1, Blocker: stalledBlocker(policy.ReasonSecretInLiteral, "Factor III fails")},
			ready:                  cond{metav1.ConditionFalse, policy.ReasonSecretInLiteral, "Factor III fails; v1 keeps serving"},
			stalled:                cond{metav1.ConditionTrue, policy.ReasonSecretInLiteral, "Factor III fails"},
			released:               cond{metav1.ConditionFalse, policy.ReasonSecretInLiteral, ""},
			wantObservedGeneration: true,
		},
		{
			name:                   "an enforced image pinning violation is Stalled with the rule's reason",
			obs:                    Observation{Blocker: stalledBlocker(policy.ReasonImageNotPinned, "Factor V fails")},
			ready:                  cond{metav1.ConditionFalse, policy.ReasonImageNotPinned, "Factor V fails"},
			stalled:                cond{metav1.ConditionTrue, policy.ReasonImageNotPinned, "Factor V fails"},
			released:               cond{metav1.ConditionFalse, policy.ReasonImageNotPinned, ""},
			wantObservedGeneration: true,
		},
		{
			name:        "a missing ConfigMap is Reconciling with ConfigNotFound",
			obs:         Observation{Latest: 1, Target: 1, Blocker: waiting(tfv1.ReasonConfigNotFound, "ConfigMap \"cfg\" is missing")},
			ready:       cond{metav1.ConditionFalse, tfv1.ReasonConfigNotFound, "ConfigMap \"cfg\" is missing"},
			reconciling: cond{metav1.ConditionTrue, tfv1.ReasonConfigNotFound, "ConfigMap \"cfg\" is missing"},
			released:    cond{metav1.ConditionFalse, tfv1.ReasonConfigNotFound, "ConfigMap \"cfg\" is missing"},
		},
		{
			name:        "a binding not ready is Reconciling with BindingNotReady",
			obs:         Observation{Blocker: waiting(tfv1.ReasonBindingNotReady, "waiting for db")},
			ready:       cond{metav1.ConditionFalse, tfv1.ReasonBindingNotReady, "waiting for db"},
			reconciling: cond{metav1.ConditionTrue, tfv1.ReasonBindingNotReady, "waiting for db"},
			released:    cond{metav1.ConditionFalse, tfv1.ReasonBindingNotReady, ""},
		},
		{
			name:        "an image being resolved is Reconciling with ResolvingImage",
			obs:         Observation{Blocker: waiting(tfv1.ReasonResolvingImage, "resolving")},
			ready:       cond{metav1.ConditionFalse, tfv1.ReasonResolvingImage, "resolving"},
			reconciling: cond{metav1.ConditionTrue, tfv1.ReasonResolvingImage, "resolving"},
			released:    cond{metav1.ConditionFalse, tfv1.ReasonResolvingImage, ""},
		},
		{
			name:        "an image that failed to resolve is Reconciling with ImageResolveFailed",
			obs:         Observation{Latest: 1, Target: 1, Blocker: waiting(tfv1.ReasonImageResolveFailed, "registry down")},
			ready:       cond{metav1.ConditionFalse, tfv1.ReasonImageResolveFailed, "registry down"},
			reconciling: cond{metav1.ConditionTrue, tfv1.ReasonImageResolveFailed, "registry down"},
			released:    cond{metav1.ConditionFalse, tfv1.ReasonImageResolveFailed, ""},
		},
		{
			name: "a name conflict for the next release is Stalled with NameConflict and blocks Released",
			obs: Observation{Latest: 1, Target: 1,
				Blocker:  &Blocker{Reason: tfv1.ReasonNameConflict, Message: "Release taken"},
				Problems: []Problem{{Reason: tfv1.ReasonNameConflict, Message: "Release taken"}}},
			ready:                  cond{metav1.ConditionFalse, tfv1.ReasonNameConflict, "Release taken; v1 keeps serving"},
			stalled:                cond{metav1.ConditionTrue, tfv1.ReasonNameConflict, "Release taken"},
			released:               cond{metav1.ConditionFalse, tfv1.ReasonNameConflict, "Release taken"},
			wantObservedGeneration: true,
		},
		{
			name:                   "problems override readiness: a refused apply is Stalled with ApplyFailed",
			obs:                    Observation{Latest: 1, Target: 1, Problems: []Problem{{Reason: tfv1.ReasonApplyFailed, Message: "refused"}}},
			ready:                  cond{metav1.ConditionFalse, tfv1.ReasonApplyFailed, "refused; v1 keeps serving"},
			stalled:                cond{metav1.ConditionTrue, tfv1.ReasonApplyFailed, "refused"},
			released:               cond{metav1.ConditionTrue, tfv1.ReasonUpToDate, ""},
			wantObservedGeneration: true,
		},
		{
			name: "problems are joined and the first one gives the reason",
			obs: Observation{Latest: 1, Target: 1, Problems: []Problem{
				{Reason: tfv1.ReasonReleaseSecretMissing, Message: "Secret a is gone"},
				{Reason: tfv1.ReasonReleaseSecretAltered, Message: "Secret b was replaced"}}},
			ready:                  cond{metav1.ConditionFalse, tfv1.ReasonReleaseSecretMissing, "Secret a is gone; Secret b was replaced; v1 keeps serving"},
			stalled:                cond{metav1.ConditionTrue, tfv1.ReasonReleaseSecretMissing, "Secret a is gone; Secret b was replaced"},
			released:               cond{metav1.ConditionTrue, tfv1.ReasonUpToDate, ""},
			wantObservedGeneration: true,
		},
		{
			name:                   "an altered release Secret is Stalled with ReleaseSecretAltered",
			obs:                    Observation{Latest: 1, Target: 1, Problems: []Problem{{Reason: tfv1.ReasonReleaseSecretAltered, Message: "replaced"}}},
			ready:                  cond{metav1.ConditionFalse, tfv1.ReasonReleaseSecretAltered, "replaced; v1 keeps serving"},
			stalled:                cond{metav1.ConditionTrue, tfv1.ReasonReleaseSecretAltered, "replaced"},
			released:               cond{metav1.ConditionTrue, tfv1.ReasonUpToDate, ""},
			wantObservedGeneration: true,
		},
		{
			name: "problems override a pin's readiness too",
			obs: Observation{Latest: 3, Target: 2, PinnedTo: 2,
				Problems: []Problem{{Reason: tfv1.ReasonReleaseSecretMissing, Message: "gone"}}},
			ready:                  cond{metav1.ConditionFalse, tfv1.ReasonReleaseSecretMissing, "gone; v2 keeps serving"},
			stalled:                cond{metav1.ConditionTrue, tfv1.ReasonReleaseSecretMissing, "gone"},
			released:               cond{metav1.ConditionTrue, tfv1.ReasonPinned, ""},
			wantObservedGeneration: true,
		},
		{
			name: "a problem while rolling out does not claim the target keeps serving",
			obs: Observation{Latest: 2, Target: 2, NotAvailable: []string{"web"},
				Problems: []Problem{{Reason: tfv1.ReasonNameConflict, Message: "Deployment taken"}}},
			ready:                  cond{metav1.ConditionFalse, tfv1.ReasonNameConflict, "Deployment taken"},
			stalled:                cond{metav1.ConditionTrue, tfv1.ReasonNameConflict, "Deployment taken"},
			released:               cond{metav1.ConditionTrue, tfv1.ReasonUpToDate, ""},
			wantObservedGeneration: true,
		},
		{
			name:        "a gated release phase (pending) is Reconciling with ReleasePhaseRunning",
			obs:         Observation{Latest: 2, Target: 1, ReleasePhase: tfv1.PhasePending},
			ready:       cond{metav1.ConditionFalse, tfv1.ReasonReleasePhaseRunning, "Release phase of v2 is running; the rollout follows when it succeeds"},
			reconciling: cond{metav1.ConditionTrue, tfv1.ReasonReleasePhaseRunning, "Release phase of v2 is running; the rollout follows when it succeeds"},
			released:    cond{metav1.ConditionTrue, tfv1.ReasonUpToDate, "Release v2 holds the spec's content"},
		},
		{
			name:        "a running release phase is Reconciling with ReleasePhaseRunning",
			obs:         Observation{Latest: 1, ReleasePhase: tfv1.PhaseRunning},
			ready:       cond{metav1.ConditionFalse, tfv1.ReasonReleasePhaseRunning, "Release phase of v1 is running; the rollout follows when it succeeds"},
			reconciling: cond{metav1.ConditionTrue, tfv1.ReasonReleasePhaseRunning, ""},
			released:    cond{metav1.ConditionTrue, tfv1.ReasonUpToDate, ""},
		},
		{
			name: "a failed release phase with a last good release is Stalled and the last good keeps serving",
			obs: Observation{Latest: 3, Target: 2, ReleasePhase: tfv1.PhaseFailed,
				ReleasePhaseMessage: "Release phase of v3 failed: fix the release command or the code and apply a new release"},
			ready: cond{metav1.ConditionFalse, tfv1.ReasonReleasePhaseFailed,
				"Release phase of v3 failed: fix the release command or the code and apply a new release; v2 keeps serving"},
			stalled:                cond{metav1.ConditionTrue, tfv1.ReasonReleasePhaseFailed, "Release phase of v3 failed: fix the release command or the code and apply a new release"},
			released:               cond{metav1.ConditionTrue, tfv1.ReasonUpToDate, ""},
			wantObservedGeneration: true,
		},
		{
			name: "a failed release phase of the first release is Stalled with nothing serving",
			obs: Observation{Latest: 1, ReleasePhase: tfv1.PhaseFailed,
				ReleasePhaseMessage: "Release phase of v1 failed: fix the release command or the code and apply a new release"},
			ready:                  cond{metav1.ConditionFalse, tfv1.ReasonReleasePhaseFailed, "Release phase of v1 failed: fix the release command or the code and apply a new release"},
			stalled:                cond{metav1.ConditionTrue, tfv1.ReasonReleasePhaseFailed, ""},
			released:               cond{metav1.ConditionTrue, tfv1.ReasonUpToDate, ""},
			wantObservedGeneration: true,
		},
		{
			name: "a failed rollout rolled back to the last good release is Stalled and the last good keeps serving",
			obs: Observation{Latest: 3, Target: 2, RolloutFailed: true,
				RolloutFailedMessage: "Rollout of v3 failed its progress deadline and was rolled back: fix it and apply a new release"},
			ready: cond{metav1.ConditionFalse, tfv1.ReasonRolloutFailed,
				"Rollout of v3 failed its progress deadline and was rolled back: fix it and apply a new release; v2 keeps serving"},
			stalled:                cond{metav1.ConditionTrue, tfv1.ReasonRolloutFailed, "Rollout of v3 failed its progress deadline and was rolled back: fix it and apply a new release"},
			released:               cond{metav1.ConditionTrue, tfv1.ReasonUpToDate, ""},
			wantObservedGeneration: true,
		},
		{
			name: "a failed rollout without a last good release is Stalled while it is not Available",
			obs: Observation{Latest: 1, Target: 1, NotAvailable: []string{"web"}, RolloutFailed: true,
				RolloutFailedMessage: "Rollout of v1 made no progress within spec.rollout.progressDeadlineSeconds ([web])"},
			ready:                  cond{metav1.ConditionFalse, tfv1.ReasonRolloutFailed, "Rollout of v1 made no progress within spec.rollout.progressDeadlineSeconds ([web])"},
			stalled:                cond{metav1.ConditionTrue, tfv1.ReasonRolloutFailed, "Rollout of v1 made no progress within spec.rollout.progressDeadlineSeconds ([web])"},
			released:               cond{metav1.ConditionTrue, tfv1.ReasonUpToDate, ""},
			wantObservedGeneration: true,
		},
		{
			name: "a stalled blocker outranks a failed release phase",
			obs: Observation{Latest: 3, Target: 2, ReleasePhase: tfv1.PhaseFailed, ReleasePhaseMessage: "phase failed",
				Blocker: stalledBlocker(tfv1.ReasonInvalidSpec, "bad spec")},
			ready:                  cond{metav1.ConditionFalse, tfv1.ReasonInvalidSpec, "bad spec; v2 keeps serving"},
			stalled:                cond{metav1.ConditionTrue, tfv1.ReasonInvalidSpec, "bad spec"},
			released:               cond{metav1.ConditionFalse, tfv1.ReasonInvalidSpec, "bad spec"},
			wantObservedGeneration: true,
		},
		{
			name: "a failed release phase outranks a waiting blocker",
			obs: Observation{Latest: 3, Target: 2, ReleasePhase: tfv1.PhaseFailed, ReleasePhaseMessage: "phase failed",
				Blocker: waiting(tfv1.ReasonConfigNotFound, "missing")},
			ready:                  cond{metav1.ConditionFalse, tfv1.ReasonReleasePhaseFailed, "phase failed; v2 keeps serving"},
			stalled:                cond{metav1.ConditionTrue, tfv1.ReasonReleasePhaseFailed, "phase failed"},
			released:               cond{metav1.ConditionFalse, tfv1.ReasonConfigNotFound, "missing"},
			wantObservedGeneration: true,
		},
		{
			name: "a waiting blocker outranks a running release phase",
			obs: Observation{Latest: 2, Target: 1, ReleasePhase: tfv1.PhaseRunning,
				Blocker: waiting(tfv1.ReasonResolvingImage, "resolving")},
			ready:       cond{metav1.ConditionFalse, tfv1.ReasonResolvingImage, "resolving"},
			reconciling: cond{metav1.ConditionTrue, tfv1.ReasonResolvingImage, "resolving"},
			released:    cond{metav1.ConditionFalse, tfv1.ReasonResolvingImage, "resolving"},
		},
		{
			name:                   "a pin with a release phase running is Ready: nothing runs while pinned",
			obs:                    Observation{Latest: 3, Target: 1, PinnedTo: 1, ReleasePhase: tfv1.PhaseRunning},
			ready:                  cond{metav1.ConditionTrue, tfv1.ReasonReady, "Release v1 is Available (pinned by spec.rollbackTo)"},
			released:               cond{metav1.ConditionTrue, tfv1.ReasonPinned, ""},
			wantObservedGeneration: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			tt.obs.Generation = gen
			st := &tfv1.TwelveFactorAppStatus{}
			SetConditions(st, tt.obs, statusNow)

			check := func(typ string, want cond) {
				t.Helper()
				c := meta.FindStatusCondition(st.Conditions, typ)
				if want == (cond{}) {
					g.Expect(c).To(BeNil(), "condition %s", typ)
					return
				}
				g.Expect(c).NotTo(BeNil(), "condition %s", typ)
				g.Expect(c.Status).To(Equal(want.status), "condition %s", typ)
				g.Expect(c.Reason).To(Equal(want.reason), "condition %s", typ)
				if want.message != "" {
					g.Expect(c.Message).To(Equal(want.message), "condition %s", typ)
				}
				g.Expect(c.ObservedGeneration).To(Equal(int64(gen)))
				g.Expect(c.LastTransitionTime.Time).To(Equal(statusNow))
			}
			check(tfv1.ConditionReady, tt.ready)
			check(tfv1.ConditionReconciling, tt.reconciling)
			check(tfv1.ConditionStalled, tt.stalled)
			check(tfv1.ConditionReleased, tt.released)
			if tt.wantObservedGeneration {
				g.Expect(st.ObservedGeneration).To(Equal(int64(gen)))
			} else {
				g.Expect(st.ObservedGeneration).To(BeZero())
			}
			// kstatus: never Reconciling and Stalled at once; Ready only when neither.
			g.Expect(tt.reconciling == cond{} || tt.stalled == cond{}).To(BeTrue())
			if tt.ready.status == metav1.ConditionTrue {
				g.Expect(tt.reconciling).To(Equal(cond{}))
				g.Expect(tt.stalled).To(Equal(cond{}))
			}
			// The same observation gives the same conditions: a steady state writes nothing.
			again := st.DeepCopy()
			SetConditions(again, tt.obs, statusNow.Add(time.Hour))
			g.Expect(again).To(Equal(st))
		})
	}

	t.Run("every reason the app's conditions carry is covered", func(t *testing.T) {
		g := NewWithT(t)
		seen := map[string]bool{}
		for _, tt := range tests {
			for _, c := range []cond{tt.ready, tt.reconciling, tt.stalled, tt.released} {
				seen[c.reason] = true
			}
		}
		for _, r := range []string{
			tfv1.ReasonReady, tfv1.ReasonRollingOut, tfv1.ReasonProgressing, tfv1.ReasonReleasePhaseRunning,
			tfv1.ReasonReleasePhaseFailed, tfv1.ReasonRolloutFailed, tfv1.ReasonPinned, tfv1.ReasonUpToDate,
			tfv1.ReasonReleaseNotFound, tfv1.ReasonConfigNotFound, tfv1.ReasonBindingNotReady,
			tfv1.ReasonImageResolveFailed, tfv1.ReasonResolvingImage, tfv1.ReasonNameConflict, tfv1.ReasonApplyFailed,
			tfv1.ReasonReleaseSecretMissing, tfv1.ReasonReleaseSecretAltered, tfv1.ReasonLimitExceeded,
			tfv1.ReasonInvalidSpec, policy.ReasonSecretInLiteral, policy.ReasonImageNotPinned,
		} {
			g.Expect(seen).To(HaveKey(r), "no case sets reason %s", r)
		}
	})
}

func TestSetConditionsRemovesConditionsThatNoLongerHold(t *testing.T) {
	g := NewWithT(t)
	st := &tfv1.TwelveFactorAppStatus{}
	SetConditions(st, Observation{Generation: 1, Blocker: &Blocker{Stalled: true, Reason: tfv1.ReasonInvalidSpec, Message: "bad"}}, statusNow)
	g.Expect(meta.FindStatusCondition(st.Conditions, tfv1.ConditionStalled)).NotTo(BeNil())
	SetConditions(st, Observation{Generation: 2, Latest: 1, Target: 1, NotAvailable: []string{"web"}}, statusNow)
	g.Expect(meta.FindStatusCondition(st.Conditions, tfv1.ConditionStalled)).To(BeNil())
	g.Expect(meta.IsStatusConditionTrue(st.Conditions, tfv1.ConditionReconciling)).To(BeTrue())
	// Not Ready nor Stalled: observedGeneration stays at the last settled pass.
	g.Expect(st.ObservedGeneration).To(Equal(int64(1)))
	SetConditions(st, Observation{Generation: 3, Latest: 1, Target: 1}, statusNow)
	g.Expect(meta.FindStatusCondition(st.Conditions, tfv1.ConditionReconciling)).To(BeNil())
	g.Expect(meta.IsStatusConditionTrue(st.Conditions, tfv1.ConditionReady)).To(BeTrue())
	g.Expect(st.ObservedGeneration).To(Equal(int64(3)))
}

func TestObserveLatest(t *testing.T) {
	tests := []struct {
		name   string
		latest Release
		want   Observation
	}{
		{name: "a release without a release phase", latest: rel(2, ok), want: Observation{Latest: 2}},
		{name: "a release command not started yet is Pending (gated)",
			latest: gatedRel(2, "", ""), want: Observation{Latest: 2, ReleasePhase: tfv1.PhasePending}},
		{name: "a running release phase", latest: gatedRel(2, run, ""), want: Observation{Latest: 2, ReleasePhase: run}},
		{name: "a succeeded release phase", latest: gatedRel(2, ok, ok), want: Observation{Latest: 2, ReleasePhase: ok}},
		{name: "a failed release phase says what to do",
			latest: gatedRel(3, failed, ""),
			want: Observation{Latest: 3, ReleasePhase: failed,
				ReleasePhaseMessage: "Release phase of v3 failed: fix the release command or the code and apply a new release"}},
		{name: "a failed rollout says it was rolled back and what to do",
			latest: rel(4, failed),
			want: Observation{Latest: 4, RolloutFailed: true,
				RolloutFailedMessage: "Rollout of v4 failed its progress deadline and was rolled back: fix it and apply a new release"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var o Observation
			o.ObserveLatest(tt.latest)
			NewWithT(t).Expect(o).To(Equal(tt.want))
		})
	}
}
