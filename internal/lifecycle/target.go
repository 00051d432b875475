package lifecycle

import (
	"fmt"
	"strings"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
)

// Release is what the decisions need to know of one release.
type Release struct {
	Number int32
	// ReleaseCommand is true when the release has a release phase to run.
	ReleaseCommand bool
	ReleasePhase   tfv1.ReleasePhase
	Rollout        tfv1.ReleasePhase
}

// ReleaseOf summarises a release for the decisions.
func ReleaseOf(r *tfv1.Release) Release {
	return Release{Number: r.Spec.Number, ReleaseCommand: len(r.Spec.ReleaseCommand) > 0,
		ReleasePhase: r.Status.ReleasePhase, Rollout: r.Status.Rollout}
}

// Releases summarises releases for the decisions, in the order given.
func Releases(rels []*tfv1.Release) []Release {
	out := make([]Release, 0, len(rels))
	for _, r := range rels {
		out = append(out, ReleaseOf(r))
	}
	return out
}

// LastGood returns the newest release below the given number whose rollout
// succeeded, or 0. releases are sorted by number.
func LastGood(releases []Release, below int32) int32 {
	for i := len(releases) - 1; i >= 0; i-- {
		r := releases[i]
		if r.Number < below && r.Rollout == tfv1.PhaseSucceeded {
			return r.Number
		}
	}
	return 0
}

// Target is the release the Deployments are to run.
type Target struct {
	// Release is the target release (0 when none).
	Release int32
	// PinnedTo is the pin when it names a release that exists.
	PinnedTo int32
	// Blocker is set when the pin names a release that does not exist.
	Blocker *Blocker
}

// ChooseTarget decides which release the Deployments run: the pin, or the
// latest release once its release phase succeeded, or the last good release
// when the latest failed. releases are sorted by number; pin is
// spec.rollbackTo (0 when unset) and applied the release the Deployments run
// now (0 when none). A pin to a missing release changes nothing that runs.
func ChooseTarget(releases []Release, pin, applied int32) Target {
	t := Target{Release: applied}
	if pin != 0 {
		found := false
		var avail []string
		for _, r := range releases {
			avail = append(avail, fmt.Sprintf("v%d", r.Number))
			found = found || r.Number == pin
		}
		if !found {
			t.Blocker = &Blocker{Stalled: true, Reason: tfv1.ReasonReleaseNotFound, Message: fmt.Sprintf(
				"spec.rollbackTo names v%d, which does not exist; available releases: %s. Nothing running was changed",
				pin, strings.Join(avail, ", "))}
			return t
		}
		t.Release, t.PinnedTo = pin, pin
		return t
	}
	if len(releases) == 0 {
		return t
	}
	latest := releases[len(releases)-1]
	failed := latest.ReleasePhase == tfv1.PhaseFailed || latest.Rollout == tfv1.PhaseFailed
	gated := latest.ReleaseCommand && latest.ReleasePhase != tfv1.PhaseSucceeded
	switch {
	case failed:
		if good := LastGood(releases, latest.Number); good != 0 {
			t.Release = good
		} else if applied == latest.Number {
			t.Release = applied
		}
	case gated:
		// Keep what runs until the release phase succeeds.
	default:
		t.Release = latest.Number
	}
	return t
}

// Prune returns the releases to delete beyond limit (spec.release.historyLimit):
// the newest limit releases are kept, and so are the target, the applied, the
// pinned and the last good release. releases are sorted by number.
func Prune(releases []Release, limit int, target, applied, pin int32) []int32 {
	if len(releases) <= limit {
		return nil
	}
	keep := map[int32]bool{target: true, applied: true, pin: true}
	if len(releases) > 0 {
		keep[LastGood(releases, releases[len(releases)-1].Number+1)] = true
	}
	var del []int32
	for i, r := range releases {
		if i >= len(releases)-limit || keep[r.Number] {
			continue
		}
		del = append(del, r.Number)
	}
	return del
}
