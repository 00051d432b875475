package controller

import (
	"crypto/sha256"
	"encoding/json"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
)

// lastStatusWrites remembers, by a hash, the status each app was last written
// with. A pass can start before the cache has our last status write (a
// Deployment event can overtake it); the status it computes then differs from
// the cached one but equals what we wrote, and writing it again is a wasted
// write. The records live in memory: after a restart, or on a new leader,
// nothing is skipped.
type lastStatusWrites struct {
	mu   sync.Mutex
	last map[types.NamespacedName]statusWrite
}

// statusWrite identifies one status of one app (its UID, so that an app made
// again under the same name is never taken for the old one).
type statusWrite struct {
	uid  types.UID
	hash [sha256.Size]byte
}

// newStatusWrite hashes st without the conditions' transition times: a pass
// working from a stale cache stamps a transition we already wrote with its
// own time.
func newStatusWrite(uid types.UID, st *tfv1.TwelveFactorAppStatus) statusWrite {
	st = st.DeepCopy()
	for i := range st.Conditions {
		st.Conditions[i].LastTransitionTime = metav1.Time{}
	}
	b, _ := json.Marshal(st) // a status always marshals
	return statusWrite{uid: uid, hash: sha256.Sum256(b)}
}

// written reports whether w is the status last written for key.
func (l *lastStatusWrites) written(key types.NamespacedName, w statusWrite) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	last, ok := l.last[key]
	return ok && last == w
}

// wrote records a status write of key.
func (l *lastStatusWrites) wrote(key types.NamespacedName, w statusWrite) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.last == nil {
		l.last = map[types.NamespacedName]statusWrite{}
	}
	l.last[key] = w
}

// forget drops a deleted app.
func (l *lastStatusWrites) forget(key types.NamespacedName) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.last, key)
}
