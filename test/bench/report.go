package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Targets from the issue "Performance".
const (
	targetRatio    = 1.5
	targetRSSMiB   = 150
	targetOverMin  = 1.0
	mib            = 1 << 20
	operatorDetail = "Release, env Secret, 2 Deployments, Service; Release status; app status"
)

type machineInfo struct {
	cpus     int
	memory   string
	goVer    string
	cpuModel string
	kube     string
	date     string
}

func describeMachine(ctx context.Context, cfg *rest.Config) machineInfo {
	m := machineInfo{cpus: runtime.NumCPU(), goVer: runtime.Version(), date: time.Now().UTC().Format("2006-01-02 15:04 MST")}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "MemTotal:") {
				var kb int64
				fmt.Sscanf(strings.TrimSpace(strings.TrimPrefix(l, "MemTotal:")), "%d", &kb)
				m.memory = fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
			}
		}
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				if i := strings.Index(l, ":"); i >= 0 {
					m.cpuModel = strings.TrimSpace(l[i+1:])
					break
				}
			}
		}
	}
	if out, err := exec.CommandContext(ctx, "go", "version").Output(); err == nil {
		m.goVer = strings.TrimSpace(string(out))
	}
	if cs, err := kubernetes.NewForConfig(cfg); err == nil {
		if v, err := cs.Discovery().ServerVersion(); err == nil {
			m.kube = v.GitVersion
		}
	}
	return m
}

// minimum writes per app, by step: what any controller must write to reach
// the same state and report it (events and the in-use labels not counted).
func minimum(step string, pods bool) (float64, string) {
	switch step {
	case "cold":
		if pods {
			return 7, "5 objects (Release, env Secret, 2 Deployments, Service) + Release rollout status + 1 app status"
		}
		return 6, "5 objects (Release, env Secret, 2 Deployments, Service) + 1 app status"
	case "storm":
		if pods {
			return 6, "4 objects (Release, env Secret, 2 Deployments) + Release rollout status + 1 app status"
		}
		return 5, "4 objects (Release, env Secret, 2 Deployments) + 1 app status"
	default:
		return 3, "2 Deployments + 1 app status"
	}
}

func noEvents(w writes) writes {
	out := writes{}
	for k, v := range w {
		if !strings.HasSuffix(k, "/events") {
			out[k] = v
		}
	}
	return out
}

func events(w writes) float64 { return w.total() - noEvents(w).total() }

// derived are the numbers computed from one N's phases.
type derived struct {
	bgCold, bgStorm, bgRoll        writes
	opCold, opStorm, opRoll        writes
	helmIn, helmUp, helmRb         writes
	floorCold, floorStorm, floorRb writes
	steadyTotal                    writes
}

func derive(r *nResult) derived {
	d := derived{}
	d.bgCold = r.floorCold.raw.sub(r.floorCold.own.merged())
	d.bgStorm = r.floorStorm.raw.sub(r.floorStorm.own.merged())
	d.bgRoll = r.floorRollback.raw.sub(r.floorRollback.own.merged())
	op := func(p phase, bg writes) writes {
		return p.raw.sub(p.own.merged()).sub(bg).only(operatorResources)
	}
	d.opCold, d.opStorm, d.opRoll = op(r.opCold, d.bgCold), op(r.opStorm, d.bgStorm), op(r.opRollback, d.bgRoll)
	hl := func(p phase, bg writes) writes { return p.raw.sub(bg).only(helmResources) }
	d.helmIn, d.helmUp, d.helmRb = hl(r.helmInstall, d.bgCold), hl(r.helmUpgrade, d.bgStorm), hl(r.helmRoll, d.bgRoll)
	// The floor's writes of the operator's objects (its user ConfigMaps and Secrets excluded).
	fl := func(p phase) writes {
		return p.own.objects().only(operatorResources)
	}
	d.floorCold, d.floorStorm, d.floorRb = fl(r.floorCold), fl(r.floorStorm), fl(r.floorRollback)
	d.steadyTotal = r.steady.raw.only(operatorResources).scale(float64(r.n))
	return d
}

func secs(d time.Duration) string {
	if d == 0 {
		return "—"
	}
	return fmt.Sprintf("%.1f s", d.Seconds())
}

func ratio(a, b time.Duration) string {
	if a == 0 || b == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f", a.Seconds()/b.Seconds())
}

func ratioF(a, b float64) string {
	if b == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f", a/b)
}

