package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
	"github.com/twelvefactor/twelvefactor-operator/internal/devcluster"
)

const (
	// blackHoleMaxConns bounds the connections the black hole holds open;
	// beyond it a connection is closed at once (and counted).
	blackHoleMaxConns = 512
	// stuckIndex is the first app index of the black-holed apps, far from
	// the digest-pinned apps' 0..M-1.
	stuckIndex = 9000
	// maxDigestApps bounds M, the digest-pinned apps of each half.
	maxDigestApps = 1000
	// maxStuckApps bounds --blackhole-apps.
	maxStuckApps = 500
)

// blackHole is a registry that never answers: a TCP listener on loopback
// that accepts connections, reads what is sent and writes nothing, until the
// client gives up. It holds at most blackHoleMaxConns connections.
type blackHole struct {
	l         net.Listener
	done      chan struct{}
	closeOnce sync.Once

	mu       sync.Mutex
	conns    map[net.Conn]struct{}
	closed   bool
	accepted int
	refused  int
}

func startBlackHole() (*blackHole, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	bh := &blackHole{l: l, done: make(chan struct{}), conns: map[net.Conn]struct{}{}}
	go bh.serve()
	return bh, nil
}

// host is the registry host the black-holed images name: 127.0.0.1:PORT.
func (bh *blackHole) host() string { return bh.l.Addr().String() }

func (bh *blackHole) serve() {
	defer close(bh.done)
	for {
		c, err := bh.l.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		bh.mu.Lock()
		if bh.closed || len(bh.conns) >= blackHoleMaxConns {
			bh.refused++
			bh.mu.Unlock()
			c.Close()
			continue
		}
		bh.conns[c] = struct{}{}
		bh.accepted++
		bh.mu.Unlock()
		go bh.hold(c)
	}
}

// hold reads and discards until the client closes the connection; it never
// writes a byte.
func (bh *blackHole) hold(c net.Conn) {
	_, _ = io.Copy(io.Discard, c)
	bh.mu.Lock()
	delete(bh.conns, c)
	bh.mu.Unlock()
	c.Close()
}

// stats returns the connections open now, accepted in all and refused over
// the bound.
func (bh *blackHole) stats() (open, accepted, refused int) {
	bh.mu.Lock()
	defer bh.mu.Unlock()
	return len(bh.conns), bh.accepted, bh.refused
}

// close stops accepting and closes every connection held. A client then
// gets connection refused at once instead of waiting.
func (bh *blackHole) close() {
	bh.closeOnce.Do(func() {
		_ = bh.l.Close()
		<-bh.done
		bh.mu.Lock()
		bh.closed = true
		for c := range bh.conns {
			c.Close()
		}
		bh.mu.Unlock()
	})
}

// blackHoleResult is the black-hole registry phase: M digest-pinned apps
// timed to Released without (A, then again A' after B) and with (B) K apps
// whose image tag is on a registry that never answers.
type blackHoleResult struct {
	digestApps, stuckApps int
	host                  string
	base, dead, after     phase
	// stuckReported is how long the K apps took to report that they wait
	// on the registry, before B started.
	stuckReported time.Duration
	// At the end of B (after its settle): the K apps by state.
	stuckWaiting, stuckFailed, stuckReleased, stuckOther int
	// Connections the black hole held open when B started and when it
	// ended, accepted in all, and refused over the bound.
	openAtStart, openAtEnd, accepted, refused int
}

// baseline is the time without the dead registry: the mean of A and A'
// (A alone when A' is missing), so that a change of the machine's load
// during the phase weighs on both sides of the ratio.
func (r *blackHoleResult) baseline() time.Duration {
	if r.after.done == 0 {
		return r.base.done
	}
	return (r.base.done + r.after.done) / 2
}

// ratio is B over the baseline.
func (r *blackHoleResult) ratio() float64 {
	if r == nil || r.baseline() == 0 {
		return 0
	}
	return r.dead.done.Seconds() / r.baseline().Seconds()
}

// stuckImage is the image of black-holed app k: a tag, so the operator must
// ask the registry for its digest.
func stuckImage(host string, k int) string { return fmt.Sprintf("%s/stuck/app%d:1.0", host, k) }

