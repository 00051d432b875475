package controller

import (
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
)

// progressThrottle spaces out the status writes that only report a rollout's
// progress: replica counts, and which processes are still waiting. Every pod
// that starts or becomes Ready moves a Deployment's status and brings a pass;
// writing each step cost three to five status writes per app and rollout. A
// progress-only change is written at most once per interval per app, and a
// deferred one comes back with a requeue, so the status is never more than
// one interval behind. Any other change (Ready, a failure, a new release) is
// written at once. The times live in memory: after a restart the first
// progress is written at once.
type progressThrottle struct {
	mu   sync.Mutex
	last map[types.NamespacedName]time.Time
}

// wait returns how long a progress-only write of key must wait, or 0.
func (p *progressThrottle) wait(key types.NamespacedName, now time.Time, every time.Duration) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	if t, ok := p.last[key]; ok {
		if d := t.Add(every).Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// wrote records a status write of key.
func (p *progressThrottle) wrote(key types.NamespacedName, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.last == nil {
		p.last = map[types.NamespacedName]time.Time{}
	}
	p.last[key] = now
}

// forget drops a deleted app.
func (p *progressThrottle) forget(key types.NamespacedName) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.last, key)
}

// progressOnly reports whether two statuses of a rolling-out app differ only
// in the rollout's progress.
func progressOnly(was, now *tfv1.TwelveFactorAppStatus) bool {
	if !rollingOut(was) || !rollingOut(now) {
		return false
	}
	return equality.Semantic.DeepEqual(withoutProgress(was), withoutProgress(now))
}

func rollingOut(st *tfv1.TwelveFactorAppStatus) bool {
	c := meta.FindStatusCondition(st.Conditions, tfv1.ConditionReconciling)
	return c != nil && c.Status == metav1.ConditionTrue && c.Reason == tfv1.ReasonRollingOut
}

func withoutProgress(st *tfv1.TwelveFactorAppStatus) *tfv1.TwelveFactorAppStatus {
	st = st.DeepCopy()
	st.ProcessSummary = ""
	for i := range st.Processes {
		st.Processes[i].ReadyReplicas, st.Processes[i].UpdatedReplicas = 0, 0
	}
	for i := range st.Conditions {
		if c := &st.Conditions[i]; c.Reason == tfv1.ReasonRollingOut {
			c.Message, c.LastTransitionTime = "", metav1.Time{}
		}
	}
	return st
}
