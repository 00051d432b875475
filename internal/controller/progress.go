package controller

import (
	"crypto/sha256"
	"encoding/json"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
)

// progressThrottle remembers each app's last status write, by hashes, for
// two savings:
//
//   - A pass whose cache has not yet seen our last status write (a Deployment
//     event can overtake it) would write the same status again; it writes
//     nothing when the status equals the last one written.
//   - While a rollout runs, every pod that starts or becomes Ready moves a
//     Deployment's status and brings a pass. A change that only reports the
//     rollout's progress is written at most once per interval per app; a
//     deferred one comes back with a requeue, so the status is never more than
//     one interval behind. Any other change (Ready, a failure, a new release,
//     a factor) is written at once.
//
// The records live in memory: after a restart, or on a new leader, the first
// write is never skipped or deferred.
type progressThrottle struct {
	mu   sync.Mutex
	last map[types.NamespacedName]statusWrite
}

// statusWrite records one status write of an app.
type statusWrite struct {
	uid types.UID
	at  time.Time
	// full hashes the whole status; significant hashes it without progress.
	full, significant [sha256.Size]byte
	rollingOut        bool
}

func newStatusWrite(uid types.UID, st *tfv1.TwelveFactorAppStatus, at time.Time) statusWrite {
	return statusWrite{uid: uid, at: at, full: hashStatus(st), significant: hashStatus(withoutProgress(st)),
		rollingOut: rollingOut(st)}
}

func hashStatus(st *tfv1.TwelveFactorAppStatus) [sha256.Size]byte {
	b, _ := json.Marshal(st) // a status always marshals
	return sha256.Sum256(b)
}

// skip tells whether the status st of the app key (with uid) needs no write
// now, and when it is deferred, how long until it is due.
func (p *progressThrottle) skip(key types.NamespacedName, w statusWrite, every time.Duration) (bool, time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	last, ok := p.last[key]
	if !ok || last.uid != w.uid {
		return false, 0
	}
	if last.full == w.full {
		return true, 0
	}
	if last.rollingOut && w.rollingOut && last.significant == w.significant {
		if d := last.at.Add(every).Sub(w.at); d > 0 {
			return true, d
		}
	}
	return false, 0
}

// wrote records a status write of key.
func (p *progressThrottle) wrote(key types.NamespacedName, w statusWrite) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.last == nil {
		p.last = map[types.NamespacedName]statusWrite{}
	}
	p.last[key] = w
}

// forget drops a deleted app.
func (p *progressThrottle) forget(key types.NamespacedName) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.last, key)
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