func ms(v float64) string {
	if math.IsNaN(v) {
		return "—"
	}
	return fmt.Sprintf("%.0f", v*1000)
}

func mibs(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/mib) }

func yes(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}

// table renders the results of one N.
func table(o options, r *nResult) string {
	d := derive(r)
	var sb strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&sb, format+"\n", args...) }
	pods := "pods on (kube-scheduler + KWOK)"
	if !o.pods {
		pods = "pods off (API path only: no Deployment becomes Available)"
	}
	p("### N = %d apps, %s, concurrency %d", r.n, pods, o.conc)
	p("")
	p("| Step | Operator | Floor (direct writes) | Operator / floor | Helm v4 | Operator / Helm |")
	p("|---|---|---|---|---|---|")
	row := func(name string, op, fl, hl time.Duration) {
		p("| %s | %s | %s | %s | %s | %s |", name, secs(op), secs(fl), ratio(op, fl), secs(hl), ratio(op, hl))
	}
	row("Cold start: all Released (operator) / written (floor) / revision 1 deployed (Helm)", r.opCold.done, r.floorCold.done, r.helmInstall.done)
	if o.pods {
		row("Cold start: all Ready / Available", r.opCold.ready, r.floorCold.ready, r.helmInstall.ready)
	}
	row("Change storm (shared ConfigMap): all at release 2 / written / revision 2 deployed", r.opStorm.done, r.floorStorm.done, r.helmUpgrade.done)
	if o.pods {
		row("Change storm: all Ready at release 2 / Available", r.opStorm.ready, r.floorStorm.ready, r.helmUpgrade.ready)
	}
	row("Rollback to 1: all Deployments at release 1 / written / revision 3 deployed", r.opRollback.done, r.floorRollback.done, r.helmRoll.done)
	if o.pods {
		row("Rollback: all Ready at release 1 / Available", r.opRollback.ready, r.floorRollback.ready, r.helmRoll.ready)
	}
	wrow := func(name string, op, fl, hl writes, step string) {
		min, _ := minimum(step, o.pods)
		p("| %s (minimum %s) | %s (%s without events) | %s | %s | %s | %s |", name, fmtNum(min),
			fmtNum(op.total()), fmtNum(noEvents(op).total()), fmtNum(fl.total()), ratioF(op.total(), fl.total()),
			fmtNum(hl.total()), ratioF(op.total(), hl.total()))
	}
	wrow("API writes per app: cold start", d.opCold, d.floorCold, d.helmIn, "cold")
	wrow("API writes per app: change storm", d.opStorm, d.floorStorm, d.helmUp, "storm")
	wrow("API writes per app: rollback", d.opRoll, d.floorRb, d.helmRb, "rollback")
	p("| Steady state: writes by a restarted manager over all %d apps (target 0) | %s | | | | |",
		r.n, fmtNum(d.steadyTotal.total()))
	p("| Manager peak RSS (VmHWM of the child process) | %s cold start; %s after restart | | | | |", mibs(r.rss1), mibs(r.rss2))
	p("| Reconcile p50 / p99, ms (cold start; storm; rollback; resync) | %s / %s; %s / %s; %s / %s; %s / %s | | | | |",
		ms(r.recCold.quantile(.5)), ms(r.recCold.quantile(.99)), ms(r.recStorm.quantile(.5)), ms(r.recStorm.quantile(.99)),
		ms(r.recRoll.quantile(.5)), ms(r.recRoll.quantile(.99)), ms(r.recSync.quantile(.5)), ms(r.recSync.quantile(.99)))
	p("")

	// Targets.
	minCold, _ := minimum("cold", o.pods)
	minStorm, _ := minimum("storm", o.pods)
	minRoll, _ := minimum("rollback", o.pods)
	coldRatio := r.opCold.done.Seconds() / r.floorCold.done.Seconds()
	stormRatio := r.opStorm.done.Seconds() / r.floorStorm.done.Seconds()
	peak := max(r.rss1, r.rss2)
	p("| Target | Measured | Met |")
	p("|---|---|---|")
	p("| Cold start: operator / floor ≤ %.1f | %.2f | %s |", targetRatio, coldRatio, yes(coldRatio <= targetRatio))
	p("| Change storm: operator / floor ≤ %.1f | %.2f | %s |", targetRatio, stormRatio, yes(stormRatio <= targetRatio))
	p("| Steady-state writes = 0 | %s | %s |", fmtNum(d.steadyTotal.total()), yes(math.Round(d.steadyTotal.total()) == 0))
	for _, x := range []struct {
		name string
		w    writes
		min  float64
	}{{"cold start", d.opCold, minCold}, {"change storm", d.opStorm, minStorm}, {"rollback", d.opRoll, minRoll}} {
		p("| Writes per app, %s: within %.0f of the minimum %s | %s (%s without events) | %s |", x.name, targetOverMin, fmtNum(x.min),
			fmtNum(x.w.total()), fmtNum(noEvents(x.w).total()), yes(x.w.total() <= x.min+targetOverMin+0.05))
	}
	p("| Manager peak RSS < %d MiB | %s | %s |", targetRSSMiB, mibs(peak), yes(peak < targetRSSMiB*mib))
	if bh := r.blackHole; bh != nil {
		measured := bh.dead.done > 0 && bh.baseline() > 0
		p("| Black-hole registry: %d digest-pinned apps all Released with %d apps on a registry that never answers / without (mean of before and after) ≤ %.1f | %s | %s |",
			bh.digestApps, bh.stuckApps, targetRatio, ratio(bh.dead.done, bh.baseline()), yes(measured && bh.ratio() <= targetRatio))
		p("| Black-hole registry: none of the %d apps on the dead registry Released | %d Released | %s |",
			bh.stuckApps, bh.stuckReleased, yes(bh.stuckReleased == 0))
	}
	p("")
	if r.blackHole != nil {
		p("%s", blackHoleTable(r.blackHole))
	}

	// Where the writes went.
	p("Writes per app by resource (operator: API server count minus the benchmark's own writes minus the")
	p("background measured on the floor's identical objects; Helm: API server count minus background):")
	p("")
	p("| Step | Operator | Floor | Helm |")
	p("|---|---|---|---|")
	p("| Cold start | %s | %s | %s |", d.opCold, d.floorCold, d.helmIn)
	p("| Change storm | %s | %s | %s |", d.opStorm, d.floorStorm, d.helmUp)
	p("| Rollback | %s | %s | %s |", d.opRoll, d.floorRb, d.helmRb)
	p("| Steady state (total, not per app) | %s | | |", d.steadyTotal)
	p("")
	p("Background per app (controller-manager, scheduler, KWOK), from the floor phases: cold start %s; change storm %s; rollback %s.",
		d.bgCold.only(operatorResources), d.bgStorm.only(operatorResources), d.bgRoll.only(operatorResources))
	p("")
	p("Resync after restart: %.0f reconciles (%.0f errors) settled in %s.", r.steadyReconciles, r.steadyErrors, r.steadyTook.Round(time.Second))
	p("Reconciles per app: cold start %.1f, change storm %.1f, rollback %.1f.",
		r.recCold.total/float64(r.n), r.recStorm.total/float64(r.n), r.recRoll.total/float64(r.n))
	p("Manager API requests per app, client side (rest_client_requests_total; reads included): cold start %s; change storm %s; rollback %s; resync %s.",
		perApp(r.recCold.requests, r.n), perApp(r.recStorm.requests, r.n), perApp(r.recRoll.requests, r.n), perApp(r.recSync.requests, r.n))
	var loads []string
	phases := []phase{r.floorCold, r.opCold, r.floorStorm, r.opStorm, r.floorRollback, r.opRollback, r.helmInstall, r.helmUpgrade, r.helmRoll}
	if r.blackHole != nil {
		phases = append(phases, r.blackHole.base, r.blackHole.dead, r.blackHole.after)
	}
	for _, ph := range phases {
		if ph.name != "" {
			loads = append(loads, fmt.Sprintf("%s %.1f", ph.name, ph.load))
		}
	}
	p("Machine load (1-minute load average at the end of each step; 2 CPUs): %s.", strings.Join(loads, "; "))
	p("Settle time after each step (not in the timings): operator cold start %s, storm %s, rollback %s.",
		r.opCold.settle.Round(time.Second), r.opStorm.settle.Round(time.Second), r.opRollback.settle.Round(time.Second))
	if len(r.probes) > 0 {
		p("")
		p("Informer cache cost, measured in a separate process against the same cluster at the end of the run:")
		p("")
		p("| Cache of all Secrets and ConfigMaps | Peak RSS | Objects |")
		p("|---|---|---|")
		for _, pr := range r.probes {
			p("| %s | %s | %d Secrets, %d ConfigMaps |", pr.kind, mibs(pr.hwm), pr.secrets, pr.configMaps)
		}
	}
	return sb.String()
}

