package lifecycle

import (
	"testing"

	. "github.com/onsi/gomega"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
)

const (
	ok     = tfv1.PhaseSucceeded
	failed = tfv1.PhaseFailed
	run    = tfv1.PhaseRunning
)

func rel(n int32, rollout tfv1.ReleasePhase) Release { return Release{Number: n, Rollout: rollout} }

func gatedRel(n int32, phase, rollout tfv1.ReleasePhase) Release {
	return Release{Number: n, ReleaseCommand: true, ReleasePhase: phase, Rollout: rollout}
}

func TestChooseTarget(t *testing.T) {
	tests := []struct {
		name           string
		releases       []Release
		pin, applied   int32
		want           Target
		wantBlockerMsg string
	}{
		{name: "no release runs nothing", want: Target{}},
		{name: "the first release runs at once without a release phase",
			releases: []Release{rel(1, "")}, want: Target{Release: 1}},
		{name: "the latest release runs once created",
			releases: []Release{rel(1, ok), rel(2, "")}, applied: 1, want: Target{Release: 2}},
		{name: "a gated release phase keeps what runs",
			releases: []Release{rel(1, ok), gatedRel(2, "", "")}, applied: 1, want: Target{Release: 1}},
		{name: "a running release phase keeps what runs",
			releases: []Release{rel(1, ok), gatedRel(2, run, "")}, applied: 1, want: Target{Release: 1}},
		{name: "a gated first release runs nothing",
			releases: []Release{gatedRel(1, run, "")}, want: Target{}},
		{name: "a succeeded release phase lets the latest run",
			releases: []Release{rel(1, ok), gatedRel(2, ok, "")}, applied: 1, want: Target{Release: 2}},
		{name: "a failed release phase returns to the last good release",
			releases: []Release{rel(1, ok), gatedRel(2, failed, "")}, applied: 1, want: Target{Release: 1}},
		{name: "a failed release phase without a last good release keeps what runs",
			releases: []Release{rel(1, failed), gatedRel(2, failed, "")}, applied: 1, want: Target{Release: 1}},
		{name: "a failed first release phase runs nothing",
			releases: []Release{gatedRel(1, failed, "")}, want: Target{}},
		{name: "a failed rollout returns to the last good release, skipping failed ones",
			releases: []Release{rel(1, ok), rel(2, failed), rel(3, failed)}, applied: 3, want: Target{Release: 1}},
		{name: "a failed rollout without a last good release keeps running it",
			releases: []Release{rel(1, failed)}, applied: 1, want: Target{Release: 1}},
		{name: "a failed latest without a last good release keeps an older applied release",
			releases: []Release{rel(1, ""), rel(2, failed)}, applied: 1, want: Target{Release: 1}},
		{name: "a failed latest without a last good release and nothing applied runs nothing",
			releases: []Release{rel(1, ""), rel(2, failed)}, want: Target{}},
		{name: "a pin runs the pinned release",
			releases: []Release{rel(1, ok), rel(2, ok), rel(3, "")}, pin: 1, applied: 3, want: Target{Release: 1, PinnedTo: 1}},
		{name: "a pin outranks a gated latest release",
			releases: []Release{rel(1, ok), gatedRel(2, run, "")}, pin: 1, applied: 1, want: Target{Release: 1, PinnedTo: 1}},
		{name: "a pin may name a failed release",
			releases: []Release{rel(1, ok), rel(2, failed)}, pin: 2, applied: 1, want: Target{Release: 2, PinnedTo: 2}},
		{name: "a pin to a missing release is ReleaseNotFound and changes nothing that runs",
			releases: []Release{rel(1, ok), rel(2, ok), rel(3, "")}, pin: 9, applied: 2,
			want:           Target{Release: 2},
			wantBlockerMsg: "spec.rollbackTo names v9, which does not exist; available releases: v1, v2, v3. Nothing running was changed"},
		{name: "a pin with no release at all is ReleaseNotFound",
			pin: 1, want: Target{},
			wantBlockerMsg: "spec.rollbackTo names v1, which does not exist; available releases: . Nothing running was changed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			got := ChooseTarget(tt.releases, tt.pin, tt.applied)
			g.Expect(got.Release).To(Equal(tt.want.Release))
			g.Expect(got.PinnedTo).To(Equal(tt.want.PinnedTo))
			if tt.wantBlockerMsg == "" {
				g.Expect(got.Blocker).To(BeNil())
				return
			}
			g.Expect(got.Blocker).To(Equal(&Blocker{Stalled: true, Reason: tfv1.ReasonReleaseNotFound, Message: tt.wantBlockerMsg}))
		})
	}
}

