package lifecycle

import (
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
)

// Observation is what one pass of the controller observed, the only input of the status.
type Observation struct {
	Generation int64
	// Blocker stops the spec from being released; nil when it can be.
	Blocker *Blocker
	// Latest is the newest release, Target the release the Deployments are set
	// to (0 when none yet).
	Latest, Target int32
	// PinnedTo is spec.rollbackTo when the pin resolves to a release.
	PinnedTo int32
	// ReleasePhase is the state of the latest release's release phase ("" if none).
	ReleasePhase        tfv1.ReleasePhase
	ReleasePhaseMessage string
	// RolloutFailed is set when the latest release's rollout failed.
	RolloutFailed        bool
	RolloutFailedMessage string
	// RolledBackFrom is the failed release the app returned from.
	RolledBackFrom int32
	// NotAvailable lists the processes that are not yet Available at Target.
	NotAvailable []string
	// Problems are what is wrong with what runs: a foreign object under a
	// derived name, a refused write, a release Secret missing or altered.
	Problems []Problem
	// OutOfRelease lists the spec's process types that Target does not have.
	OutOfRelease []string
}

// ObserveLatest records the latest release: its release phase (Pending while
// a release command has not started) and a failed release phase or rollout,
// with what the user should do about it.
func (o *Observation) ObserveLatest(latest Release) {
	o.Latest = latest.Number
	o.ReleasePhase = latest.ReleasePhase
	if latest.ReleaseCommand && o.ReleasePhase == "" {
		o.ReleasePhase = tfv1.PhasePending
	}
	if o.ReleasePhase == tfv1.PhaseFailed {
		o.ReleasePhaseMessage = fmt.Sprintf("Release phase of v%d failed: fix the release command or the code and apply a new release", latest.Number)
	}
	if latest.Rollout == tfv1.PhaseFailed {
		o.RolloutFailed = true
		o.RolloutFailedMessage = fmt.Sprintf("Rollout of v%d failed its progress deadline and was rolled back: fix it and apply a new release", latest.Number)
	}
}

// SetConditions computes the conditions from an observation. It is pure: the
// same observation gives the same conditions (timestamps aside), so a steady
// state writes nothing.
func SetConditions(st *tfv1.TwelveFactorAppStatus, o Observation, now time.Time) {
	set := func(t string, s metav1.ConditionStatus, reason, msg string) {
		meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: t, Status: s, Reason: reason, Message: msg, ObservedGeneration: o.Generation, LastTransitionTime: metav1.NewTime(now)})
	}
	remove := func(t string) { meta.RemoveStatusCondition(&st.Conditions, t) }

	// Released: can the spec be released, and is it the latest.
	switch {
	case o.Blocker != nil:
		set(tfv1.ConditionReleased, metav1.ConditionFalse, o.Blocker.Reason, o.Blocker.Message)
	case o.PinnedTo != 0:
		set(tfv1.ConditionReleased, metav1.ConditionTrue, tfv1.ReasonPinned,
			fmt.Sprintf("Pinned to v%d by spec.rollbackTo; the spec's latest release is v%d. Remove spec.rollbackTo to run it", o.PinnedTo, o.Latest))
	case o.Latest > 0:
		set(tfv1.ConditionReleased, metav1.ConditionTrue, tfv1.ReasonUpToDate, fmt.Sprintf("Release v%d holds the spec's content", o.Latest))
	}

	var stalled *Blocker
	reconciling := ""
	reconcilingMsg := ""
	ready := false
	var readyReason, readyMsg string
	switch {
	case len(o.Problems) > 0:
		msgs := make([]string, 0, len(o.Problems))
		for _, p := range o.Problems {
			msgs = append(msgs, p.Message)
		}
		stalled = &Blocker{Reason: o.Problems[0].Reason, Message: strings.Join(msgs, "; ")}
		readyReason, readyMsg = stalled.Reason, stalled.Message
	case o.Blocker != nil && o.Blocker.Stalled:
		stalled = o.Blocker
		readyReason, readyMsg = o.Blocker.Reason, o.Blocker.Message
	case o.ReleasePhase == tfv1.PhaseFailed && o.PinnedTo == 0:
		stalled = &Blocker{Reason: tfv1.ReasonReleasePhaseFailed, Message: o.ReleasePhaseMessage}
		readyReason, readyMsg = tfv1.ReasonReleasePhaseFailed, o.ReleasePhaseMessage
	case o.RolloutFailed && o.PinnedTo == 0:
		stalled = &Blocker{Reason: tfv1.ReasonRolloutFailed, Message: o.RolloutFailedMessage}
		readyReason, readyMsg = tfv1.ReasonRolloutFailed, o.RolloutFailedMessage
	case o.Blocker != nil && o.PinnedTo == 0:
		// A pin runs a snapshot: what blocks a new release does not stop it.
		reconciling, reconcilingMsg = o.Blocker.Reason, o.Blocker.Message
		readyReason, readyMsg = o.Blocker.Reason, o.Blocker.Message
	case (o.ReleasePhase == tfv1.PhaseRunning || o.ReleasePhase == tfv1.PhasePending) && o.PinnedTo == 0:
		reconciling = tfv1.ReasonReleasePhaseRunning
		reconcilingMsg = fmt.Sprintf("Release phase of v%d is running; the rollout follows when it succeeds", o.Latest)
		readyReason, readyMsg = reconciling, reconcilingMsg
	case o.Target == 0:
		reconciling, reconcilingMsg = tfv1.ReasonProgressing, "Waiting for the first release"
		readyReason, readyMsg = reconciling, reconcilingMsg
	case len(o.NotAvailable) > 0:
		reconciling = tfv1.ReasonRollingOut
		reconcilingMsg = fmt.Sprintf("Rolling out v%d: waiting for %v to be Available", o.Target, o.NotAvailable)
		readyReason, readyMsg = reconciling, reconcilingMsg
	default:
		ready = true
		readyReason, readyMsg = tfv1.ReasonReady, fmt.Sprintf("Release v%d is Available", o.Target)
		if o.PinnedTo != 0 {
			readyMsg = fmt.Sprintf("Release v%d is Available (pinned by spec.rollbackTo)", o.Target)
		}
		if len(o.OutOfRelease) > 0 {
			readyMsg = fmt.Sprintf("%s; %s not in v%d, so not running", readyMsg, strings.Join(o.OutOfRelease, ", "), o.Target)
		}
	}
	// A return to an earlier release after a failed one is reported, but the app
	// serves, so it is not Ready only while the failure stands unpinned.
	if stalled != nil && o.Target != 0 && len(o.NotAvailable) == 0 {
		readyMsg = fmt.Sprintf("%s; v%d keeps serving", readyMsg, o.Target)
	}

	if ready {
		set(tfv1.ConditionReady, metav1.ConditionTrue, readyReason, readyMsg)
	} else {
		set(tfv1.ConditionReady, metav1.ConditionFalse, readyReason, readyMsg)
	}
	if reconciling != "" {
		set(tfv1.ConditionReconciling, metav1.ConditionTrue, reconciling, reconcilingMsg)
	} else {
		remove(tfv1.ConditionReconciling)
	}
	if stalled != nil {
		set(tfv1.ConditionStalled, metav1.ConditionTrue, stalled.Reason, stalled.Message)
	} else {
		remove(tfv1.ConditionStalled)
	}
	if ready || stalled != nil {
		st.ObservedGeneration = o.Generation
	}
}