// blackHoleTable renders the black-hole registry phase.
func blackHoleTable(bh *blackHoleResult) string {
	var sb strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&sb, format+"\n", args...) }
	p("Black-hole registry: %d apps whose spec.build.image is a tag on %s, a loopback listener that accepts", bh.stuckApps, bh.host)
	p("connections and never answers, against %d digest-pinned apps (which need no registry) created in a fresh", bh.digestApps)
	p("namespace without them (A), in another after all of them reported that they wait on the registry (B), and in")
	p("a third after they were deleted and the listener closed (A'). Times run from the first write until both")
	p("Deployments of every digest-pinned app are at release 1; the ratio is B over the mean of A and A'.")
	p("")
	p("| Black-hole registry | Measured |")
	p("|---|---|")
	p("| A: %d digest-pinned apps all Released, no dead registry | %s |", bh.digestApps, secs(bh.base.done))
	p("| B: the same with %d apps on the dead registry | %s |", bh.stuckApps, secs(bh.dead.done))
	p("| A': the same after the apps on the dead registry were deleted and the listener closed | %s |", secs(bh.after.done))
	p("| B / mean(A, A') | %s |", ratio(bh.dead.done, bh.baseline()))
	p("| Apps on the dead registry reporting it (Released=False, ResolvingImage or ImageResolveFailed) before B | after %s |", secs(bh.stuckReported))
	p("| Apps on the dead registry after B: waiting (ResolvingImage) / failed, backing off (ImageResolveFailed) / Released / other | %d / %d / %d / %d |",
		bh.stuckWaiting, bh.stuckFailed, bh.stuckReleased, bh.stuckOther)
	p("| Connections the black hole held open at B's start / at its end; accepted in all (refused over the bound of %d) | %d / %d; %d (%d) |",
		blackHoleMaxConns, bh.openAtStart, bh.openAtEnd, bh.accepted, bh.refused)
	p("| Reconcile p50 / p99, ms (A; B; A') | %s / %s; %s / %s; %s / %s |", ms(bh.base.recon.quantile(.5)), ms(bh.base.recon.quantile(.99)),
		ms(bh.dead.recon.quantile(.5)), ms(bh.dead.recon.quantile(.99)), ms(bh.after.recon.quantile(.5)), ms(bh.after.recon.quantile(.99)))
	p("")
	return sb.String()
}

