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

func TestProgressOnlyTellsProgressFromOtherChanges(t *testing.T) {
	t0 := time.Unix(1000, 0)
	start := rollingStatus(nil, 0, []string{"web", "worker"}, t0)
	t1 := t0.Add(time.Second)
	cases := []struct {
		name string
		now  *tfv1.TwelveFactorAppStatus
		want bool
	}{
		{"a pod became ready", rollingStatus(start, 1, []string{"web", "worker"}, t1), true},
		{"web is done, worker waits", rollingStatus(start, 2, []string{"worker"}, t1), true},
		{"the rollout completed", rollingStatus(start, 2, nil, t1), false},
		{"another release is the target", func() *tfv1.TwelveFactorAppStatus {
			st := rollingStatus(start, 1, []string{"web", "worker"}, t1)
			st.CurrentRelease = 1
			return st
		}(), false},
		{"a process was added", func() *tfv1.TwelveFactorAppStatus {
			st := rollingStatus(start, 1, []string{"web", "worker"}, t1)
			st.Processes = append(st.Processes, tfv1.ProcessStatus{Name: "clock", Replicas: 1, Release: 2})
			return st
		}(), false},
		{"a factor changed", func() *tfv1.TwelveFactorAppStatus {
			st := rollingStatus(start, 1, []string{"web", "worker"}, t1)
			st.Factors = []tfv1.FactorResult{{Factor: "III", Status: "Warn", Reason: "SecretLookingLiteral"}}
			return st
		}(), false},
	}
	for _, c := range cases {
		if got := progressOnly(start, c.now); got != c.want {
			t.Errorf("%s: progressOnly = %v, want %v", c.name, got, c.want)
		}
	}
	ready := rollingStatus(nil, 2, nil, t0)
	if progressOnly(ready, rollingStatus(ready, 2, nil, t1)) {
		t.Error("a Ready app is not rolling out: nothing it writes is progress-only")
	}
}

func TestProgressThrottleSpacesWritesPerApp(t *testing.T) {
	var p progressThrottle
	shop := types.NamespacedName{Namespace: "ns", Name: "shop"}
	cart := types.NamespacedName{Namespace: "ns", Name: "cart"}
	t0 := time.Unix(1000, 0)
	every := 5 * time.Second
	if w := p.wait(shop, t0, every); w != 0 {
		t.Fatalf("never written: wait %v, want 0", w)
	}
	p.wrote(shop, t0)
	if w := p.wait(shop, t0.Add(2*time.Second), every); w != 3*time.Second {
		t.Errorf("2s after a write: wait %v, want 3s", w)
	}
	if w := p.wait(cart, t0.Add(2*time.Second), every); w != 0 {
		t.Errorf("another app waits %v, want 0", w)
	}
	if w := p.wait(shop, t0.Add(every), every); w != 0 {
		t.Errorf("one interval after a write: wait %v, want 0", w)
	}
	p.forget(shop)
	if w := p.wait(shop, t0.Add(time.Second), every); w != 0 {
		t.Errorf("forgotten: wait %v, want 0", w)
	}
}