func TestLastGood(t *testing.T) {
	rels := []Release{rel(1, ok), rel(2, failed), rel(3, ok), rel(4, "")}
	for _, tt := range []struct {
		below, want int32
	}{{below: 5, want: 3}, {below: 4, want: 3}, {below: 3, want: 1}, {below: 2, want: 1}, {below: 1, want: 0}} {
		NewWithT(t).Expect(LastGood(rels, tt.below)).To(Equal(tt.want), "below %d", tt.below)
	}
	NewWithT(t).Expect(LastGood(nil, 10)).To(BeZero())
}

func TestReleases(t *testing.T) {
	g := NewWithT(t)
	r := &tfv1.Release{Spec: tfv1.ReleaseSpec{Number: 4, ReleaseCommand: []string{"migrate"}},
		Status: tfv1.ReleaseStatus{ReleasePhase: run, Rollout: failed}}
	g.Expect(Releases([]*tfv1.Release{r, {Spec: tfv1.ReleaseSpec{Number: 5}}})).To(Equal([]Release{
		{Number: 4, ReleaseCommand: true, ReleasePhase: run, Rollout: failed}, {Number: 5}}))
}

func TestPrune(t *testing.T) {
	seq := func(n int32, rollout tfv1.ReleasePhase) []Release {
		var out []Release
		for i := int32(1); i <= n; i++ {
			out = append(out, rel(i, rollout))
		}
		return out
	}
	withGood := func(rs []Release, n int32) []Release { rs[n-1].Rollout = ok; return rs }
	tests := []struct {
		name                 string
		releases             []Release
		limit                int
		target, applied, pin int32
		want                 []int32
	}{
		{name: "within the limit nothing is pruned", releases: seq(3, ok), limit: 3, target: 3, applied: 3},
		{name: "the oldest beyond the limit are pruned", releases: seq(6, ok), limit: 3, target: 6, applied: 6, want: []int32{1, 2, 3}},
		{name: "the target is kept", releases: seq(6, ""), limit: 2, target: 2, applied: 6, want: []int32{1, 3, 4}},
		{name: "the applied release is kept", releases: seq(6, ""), limit: 2, target: 6, applied: 3, want: []int32{1, 2, 4}},
		{name: "the pinned release is kept", releases: seq(6, ""), limit: 2, target: 6, applied: 6, pin: 1, want: []int32{2, 3, 4}},
		{name: "the last good release is kept", releases: withGood(seq(6, failed), 2), limit: 2, target: 6, applied: 6, want: []int32{1, 3, 4}},
		{name: "the last good release may be the latest", releases: withGood(seq(4, ""), 4), limit: 1, target: 4, applied: 4, want: []int32{1, 2, 3}},
		{name: "a limit of one keeps the latest, what runs, what is pinned and the last good",
			releases: withGood(seq(7, ""), 2), limit: 1, target: 4, applied: 3, pin: 5, want: []int32{1, 6}},
		{name: "numbers need not be contiguous",
			releases: []Release{rel(3, ok), rel(7, ok), rel(8, ok), rel(9, "")}, limit: 1, target: 9, applied: 9, want: []int32{3, 7}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			NewWithT(t).Expect(Prune(tt.releases, tt.limit, tt.target, tt.applied, tt.pin)).To(Equal(tt.want))
		})
	}
}