func perApp(req map[string]float64, n int) string {
	w := writes{}
	for m, v := range req {
		w[m] = v / float64(n)
	}
	return fmt.Sprintf("%s (total %s)", w, fmtNum(w.total()))
}

func curveTable(o options, rs []*nResult) string {
	var sb strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&sb, format+"\n", args...) }
	p("| N | Released | Floor | Ratio | Ready | Storm at v2 | Floor storm | Ratio | Writes/app cold | Steady writes | Peak RSS |")
	p("|---|---|---|---|---|---|---|---|---|---|---|")
	for _, r := range rs {
		d := derive(r)
		p("| %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |", r.n, secs(r.opCold.done), secs(r.floorCold.done),
			ratio(r.opCold.done, r.floorCold.done), secs(r.opCold.ready), secs(r.opStorm.done), secs(r.floorStorm.done),
			ratio(r.opStorm.done, r.floorStorm.done), fmtNum(d.opCold.total()), fmtNum(d.steadyTotal.total()), mibs(max(r.rss1, r.rss2)))
	}
	return sb.String()
}

func writeOut(b *bench, m machineInfo, rs []*nResult, runErr error) {
	var sb strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&sb, format+"\n", args...) }
	p("# Benchmark results")
	p("")
	p("Written by `make bench` (`go run ./test/bench %s`). Method and proposals: docs/performance.md.", strings.Join(os.Args[1:], " "))
	p("")
	p("- Date: %s; run took %s", m.date, time.Since(b.started).Round(time.Second))
	p("- Machine: %d CPUs (%s), %s memory", m.cpus, m.cpuModel, m.memory)
	p("- Toolchain: %s; Kubernetes %s (simulated cluster: kube-apiserver, etcd, kube-controller-manager%s)", m.goVer, m.kube,
		map[bool]string{true: ", kube-scheduler, KWOK", false: ""}[b.o.pods])
	args := "defaults"
	if len(b.o.managerArgs) > 0 {
		args = strings.Join(b.o.managerArgs, " ")
	}
	if len(b.o.managerEnv) > 0 {
		args += "; environment " + strings.Join(b.o.managerEnv, " ")
	}
	p("- Manager: ./cmd/manager at %s as a child process, flags: %s", b.revision, args)
	if runErr != nil {
		p("- **The run failed**: %v", runErr)
	}
	p("")
	if len(rs) > 1 {
		p("## Scaling curve")
		p("")
		p("%s", curveTable(b.o, rs))
	}
	for _, r := range rs {
		p("%s", table(b.o, r))
	}
	out := sb.String()
	fmt.Println(out)
	if b.o.out == "" {
		return
	}
	path := b.o.out
	if !filepath.IsAbs(path) {
		path = filepath.Join(b.root, path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err == nil {
		if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
			logf("writing %s: %v", path, err)
		} else {
			logf("Wrote %s", path)
		}
	}
}

