// Command bench is `make bench`: the scale benchmark of the operator on the
// simulated cluster (see /work/shared/TESTING.md, "Benchmarks, not timed
// tests"). In one run, against one API server, it measures the operator
// against a floor (a plain client writing the same objects directly) and
// against Helm v4, and reports ratios, API writes per app counted by the API
// server itself, and the operator's peak RSS. It prints a Markdown table and
// writes bench/results.md.
//
// It is not part of `go test ./...` or CI: it starts a cluster and takes
// minutes. Flags: see -help.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	ctrlzap "sigs.k8s.io/controller-runtime/pkg/log/zap"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
	"github.com/twelvefactor/twelvefactor-operator/internal/devcluster"
	"github.com/twelvefactor/twelvefactor-operator/internal/testenv"
)

type options struct {
	n            int
	curve        []int
	conc         int
	pods         bool
	helm         bool
	out          string
	managerArgs  []string
	managerEnv   []string
	phaseTimeout time.Duration
	nodes        int
	keep         bool
	probe        string
	kubeconfig   string
	// The black-hole registry phase: on or off, apps on the dead
	// registry (K), digest-pinned apps timed (M, at most N).
	blackHole       bool
	blackHoleApps   int
	blackHoleDigest int
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, time.Now().Format("15:04:05 ")+format+"\n", args...)
}