// createApps writes the shared ConfigMap of ns (once, when first is 0 or
// withShared), then for each index its ConfigMap, Secret and
// TwelveFactorApp, with image set by imageOf when not nil.
func (b *bench) createApps(ctx context.Context, ns string, first, count int, withShared bool, imageOf func(k int) string) error {
	if withShared {
		if err := b.w.create(ctx, userKey("/configmaps"), sharedConfigMap(ns, 1)); err != nil {
			return err
		}
	}
	return parallel(ctx, count, b.o.conc, func(ctx context.Context, k int) error {
		i := first + k
		cm, sec := configObjects(ns, i)
		if err := b.w.create(ctx, userKey("/configmaps"), cm); err != nil {
			return err
		}
		if err := b.w.create(ctx, userKey("/secrets"), sec); err != nil {
			return err
		}
		app := newApp(ns, i)
		if imageOf != nil {
			app.Spec.Build.Image = imageOf(k)
		}
		return b.w.create(ctx, userKey("twelvefactor.dev/twelvefactorapps"), app)
	})
}

// stuckStates sorts the black-holed apps of ns (app names from stuckIndex)
// by their Released condition: waiting on a registry call, failed and backing
// off, released (status.latestRelease ≥ 1, which must never happen), other.
func stuckStates(ctx context.Context, rd client.Reader, ns string) (waiting, failed, released, other int, err error) {
	list := &tfv1.TwelveFactorAppList{}
	if err := rd.List(ctx, list, client.InNamespace(ns), client.UnsafeDisableDeepCopy); err != nil {
		return 0, 0, 0, 0, err
	}
	for _, a := range list.Items {
		if a.Spec.Build.Image == image {
			continue // a digest-pinned app
		}
		cond := meta.FindStatusCondition(a.Status.Conditions, tfv1.ConditionReleased)
		switch {
		case a.Status.LatestRelease >= 1:
			released++
		case cond != nil && cond.Status == metav1.ConditionFalse && cond.Reason == tfv1.ReasonResolvingImage:
			waiting++
		case cond != nil && cond.Status == metav1.ConditionFalse && cond.Reason == tfv1.ReasonImageResolveFailed:
			failed++
		default:
			other++
		}
	}
	return waiting, failed, released, other, nil
}

