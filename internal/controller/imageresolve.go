package controller

import (
	"context"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/event"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
	"github.com/twelvefactor/twelvefactor-operator/internal/registry"
)

// resolveFunc pins an image reference to a digest (registry.Resolver.Resolve).
type resolveFunc func(ctx context.Context, image string, pull []corev1.Secret) (registry.Resolved, error)

// imageResolutions resolves image tags to digests outside the reconcile
// workers, so that one slow or dead registry never holds a worker and never
// delays an app on another registry, or one whose image is a digest.
//
// A pass asks for a resolution and gets the result when there is one, or
// "pending"; the finished resolution wakes every app that waited for it. Each
// call is bounded by a timeout, each registry host runs at most a few calls
// at once, and a host that failed is backed off exponentially: within the
// back-off, apps on that host get its last error at once.
type imageResolutions struct {
	resolve resolveFunc
	clock   clock.PassiveClock
	// timeout bounds one registry call.
	timeout time.Duration
	// perHost bounds the calls in flight to one registry host.
	perHost int
	// keep is how long a successful resolution is reused by other apps.
	keep time.Duration
	// backoff is the first back-off after a failure; it doubles up to maxBackoff.
	backoff, maxBackoff time.Duration
	// events wakes apps whose resolution finished.
	events chan event.GenericEvent

	mu      sync.Mutex
	entries map[string]*resolution
	hosts   map[string]*hostState
}

type resolution struct {
	host    string
	image   string
	pull    []corev1.Secret
	done    bool
	res     registry.Resolved
	err     error
	at      time.Time
	waiters map[types.NamespacedName]bool
}

type hostState struct {
	inflight int
	queue    []*resolution
	failures int
	retryAt  time.Time
	lastErr  error
}

func newImageResolutions(resolve resolveFunc, clk clock.PassiveClock) *imageResolutions {
	return &imageResolutions{resolve: resolve, clock: clk, timeout: 20 * time.Second, perHost: 2,
		keep: 10 * time.Minute, backoff: 5 * time.Second, maxBackoff: 5 * time.Minute,
		events: make(chan event.GenericEvent, 1024), entries: map[string]*resolution{}, hosts: map[string]*hostState{}}
}

// lookup returns the resolution of image for app: the result, or pending when
// a call runs (the app is woken when it ends). A registry in back-off gives
// its last error at once, with how long until it is tried again.
func (ir *imageResolutions) lookup(app types.NamespacedName, image string, pull []corev1.Secret, insecure bool) (res registry.Resolved, pending bool, retryIn time.Duration, err error) {
	var opts []name.Option
	if insecure {
		opts = append(opts, name.Insecure)
	}
	ref, perr := name.ParseReference(image, opts...)
	if perr != nil {
		return registry.Resolved{}, false, 0, perr
	}
	if d, ok := ref.(name.Digest); ok {
		return registry.Resolved{Image: d.String()}, false, 0, nil
	}
	host := ref.Context().RegistryStr()
	key := resolutionKey(app.Namespace, image, pull)
	now := ir.clock.Now()

	ir.mu.Lock()
	defer ir.mu.Unlock()
	if e, ok := ir.entries[key]; ok {
		switch {
		case !e.done:
			e.waiters[app] = true
			return registry.Resolved{}, true, 0, nil
		case e.err == nil && now.Sub(e.at) < ir.keep:
			return e.res, false, 0, nil
		case e.err != nil:
			if h := ir.hosts[host]; h != nil && now.Before(h.retryAt) {
				return registry.Resolved{}, false, h.retryAt.Sub(now), e.err
			}
		}
		delete(ir.entries, key)
	}
	h := ir.hosts[host]
	if h == nil {
		h = &hostState{}
		ir.hosts[host] = h
	}
	if now.Before(h.retryAt) {
		return registry.Resolved{}, false, h.retryAt.Sub(now), h.lastErr
	}
	e := &resolution{host: host, image: image, pull: pull, waiters: map[types.NamespacedName]bool{app: true}}
	ir.entries[key] = e
	if h.inflight < ir.perHost {
		h.inflight++
		go ir.run(e)
	} else {
		h.queue = append(h.queue, e)
	}
	return registry.Resolved{}, true, 0, nil
}

func (ir *imageResolutions) run(e *resolution) {
	ctx, cancel := context.WithTimeout(context.Background(), ir.timeout)
	res, err := ir.resolve(ctx, e.image, e.pull)
	cancel()

	ir.mu.Lock()
	e.done, e.res, e.err, e.at = true, res, err, ir.clock.Now()
	h := ir.hosts[e.host]
	h.inflight--
	if err != nil {
		h.failures++
		d := ir.backoff << min(h.failures-1, 16)
		if d > ir.maxBackoff || d <= 0 {
			d = ir.maxBackoff
		}
		h.retryAt, h.lastErr = e.at.Add(d), err
	} else {
		h.failures, h.retryAt, h.lastErr = 0, time.Time{}, nil
	}
	var next *resolution
	if len(h.queue) > 0 {
		next, h.queue = h.queue[0], h.queue[1:]
		h.inflight++
	}
	waiters := e.waiters
	e.waiters = nil
	for k, o := range ir.entries {
		// Forget what no app has asked for since it was kept.
		if o.done && e.at.Sub(o.at) > ir.keep {
			delete(ir.entries, k)
		}
	}
	ir.mu.Unlock()

	if next != nil {
		go ir.run(next)
	}
	for app := range waiters {
		ir.events <- event.GenericEvent{Object: &tfv1.TwelveFactorApp{ObjectMeta: metav1.ObjectMeta{Namespace: app.Namespace, Name: app.Name}}}
	}
}

// resolutionKey identifies a resolution: pull secrets are per namespace, and
// their versions decide the credentials.
func resolutionKey(ns, image string, pull []corev1.Secret) string {
	parts := make([]string, 0, len(pull))
	for _, s := range pull {
		parts = append(parts, s.Name+"@"+s.ResourceVersion)
	}
	sort.Strings(parts)
	return ns + "\x00" + image + "\x00" + strings.Join(parts, ",")
}