func main() {
	o := options{}
	var curve, margs, menv string
	flag.IntVar(&o.n, "n", 1000, "Number of apps.")
	flag.StringVar(&curve, "curve", "", "Comma-separated app counts to run in turn, each in fresh namespaces (overrides -n), e.g. 100,300,1000.")
	flag.IntVar(&o.conc, "concurrency", 16, "Concurrent writers of the benchmark, the floor and Helm.")
	flag.BoolVar(&o.pods, "pods", true, "Run kube-scheduler and KWOK so pods start and apps become Ready; false measures the API path only.")
	flag.BoolVar(&o.helm, "helm", true, "Also measure Helm v4 install, upgrade and rollback of the same objects.")
	flag.StringVar(&o.out, "out", "bench/results.md", "Where to write the results (relative to the repository root); empty: do not write.")
	flag.StringVar(&margs, "manager-args", "", "Extra flags for the manager, space-separated (e.g. \"--kube-api-qps=200 --max-concurrent-reconciles=8\").")
	flag.StringVar(&menv, "manager-env", "", "Extra environment for the manager, space-separated (e.g. \"GOMEMLIMIT=100MiB\").")
	flag.DurationVar(&o.phaseTimeout, "phase-timeout", 30*time.Minute, "Give up a phase after this long.")
	flag.IntVar(&o.nodes, "nodes", 0, "Fake nodes (default: enough for every pod of the run).")
	flag.BoolVar(&o.keep, "keep", false, "Keep each N's namespaces instead of deleting them before the next N.")
	flag.BoolVar(&o.blackHole, "blackhole", true, "Also time digest-pinned apps with and without apps whose image tag is on a registry that never answers (a loopback listener).")
	flag.IntVar(&o.blackHoleApps, "blackhole-apps", 20, "Apps whose image tag is on the black-hole registry (at most 500).")
	flag.IntVar(&o.blackHoleDigest, "blackhole-digest-apps", 50, "Digest-pinned apps timed in each half of the black-hole phase (at most N).")
	flag.StringVar(&o.probe, "probe-cache", "", "Internal: measure the RSS of an informer cache of Secrets and ConfigMaps (full, meta or none) and exit.")
	flag.StringVar(&o.kubeconfig, "probe-kubeconfig", "", "Internal: the kubeconfig for -probe-cache.")
	flag.Parse()
	ctrllog.SetLogger(ctrlzap.New(ctrlzap.WriteTo(io.Discard)))
	if o.probe != "" {
		if err := runProbe(o.probe, o.kubeconfig); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	o.curve = []int{o.n}
	if curve != "" {
		o.curve = nil
		for _, s := range strings.Split(curve, ",") {
			v, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil || v <= 0 {
				fmt.Fprintf(os.Stderr, "-curve: %q is not a positive number\n", s)
				os.Exit(2)
			}
			o.curve = append(o.curve, v)
		}
	}
	if o.blackHole && (o.blackHoleApps < 1 || o.blackHoleApps > maxStuckApps || o.blackHoleDigest < 1) {
		fmt.Fprintf(os.Stderr, "-blackhole-apps must be 1 to %d and -blackhole-digest-apps at least 1 (or -blackhole=false)\n", maxStuckApps)
		os.Exit(2)
	}
	o.managerArgs = strings.Fields(margs)
	o.managerEnv = strings.Fields(menv)
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// bench holds what every phase uses.
type bench struct {
	o       options
	root    string
	work    string
	cluster *devcluster.Cluster
	c       client.Client // no client-side rate limit
	rd      client.Reader // the watch cache of the current N's namespaces
	w       *writer
	api     *apiMetrics
	mgrBin  string
	mgr     *managerProc
	mgrN    int // manager processes started, for log names
	// revision is the commit the manager was built from (+dirty).
	revision string
	started  time.Time
}

func run(o options) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	b := &bench{o: o, root: testenv.RepoRoot(), started: time.Now()}
	var err error
	if b.work, err = os.MkdirTemp("", "twelvefactor-bench-"); err != nil {
		return err
	}
	logf("Work dir %s (manager logs, cluster logs)", b.work)
	logf("Building ./cmd/manager")
	if b.mgrBin, err = buildManager(b.root, b.work); err != nil {
		return err
	}
	b.revision = gitRevision(b.root)
	maxN := 0
	for _, n := range o.curve {
		maxN = max(maxN, n)
	}
	nodes := o.nodes
	if nodes == 0 {
		perN := 6.6 // web+worker for the operator's, the floor's and Helm's apps, plus surge
		total := perN * float64(maxN)
		if o.keep {
			total = 0
			for _, n := range o.curve {
				total += perN * float64(n)
			}
		}
		nodes = int(math.Ceil(total/250)) + 1
	}
	logf("Starting the simulated cluster (pods=%v, %d nodes)", o.pods, nodes)
	b.cluster, err = devcluster.Start(ctx, devcluster.Options{NoPods: !o.pods, Nodes: nodes,
		WorkDir: filepath.Join(b.work, "cluster"), Progress: os.Stderr})
	if err != nil {
		return err
	}
	defer func() {
		if b.mgr != nil {
			b.mgr.stop()
		}
		_ = b.cluster.Stop()
	}()
	if err := b.cluster.Apply(ctx, filepath.Join(b.root, "config", "policy")); err != nil {
		return fmt.Errorf("installing the admission policies: %w", err)
	}
	if b.c, err = client.New(b.noLimit(), client.Options{Scheme: testenv.Scheme()}); err != nil {
		return err
	}
	b.w = newWriter(b.c)
	if b.api, err = newAPIMetrics(b.cluster.Config); err != nil {
		return err
	}

	machine := describeMachine(ctx, b.cluster.Config)
	var results []*nResult
	for idx, n := range o.curve {
		r, err := b.runN(ctx, idx, n)
		if r != nil {
			results = append(results, r)
		}
		if err != nil {
			writeOut(b, machine, results, err)
			return err
		}
		if idx < len(o.curve)-1 && !o.keep {
			b.deleteNamespaces(ctx, r)
		}
	}
	probes := b.probeCache(ctx)
	if len(results) > 0 {
		results[len(results)-1].probes = probes
	}
	writeOut(b, machine, results, nil)
	return nil
}

// phase is one measured step. Writes are per app, by resource, as the API
// server counted them; own are the benchmark's own writes in that window.
type phase struct {
	name     string
	n        int
	done     time.Duration // Released / written / deployed
	ready    time.Duration // Ready / Available (pods on)
	settle   time.Duration
	raw, own writes
	recon    reconcileStats
	// load is the 1-minute load average at the end of the step: other
	// processes on the machine slow both sides of a ratio, not equally.
	load float64
}

// nResult is everything measured at one N.
type nResult struct {
	n                                   int
	floorCold, opCold, steady           phase
	floorStorm, opStorm                 phase
	floorRollback, opRollback           phase
	helmInstall, helmUpgrade, helmRoll  phase
	rss1, rss2                          int64
	steadyReconciles, steadyErrors      float64
	steadyTook                          time.Duration
	nsOp, nsFloor, nsHelm               string
	probes                              []probeResult
	recCold, recStorm, recRoll, recSync reconcileStats
	blackHole                           *blackHoleResult
}

// Resources the operator writes; the rest of the API server's writes belong
// to the controller-manager, the scheduler and KWOK.
var operatorResources = []string{
	"twelvefactor.dev/releases", "twelvefactor.dev/releases/status", "/secrets", "apps/deployments", "/services",
	"policy/poddisruptionbudgets", "twelvefactor.dev/twelvefactorapps/status", "events.k8s.io/events", "/events",
}

// Resources Helm writes (its release storage is Secrets).
var helmResources = []string{"/secrets", "/configmaps", "apps/deployments", "/services"}

func (b *bench) snap(ctx context.Context) (writes, writes) {
	w, err := b.api.snapshot(ctx)
	if err != nil {
		logf("    %v", err)
	}
	for k := range heartbeat {
		delete(w, k)
	}
	return w, b.w.own()
}

func (b *bench) mgrStats(ctx context.Context) reconcileStats {
	if b.mgr == nil {
		return reconcileStats{buckets: map[float64]float64{}, requests: map[string]float64{}}
	}
	st, err := managerStats(ctx, b.mgr.metricsURL)
	if err != nil {
		logf("    reading the manager's metrics: %v", err)
		return reconcileStats{buckets: map[float64]float64{}, requests: map[string]float64{}}
	}
	return st
}

func (b *bench) settle(ctx context.Context) time.Duration {
	d, err := b.api.settle(ctx, 4*time.Second, 5*time.Minute)
	if err != nil {
		logf("    %v", err)
	}
	return d
}

// measure runs act, then the waits in order (each timed from the start), then
// waits for the cluster to settle, and records the writes in between.
func (b *bench) measure(ctx context.Context, name string, n int, act func(context.Context) error, done, ready func(context.Context, time.Time) (time.Duration, error)) (phase, error) {
	logf("  %s (N=%d)", name, n)
	p := phase{name: name, n: n}
	s0, o0 := b.snap(ctx)
	r0 := b.mgrStats(ctx)
	start := time.Now()
	if err := act(ctx); err != nil {
		return p, fmt.Errorf("%s: %w", name, err)
	}
	var err error
	if p.done, err = done(ctx, start); err != nil {
		return p, fmt.Errorf("%s: %w", name, err)
	}
	logf("    done after %s", p.done.Round(10*time.Millisecond))
	if ready != nil {
		if p.ready, err = ready(ctx, start); err != nil {
			return p, fmt.Errorf("%s: %w", name, err)
		}
		logf("    ready after %s", p.ready.Round(10*time.Millisecond))
	}
	p.load = loadAvg()
	p.settle = b.settle(ctx)
	s1, o1 := b.snap(ctx)
	p.recon = b.mgrStats(ctx).sub(r0)
	p.raw = s1.sub(s0).scale(1 / float64(n))
	p.own = o1.sub(o0).scale(1 / float64(n))
	logf("    writes/app (API server, all): %s", p.raw)
	return p, nil
}

// gitRevision names the commit of the tree the manager is built from, and
// whether the operator's code had uncommitted changes.
func gitRevision(root string) string {
	out, err := exec.Command("git", "-C", root, "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "unknown commit"
	}
	rev := "commit " + strings.TrimSpace(string(out))
	if st, err := exec.Command("git", "-C", root, "status", "--porcelain", "--", "internal", "cmd", "api").Output(); err == nil && len(st) > 0 {
		rev += " with uncommitted changes in internal/, cmd/ or api/"
	}
	return rev
}

func loadAvg() float64 {
	var l float64
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Sscanf(string(b), "%f", &l)
	}
	return l
}