// runBlackHole is the black-hole registry phase. In a fresh namespace, M
// digest-pinned apps are created and timed until all are Released (A). In
// another, K apps whose image is a tag on a registry that never answers are
// created first; once every one reports that it waits on the registry (or
// failed and backs off), the same M digest-pinned apps are created and timed
// (B). Then the K apps are deleted, the listener is closed, and M apps are
// timed once more in a third namespace (A'). Digest-pinned apps need no
// registry, so B over the mean of A and A' near 1 says that the dead
// registry holds up no one else; taking A before and A' after B spreads a
// change of the machine's load (other processes share its 2 cores) over both
// sides. The namespaces are deleted at the end.
func (b *bench) runBlackHole(ctx context.Context, idx, n int) (*blackHoleResult, error) {
	m, k := min(n, maxDigestApps, b.o.blackHoleDigest), min(b.o.blackHoleApps, maxStuckApps)
	nsBase, nsDead, nsAfter := fmt.Sprintf("bench-bh-base-%d-%d", idx, n), fmt.Sprintf("bench-bh-dead-%d-%d", idx, n),
		fmt.Sprintf("bench-bh-after-%d-%d", idx, n)
	logf("  black-hole registry (M=%d digest-pinned apps, K=%d apps on a registry that never answers): namespaces %s, %s, %s",
		m, k, nsBase, nsDead, nsAfter)
	for _, ns := range []string{nsBase, nsDead, nsAfter} {
		if err := b.cluster.EnsureNamespace(ctx, ns, nil); err != nil {
			return nil, err
		}
	}
	bh, err := startBlackHole()
	if err != nil {
		return nil, err
	}
	defer bh.close()
	rd, stopCache, err := watchCache(ctx, b.noLimit(), nsBase, nsDead, nsAfter)
	if err != nil {
		return nil, err
	}
	defer stopCache()
	defer func() {
		logf("  deleting the black-hole namespaces")
		if err := devcluster.DeleteNamespaces(ctx, b.c, 10*time.Minute, nsBase, nsDead, nsAfter); err != nil {
			logf("    %v", err)
		}
		b.settle(ctx)
	}()
	r := &blackHoleResult{digestApps: m, stuckApps: k, host: bh.host()}
	max := b.o.phaseTimeout
	releasedAll := func(ns string) func(context.Context, time.Time) (time.Duration, error) {
		return func(ctx context.Context, start time.Time) (time.Duration, error) {
			return waitFor(ctx, start, m, max, "digest-pinned apps Released at v1", func(ctx context.Context) (int, error) {
				return appsAt(ctx, rd, ns, tfv1.ManagedByValue, tfv1.LabelRelease, "1", 2, false)
			})
		}
	}

	// A: the digest-pinned apps alone.
	if r.base, err = b.measure(ctx, "black hole A: digest-pinned apps, no dead registry", m, func(ctx context.Context) error {
		return b.createApps(ctx, nsBase, 0, m, true, nil)
	}, releasedAll(nsBase), nil); err != nil {
		return r, err
	}

	// The apps on the dead registry, until each says it waits on it.
	logf("  black hole: %d apps on %s", k, bh.host())
	start := time.Now()
	if err := b.w.create(ctx, userKey("/configmaps"), sharedConfigMap(nsDead, 1)); err != nil {
		return r, err
	}
	if err := b.createApps(ctx, nsDead, stuckIndex, k, false, func(j int) string { return stuckImage(bh.host(), j) }); err != nil {
		return r, err
	}
	if r.stuckReported, err = waitFor(ctx, start, k, min(max, 5*time.Minute), "apps on the dead registry waiting or failed",
		func(ctx context.Context) (int, error) {
			w, f, _, _, err := stuckStates(ctx, rd, nsDead)
			return w + f, err
		}); err != nil {
		return r, err
	}
	logf("    all %d report ResolvingImage or ImageResolveFailed after %s", k, r.stuckReported.Round(10*time.Millisecond))
	b.settle(ctx)

	// B: the same digest-pinned apps, while the dead registry holds calls.
	r.openAtStart, _, _ = bh.stats()
	if r.dead, err = b.measure(ctx, "black hole B: digest-pinned apps, with apps on a dead registry", m, func(ctx context.Context) error {
		return b.createApps(ctx, nsDead, 0, m, false, nil)
	}, releasedAll(nsDead), nil); err != nil {
		return r, err
	}
	r.openAtEnd, r.accepted, r.refused = bh.stats()
	if r.stuckWaiting, r.stuckFailed, r.stuckReleased, r.stuckOther, err = stuckStates(ctx, rd, nsDead); err != nil {
		return r, err
	}
	logf("    apps on the dead registry: %d waiting, %d failed, %d released, %d other; connections open at B's start %d, accepted %d",
		r.stuckWaiting, r.stuckFailed, r.stuckReleased, r.stuckOther, r.openAtStart, r.accepted)
	if r.stuckReleased > 0 {
		return r, fmt.Errorf("black hole: %d apps on a registry that never answers were released", r.stuckReleased)
	}

	// A': the apps on the dead registry gone and the listener closed (calls
	// still queued in the manager fail at once), the digest-pinned apps again.
	for j := range k {
		app := &tfv1.TwelveFactorApp{ObjectMeta: metav1.ObjectMeta{Name: appName(stuckIndex + j), Namespace: nsDead}}
		if err := b.w.retry(userKey("twelvefactor.dev/twelvefactorapps"), func() error {
			return client.IgnoreNotFound(b.c.Delete(ctx, app))
		}); err != nil {
			return r, err
		}
	}
	bh.close()
	b.settle(ctx)
	if r.after, err = b.measure(ctx, "black hole A': digest-pinned apps, dead registry gone", m, func(ctx context.Context) error {
		return b.createApps(ctx, nsAfter, 0, m, true, nil)
	}, releasedAll(nsAfter), nil); err != nil {
		return r, err
	}
	logf("    A %s, B %s, A' %s: B / mean(A, A') %.2f", r.base.done.Round(10*time.Millisecond),
		r.dead.done.Round(10*time.Millisecond), r.after.done.Round(10*time.Millisecond), r.ratio())
	return r, nil
}
