package controller

import (
	"fmt"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
)

// rollingStatus is the status a pass gives an app rolling out v2 to web and
// worker, with web's ready replicas at webReady, starting from the status
// was (nil for the first pass), as fillStatus does.
func rollingStatus(was *tfv1.TwelveFactorAppStatus, webReady int32, waiting []string, at time.Time) *tfv1.TwelveFactorAppStatus {
	st := &tfv1.TwelveFactorAppStatus{}
	if was != nil {
		st = was.DeepCopy()
	}
	st.CurrentRelease, st.LatestRelease = 2, 2
	st.Processes = []tfv1.ProcessStatus{
		{Name: "web", Replicas: 2, ReadyReplicas: webReady, UpdatedReplicas: webReady, Release: 2},
		{Name: "worker", Replicas: 1, Release: 2},
	}
	if len(waiting) == 0 {
		st.Processes[1].ReadyReplicas, st.Processes[1].UpdatedReplicas = 1, 1
	}
	st.ProcessSummary = fmt.Sprintf("web %d/2, worker %d/1", webReady, st.Processes[1].ReadyReplicas)
	setConditions(st, appObservation{Generation: 3, Latest: 2, Target: 2, NotAvailable: waiting}, at)
	return st
}

func TestStatusWritesSkipRepeatsAndSpaceOutProgress(t *testing.T) {
	var p progressThrottle
	shop := types.NamespacedName{Namespace: "ns", Name: "shop"}
	const uid = types.UID("u1")
	every := 5 * time.Second
	t0 := time.Unix(1000, 0)
	t1 := t0.Add(time.Second)
	start := rollingStatus(nil, 0, []string{"web", "worker"}, t0)
	skip := func(st *tfv1.TwelveFactorAppStatus, id types.UID, at time.Time) (bool, time.Duration) {
		return p.skip(shop, newStatusWrite(id, st, at), every)
	}

	if s, _ := skip(start, uid, t0); s {
		t.Fatal("a first write is never skipped")
	}
	p.wrote(shop, newStatusWrite(uid, start, t0))

	cases := []struct {
		name string
		st   *tfv1.TwelveFactorAppStatus
		uid  types.UID
		at   time.Time
		skip bool
		wait time.Duration
	}{
		{"the same status again (the cache lags our write)", start, uid, t1, true, 0},
		{"a pod became ready", rollingStatus(start, 1, []string{"web", "worker"}, t1), uid, t1, true, 4 * time.Second},
		{"web is done, worker waits", rollingStatus(start, 2, []string{"worker"}, t1), uid, t1, true, 4 * time.Second},
		{"progress one interval later", rollingStatus(start, 1, []string{"web", "worker"}, t0.Add(every)), uid, t0.Add(every), false, 0},
		{"the rollout completed", rollingStatus(start, 2, nil, t1), uid, t1, false, 0},
		{"another release is the target", func() *tfv1.TwelveFactorAppStatus {
			st := rollingStatus(start, 1, []string{"web", "worker"}, t1)
			st.CurrentRelease = 1
			return st
		}(), uid, t1, false, 0},
		{"a process was added", func() *tfv1.TwelveFactorAppStatus {
			st := rollingStatus(start, 1, []string{"web", "worker"}, t1)
			st.Processes = append(st.Processes, tfv1.ProcessStatus{Name: "clock", Replicas: 1, Release: 2})
			return st
		}(), uid, t1, false, 0},
		{"a factor changed", func() *tfv1.TwelveFactorAppStatus {
			st := rollingStatus(start, 1, []string{"web", "worker"}, t1)
			st.Factors = []tfv1.FactorResult{{Factor: "III", Status: "Warn", Reason: "SecretLookingLiteral"}}
			return st
		}(), uid, t1, false, 0},
		{"an app of the same name made again", start, "u2", t1, false, 0},
	}
	for _, c := range cases {
		s, wait := skip(c.st, c.uid, c.at)
		if s != c.skip || wait != c.wait {
			t.Errorf("%s: skip %v after %v, want %v after %v", c.name, s, wait, c.skip, c.wait)
		}
	}

	// A Ready app is not rolling out: a change is written at once.
	ready := rollingStatus(start, 2, nil, t1)
	p.wrote(shop, newStatusWrite(uid, ready, t1))
	changed := ready.DeepCopy()
	changed.ProcessSummary = "web 1/2, worker 1/1"
	if s, _ := skip(changed, uid, t1); s {
		t.Error("a change of a Ready app was deferred")
	}
	p.forget(shop)
	if s, _ := skip(ready, uid, t1); s {
		t.Error("a forgotten app's write was skipped")
	}
}