func (b *bench) startManager(ctx context.Context) error {
	b.mgrN++
	logPath := filepath.Join(b.work, fmt.Sprintf("manager-%d.log", b.mgrN))
	m, err := startManager(ctx, b.mgrBin, b.cluster.KubeconfigPath, logPath, b.o.managerArgs, b.o.managerEnv)
	if err != nil {
		return err
	}
	b.mgr = m
	return nil
}

func (b *bench) stopManager() int64 {
	if b.mgr == nil {
		return 0
	}
	rss, err := b.mgr.peakRSS()
	if err != nil {
		logf("    reading the manager's peak RSS: %v", err)
	}
	b.mgr.stop()
	b.mgr = nil
	return rss
}

func (b *bench) runN(ctx context.Context, idx, n int) (*nResult, error) {
	o := b.o
	r := &nResult{n: n,
		nsOp: fmt.Sprintf("bench-op-%d-%d", idx, n), nsFloor: fmt.Sprintf("bench-floor-%d-%d", idx, n),
		nsHelm: fmt.Sprintf("bench-helm-%d-%d", idx, n)}
	logf("N=%d: namespaces %s, %s, %s", n, r.nsOp, r.nsFloor, r.nsHelm)
	for _, ns := range []string{r.nsOp, r.nsFloor, r.nsHelm} {
		if err := b.cluster.EnsureNamespace(ctx, ns, nil); err != nil {
			return nil, err
		}
	}
	rd, stopCache, err := watchCache(ctx, b.noLimit(), r.nsOp, r.nsFloor, r.nsHelm)
	if err != nil {
		return nil, err
	}
	defer stopCache()
	b.rd = rd
	if b.mgr != nil {
		b.stopManager()
	}
	if err := b.startManager(ctx); err != nil {
		return nil, err
	}
	max := o.phaseTimeout
	conc := o.conc

	// Floor, cold: the objects the operator makes, written directly.
	r.floorCold, err = b.measure(ctx, "floor: cold start", n, func(ctx context.Context) error {
		if err := b.w.create(ctx, userKey("/configmaps"), sharedConfigMap(r.nsFloor, 1)); err != nil {
			return err
		}
		return parallel(ctx, n, conc, func(ctx context.Context, i int) error {
			cm, sec := configObjects(r.nsFloor, i)
			if err := b.w.create(ctx, userKey("/configmaps"), cm); err != nil {
				return err
			}
			if err := b.w.create(ctx, userKey("/secrets"), sec); err != nil {
				return err
			}
			return floorWrite(ctx, b.w, r.nsFloor, i, 1, 1)
		})
	}, func(_ context.Context, start time.Time) (time.Duration, error) { return time.Since(start), nil },
		b.ifPods(func(ctx context.Context, start time.Time) (time.Duration, error) {
			return waitFor(ctx, start, n, max, "floor Available at v1", func(ctx context.Context) (int, error) {
				return appsAt(ctx, b.rd, r.nsFloor, floorManagedBy, tfv1.LabelRelease, "1", 2, true)
			})
		}))
	if err != nil {
		return r, err
	}

	// Operator, cold: the user's objects are written, the operator does the rest.
	r.opCold, err = b.measure(ctx, "operator: cold start", n, func(ctx context.Context) error {
		if err := b.w.create(ctx, userKey("/configmaps"), sharedConfigMap(r.nsOp, 1)); err != nil {
			return err
		}
		return parallel(ctx, n, conc, func(ctx context.Context, i int) error {
			cm, sec := configObjects(r.nsOp, i)
			if err := b.w.create(ctx, userKey("/configmaps"), cm); err != nil {
				return err
			}
			if err := b.w.create(ctx, userKey("/secrets"), sec); err != nil {
				return err
			}
			return b.w.create(ctx, userKey("twelvefactor.dev/twelvefactorapps"), newApp(r.nsOp, i))
		})
	}, b.released(r.nsOp, n, "1"), b.ifPods(b.appsReady(r.nsOp, n, 1)))
	if err != nil {
		return r, err
	}
	r.recCold = r.opCold.recon

	// Steady state: a new manager process resyncs every app and should write nothing.
	logf("  steady state: restarting the manager")
	s0, _ := b.snap(ctx)
	r.rss1 = b.stopManager()
	t0 := time.Now()
	if err := b.startManager(ctx); err != nil {
		return r, err
	}
	apps := &tfv1.TwelveFactorAppList{}
	if err := b.c.List(ctx, apps); err != nil {
		return r, err
	}
	st, took, err := b.mgr.waitSettled(ctx, float64(len(apps.Items)), 5*time.Second, max)
	if err != nil {
		logf("    %v", err)
	}
	r.steadyTook = took
	s1, _ := b.snap(ctx)
	r.steady = phase{name: "operator: steady state after restart", n: n, done: time.Since(t0),
		raw: s1.sub(s0).scale(1 / float64(n)), own: writes{}, recon: st}
	r.steadyReconciles, r.steadyErrors = st.total, st.errors
	r.recSync = st
	logf("    %v reconciles (%v errors) settled after %s; writes: %s", st.total, st.errors, took.Round(time.Second),
		s1.sub(s0).only(operatorResources))

	// Change storm: the ConfigMap every app reads changes.
	r.floorStorm, err = b.measure(ctx, "floor: change storm", n, func(ctx context.Context) error {
		cm := sharedConfigMap(r.nsFloor, 2)
		if err := b.w.retry(userKey("/configmaps"), func() error { return b.c.Update(ctx, withRV(ctx, b.c, cm)) }); err != nil {
			return err
		}
		return parallel(ctx, n, conc, func(ctx context.Context, i int) error {
			return floorWrite(ctx, b.w, r.nsFloor, i, 2, 2)
		})
	}, func(_ context.Context, start time.Time) (time.Duration, error) { return time.Since(start), nil },
		b.ifPods(func(ctx context.Context, start time.Time) (time.Duration, error) {
			return waitFor(ctx, start, n, max, "floor Available at v2", func(ctx context.Context) (int, error) {
				return appsAt(ctx, b.rd, r.nsFloor, floorManagedBy, tfv1.LabelRelease, "2", 2, true)
			})
		}))
	if err != nil {
		return r, err
	}
	r.opStorm, err = b.measure(ctx, "operator: change storm", n, func(ctx context.Context) error {
		cm := sharedConfigMap(r.nsOp, 2)
		return b.w.retry(userKey("/configmaps"), func() error { return b.c.Update(ctx, withRV(ctx, b.c, cm)) })
	}, b.released(r.nsOp, n, "2"), b.ifPods(b.appsReady(r.nsOp, n, 2)))
	if err != nil {
		return r, err
	}
	r.recStorm = r.opStorm.recon

	// Rollback to release 1.
	r.floorRollback, err = b.measure(ctx, "floor: rollback", n, func(ctx context.Context) error {
		return parallel(ctx, n, conc, func(ctx context.Context, i int) error { return floorRollback(ctx, b.w, r.nsFloor, i) })
	}, func(_ context.Context, start time.Time) (time.Duration, error) { return time.Since(start), nil },
		b.ifPods(func(ctx context.Context, start time.Time) (time.Duration, error) {
			return waitFor(ctx, start, n, max, "floor Available at v1", func(ctx context.Context) (int, error) {
				return appsAt(ctx, b.rd, r.nsFloor, floorManagedBy, tfv1.LabelRelease, "1", 2, true)
			})
		}))
	if err != nil {
		return r, err
	}
	r.opRollback, err = b.measure(ctx, "operator: rollback (spec.rollbackTo: 1)", n, func(ctx context.Context) error {
		return parallel(ctx, n, conc, func(ctx context.Context, i int) error {
			app := &tfv1.TwelveFactorApp{ObjectMeta: metav1.ObjectMeta{Name: appName(i), Namespace: r.nsOp}}
			return b.w.patch(ctx, userKey("twelvefactor.dev/twelvefactorapps"), app,
				client.RawPatch("application/merge-patch+json", []byte(`{"spec":{"rollbackTo":1}}`)))
		})
	}, b.released(r.nsOp, n, "1"), b.ifPods(b.appsReady(r.nsOp, n, 1)))
	if err != nil {
		return r, err
	}
	r.recRoll = r.opRollback.recon

	// Helm v4: the same objects for N other apps, as N releases.
	if o.helm {
		if err := b.runHelm(ctx, r); err != nil {
			r.rss2 = b.stopManager()
			return r, err
		}
	}

	// A registry that never answers, in fresh namespaces.
	if o.blackHole {
		r.blackHole, err = b.runBlackHole(ctx, idx, n)
		if err != nil {
			r.rss2 = b.stopManager()
			return r, err
		}
	}
	r.rss2 = b.stopManager()
	return r, nil
}

