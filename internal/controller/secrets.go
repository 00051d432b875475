package controller

import (
	"context"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/utils/lru"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
	"github.com/twelvefactor/twelvefactor-operator/internal/lifecycle"
	"github.com/twelvefactor/twelvefactor-operator/internal/release"
)

// problem is something wrong with what runs, that the user must fix
// (lifecycle.Problem).
type problem = lifecycle.Problem

// releaseSecret names one Secret of a release and the hash of its data the
// Release recorded ("" on releases made before hashes were recorded).
type releaseSecret struct {
	name, hash string
}

func secretsOf(rel *tfv1.Release) []releaseSecret {
	out := []releaseSecret{{rel.Spec.EnvSecretName, rel.Spec.EnvSecretHash}}
	for _, b := range rel.Spec.Bindings {
		out = append(out, releaseSecret{b.SecretName, b.SecretHash})
	}
	return out
}

// secretVerifier checks that a release's Secrets are the ones the operator
// created for it: controlled by the Release, immutable, and holding the data
// whose hash the Release recorded. An immutable Secret's data cannot change,
// so a Secret verified once is known by its UID from then on: a steady state
// reads only the metadata cache. A replaced Secret has a new UID and is read
// again.
type secretVerifier struct {
	cache     client.Reader
	apiReader client.Reader
	mu        sync.Mutex
	// verified maps a verified Secret's UID to the hash it was verified against.
	verified *lru.Cache
}

func newSecretVerifier(cache, apiReader client.Reader) *secretVerifier {
	return &secretVerifier{cache: cache, apiReader: apiReader, verified: lru.New(200_000)}
}

// secretState is what verify found of one Secret.
type secretState struct {
	name    string
	missing bool
	// bad explains why an existing Secret is not the release's ("" when it is).
	bad    string
	reason string
}

// verify checks every Secret of rel. It returns the Secrets that are missing
// or not the release's; none when all are verified.
func (v *secretVerifier) verify(ctx context.Context, rel *tfv1.Release) ([]secretState, error) {
	var out []secretState
	for _, rs := range secretsOf(rel) {
		st, err := v.verifyOne(ctx, rel, rs)
		if err != nil {
			return nil, err
		}
		if st.missing || st.bad != "" {
			out = append(out, st)
		}
	}
	return out, nil
}

func (v *secretVerifier) verifyOne(ctx context.Context, rel *tfv1.Release, rs releaseSecret) (secretState, error) {
	st := secretState{name: rs.name}
	key := client.ObjectKey{Namespace: rel.Namespace, Name: rs.name}
	m := secretMeta()
	err := v.cache.Get(ctx, key, m)
	if err == nil {
		v.mu.Lock()
		h, ok := v.verified.Get(m.UID)
		v.mu.Unlock()
		if ok && h.(string) == rs.hash {
			return st, nil
		}
	} else if !apierrors.IsNotFound(err) {
		return st, err
	}
	s := &corev1.Secret{}
	err = v.apiReader.Get(ctx, key, s)
	if apierrors.IsNotFound(err) {
		st.missing = true
		return st, nil
	}
	if err != nil {
		return st, err
	}
	if !controlledBy(s, rel.UID) {
		st.bad, st.reason = newConflict("Secret", s).message(), tfv1.ReasonNameConflict
		return st, nil
	}
	if s.Immutable == nil || !*s.Immutable {
		st.bad, st.reason = fmt.Sprintf("Secret %q of release v%d is not immutable, so its data cannot be trusted: delete it so the operator can make it again, or run another release", s.Name, rel.Spec.Number), tfv1.ReasonReleaseSecretAltered
		return st, nil
	}
	if got := release.DataHash(s.Data); rs.hash != "" && got != rs.hash {
		st.bad, st.reason = fmt.Sprintf("Secret %q of release v%d does not hold the data the release recorded (it was replaced): delete it so the operator can make it again, or run another release", s.Name, rel.Spec.Number), tfv1.ReasonReleaseSecretAltered
		return st, nil
	}
	v.mu.Lock()
	v.verified.Add(s.UID, rs.hash)
	v.mu.Unlock()
	return st, nil
}

// secretProblem turns what verify found into one problem for the app.
func secretProblem(rel *tfv1.Release, states []secretState) *problem {
	for _, st := range states {
		if st.bad != "" {
			return &problem{Reason: st.reason, Message: st.bad}
		}
	}
	for _, st := range states {
		if st.missing {
			return &problem{Reason: tfv1.ReasonReleaseSecretMissing, Message: fmt.Sprintf(
				"Secret %q of release v%d is gone and cannot be made again, since the spec no longer resolves to that release's content: run another release (remove spec.rollbackTo, or pin a release whose Secrets exist); no pod is started from v%d",
				st.name, rel.Spec.Number, rel.Spec.Number)}
		}
	}
	return nil
}