type probeResult struct {
	kind                string
	hwm                 int64
	secrets, configMaps int
}

// probeCache runs this program again as -probe-cache=none|meta|full and reads
// the child's peak RSS: what caching Secrets and ConfigMaps costs.
func (b *bench) probeCache(ctx context.Context) []probeResult {
	self, err := os.Executable()
	if err != nil {
		return nil
	}
	var out []probeResult
	for _, kind := range []string{"none", "meta", "meta-nomf", "full"} {
		cmd := exec.CommandContext(ctx, self, "-probe-cache="+kind, "-probe-kubeconfig="+b.cluster.KubeconfigPath)
		cmd.Stderr = os.Stderr
		raw, err := cmd.Output()
		if err != nil {
			logf("    cache probe %s: %v", kind, err)
			continue
		}
		pr := probeResult{kind: map[string]string{"none": "none (process baseline)", "meta": "metadata-only (what the operator does)",
			"meta-nomf": "metadata-only, managedFields stripped (cache.TransformStripManagedFields)", "full": "full objects"}[kind]}
		if _, err := fmt.Sscanf(string(raw), "%d %d %d", &pr.hwm, &pr.secrets, &pr.configMaps); err != nil {
			logf("    cache probe %s: %q: %v", kind, raw, err)
			continue
		}
		out = append(out, pr)
	}
	return out
}

func runProbe(kind, kubeconfig string) error {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return err
	}
	cfg.QPS, cfg.Burst = -1, 0
	s := kruntime.NewScheme()
	if err := corev1.AddToScheme(s); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	opts := cache.Options{Scheme: s}
	if kind == "meta-nomf" {
		opts.DefaultTransform = cache.TransformStripManagedFields()
	}
	c, err := cache.New(cfg, opts)
	if err != nil {
		return err
	}
	go func() { _ = c.Start(ctx) }()
	meta := func(kind string) *metav1.PartialObjectMetadata {
		m := &metav1.PartialObjectMetadata{}
		m.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind(kind))
		return m
	}
	var objs []client.Object
	switch kind {
	case "full":
		objs = []client.Object{&corev1.Secret{}, &corev1.ConfigMap{}}
	case "meta", "meta-nomf":
		objs = []client.Object{meta("Secret"), meta("ConfigMap")}
	case "none":
	default:
		return fmt.Errorf("-probe-cache: %q is not full, meta, meta-nomf or none", kind)
	}
	for _, o := range objs {
		if _, err := c.GetInformer(ctx, o); err != nil {
			return err
		}
	}
	if !c.WaitForCacheSync(ctx) {
		return fmt.Errorf("cache did not sync")
	}
	nSec, nCM := 0, 0
	if kind != "none" {
		secs, cms := &metav1.PartialObjectMetadataList{}, &metav1.PartialObjectMetadataList{}
		secs.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("SecretList"))
		cms.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("ConfigMapList"))
		if kind == "full" {
			sl, cl := &corev1.SecretList{}, &corev1.ConfigMapList{}
			if err := c.List(ctx, sl); err == nil {
				nSec = len(sl.Items)
			}
			if err := c.List(ctx, cl); err == nil {
				nCM = len(cl.Items)
			}
		} else {
			if err := c.List(ctx, secs); err == nil {
				nSec = len(secs.Items)
			}
			if err := c.List(ctx, cms); err == nil {
				nCM = len(cms.Items)
			}
		}
	}
	runtime.GC()
	hwm, err := peakRSS(0)
	if err != nil {
		return err
	}
	fmt.Printf("%d %d %d\n", hwm, nSec, nCM)
	return nil
}