func (b *bench) runHelm(ctx context.Context, r *nResult) error {
	n, conc, max := r.n, b.o.conc, b.o.phaseTimeout
	h, err := newHelmRunner(filepath.Join(b.root, "test", "bench", "chart"), b.cluster.KubeconfigPath, r.nsHelm, conc)
	if err != nil {
		return err
	}
	helmAt := func(config string) func(context.Context, time.Time) (time.Duration, error) {
		return b.ifPods(func(ctx context.Context, start time.Time) (time.Duration, error) {
			return waitFor(ctx, start, n, max, "Helm Available at config "+config, func(ctx context.Context) (int, error) {
				return appsAt(ctx, b.rd, r.nsHelm, "Helm", labelConfig, config, 2, true)
			})
		})
	}
	deployed := func(rev int) func(context.Context, time.Time) (time.Duration, error) {
		return func(ctx context.Context, start time.Time) (time.Duration, error) {
			return waitFor(ctx, start, n, max, fmt.Sprintf("Helm revision %d deployed", rev), func(ctx context.Context) (int, error) {
				return helmDeployed(ctx, b.rd, r.nsHelm, rev)
			})
		}
	}
	if r.helmInstall, err = b.measure(ctx, "Helm: install", n, func(ctx context.Context) error {
		return parallel(ctx, n, conc, h.install)
	}, deployed(1), helmAt("1")); err != nil {
		return err
	}
	if r.helmUpgrade, err = b.measure(ctx, "Helm: upgrade (config change)", n, func(ctx context.Context) error {
		return parallel(ctx, n, conc, h.upgrade)
	}, deployed(2), helmAt("2")); err != nil {
		return err
	}
	if r.helmRoll, err = b.measure(ctx, "Helm: rollback to revision 1", n, func(ctx context.Context) error {
		return parallel(ctx, n, conc, h.rollback)
	}, deployed(3), helmAt("1")); err != nil {
		return err
	}
	return nil
}

// noLimit is the admin config without a client-side rate limit: the floor is
// the API server's, not a client limiter's.
func (b *bench) noLimit() *rest.Config {
	cfg := rest.CopyConfig(b.cluster.Config)
	cfg.QPS, cfg.Burst = -1, 0
	return cfg
}

func (b *bench) ifPods(f func(context.Context, time.Time) (time.Duration, error)) func(context.Context, time.Time) (time.Duration, error) {
	if !b.o.pods {
		return nil
	}
	return f
}

func (b *bench) released(ns string, n int, rel string) func(context.Context, time.Time) (time.Duration, error) {
	return func(ctx context.Context, start time.Time) (time.Duration, error) {
		return waitFor(ctx, start, n, b.o.phaseTimeout, "Released at v"+rel, func(ctx context.Context) (int, error) {
			return appsAt(ctx, b.rd, ns, tfv1.ManagedByValue, tfv1.LabelRelease, rel, 2, false)
		})
	}
}

func (b *bench) appsReady(ns string, n int, rel int32) func(context.Context, time.Time) (time.Duration, error) {
	return func(ctx context.Context, start time.Time) (time.Duration, error) {
		return waitFor(ctx, start, n, b.o.phaseTimeout, fmt.Sprintf("Ready at v%d", rel), func(ctx context.Context) (int, error) {
			return appsReady(ctx, b.rd, ns, rel)
		})
	}
}

// withRV sets the live resourceVersion on obj, for an Update.
func withRV(ctx context.Context, c client.Client, obj client.Object) client.Object {
	live := &corev1.ConfigMap{}
	if err := c.Get(ctx, client.ObjectKeyFromObject(obj), live); err == nil {
		obj.SetResourceVersion(live.ResourceVersion)
	}
	return obj
}

func (b *bench) deleteNamespaces(ctx context.Context, r *nResult) {
	logf("Deleting the namespaces of N=%d", r.n)
	if err := devcluster.DeleteNamespaces(ctx, b.c, 10*time.Minute, r.nsOp, r.nsFloor, r.nsHelm); err != nil {
		logf("    %v", err)
	}
	b.settle(ctx)
}
