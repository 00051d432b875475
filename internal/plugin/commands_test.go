package plugin_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	ctrlzap "sigs.k8s.io/controller-runtime/pkg/log/zap"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
	"github.com/twelvefactor/twelvefactor-operator/internal/manager"
	"github.com/twelvefactor/twelvefactor-operator/internal/plugin"
	"github.com/twelvefactor/twelvefactor-operator/internal/testenv"
)

var (
	env        *testenv.Env
	kubeconfig string
)

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run())
	}
	os.Exit(start(m))
}

// start runs envtest and the operator in-process, and writes a kubeconfig
// for the plugin's --kubeconfig flag.
func start(m *testing.M) int {
	var err error
	if env, err = testenv.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = env.Stop() }()
	user, err := env.ControlPlane.AddUser(envtest.User{Name: "admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	data, err := user.KubeConfig()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	dir, err := os.MkdirTemp("", "plugin-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	kubeconfig = filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kubeconfig, data, 0o600); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctrl.SetLogger(ctrlzap.New(ctrlzap.WriteTo(&testenv.SyncBuffer{})))
	ctx, cancel := context.WithCancel(context.Background())
	opts := manager.DefaultOptions()
	opts.MetricsAddr, opts.ProbeAddr = "0", "0"
	done := make(chan error, 1)
	go func() { done <- manager.Start(ctx, env.Config, opts) }()
	code := m.Run()
	cancel()
	<-done
	return code
}

// kubectl runs the plugin against the test cluster.
func kubectl(ns string, args ...string) run {
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	code := plugin.Main(append([]string{"--kubeconfig", kubeconfig, "-n", ns}, args...), streams)
	return run{code: code, stdout: out.String(), stderr: errOut.String()}
}

func needCluster(t *testing.T) {
	if env == nil {
		t.Skip("needs a control plane (not under -short)")
	}
}

func ctx() context.Context { return context.Background() }

func namespace(t *testing.T) string {
	ns := "plugin-" + rand.String(5)
	if err := env.Client.Create(ctx(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		t.Fatal(err)
	}
	return ns
}

func app(ns string) *tfv1.TwelveFactorApp {
	return &tfv1.TwelveFactorApp{
		ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: ns},
		Spec: tfv1.TwelveFactorAppSpec{
			Build:  tfv1.BuildSpec{Image: fmt.Sprintf("registry.example/shop@sha256:%064d", 1), Revision: "abc1234"},
			Config: tfv1.ConfigSpec{Env: []tfv1.EnvVar{{Name: "LOG_LEVEL", Value: "info"}}},
			Processes: []tfv1.ProcessSpec{
				{Name: "web", Port: ptr.To[int32](8080), Replicas: ptr.To[int32](2)},
				{Name: "worker", Replicas: ptr.To[int32](1)},
			},
		},
	}
}

func webRelease(g Gomega, ns string) string {
	d := &appsv1.Deployment{}
	if err := env.Client.Get(ctx(), client.ObjectKey{Namespace: ns, Name: "shop-web"}, d); err != nil {
		return ""
	}
	return d.Spec.Template.Labels[tfv1.LabelRelease]
}

func getApp(g Gomega, ns string) *tfv1.TwelveFactorApp {
	a := &tfv1.TwelveFactorApp{}
	g.Expect(env.Client.Get(ctx(), client.ObjectKey{Namespace: ns, Name: "shop"}, a)).To(Succeed())
	return a
}

const wait = 20 * time.Second

// twoReleases makes v1 and v2 (a config change) and waits until v2 runs.
func twoReleases(t *testing.T, g Gomega, ns string) {
	g.Expect(env.Client.Create(ctx(), app(ns))).To(Succeed())
	g.Eventually(func(g Gomega) string { return webRelease(g, ns) }, wait).Should(Equal("1"))
	g.Eventually(func() error {
		a := getApp(g, ns)
		a.Spec.Config.Env[0].Value = "debug"
		return env.Client.Update(ctx(), a)
	}, wait).Should(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(webRelease(g, ns)).To(Equal("2"))
		g.Expect(getApp(g, ns).Status.CurrentRelease).To(Equal(int32(2)))
	}, wait).Should(Succeed())
}

func TestReleasesRollbackAndUnpin(t *testing.T) {
	needCluster(t)
	g := NewWithT(t)
	ns := namespace(t)
	twoReleases(t, g, ns)

	r := kubectl(ns, "releases", "shop")
	g.Expect(r.code).To(Equal(0), r.stderr)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	g.Expect(lines[0]).To(MatchRegexp(`^VERSION\s+STATUS\s+DESCRIPTION\s+IMAGE\s+WHEN`))
	g.Expect(lines[1]).To(MatchRegexp(`^v2\*\s+.*Set LOG_LEVEL config`))
	g.Expect(lines[2]).To(MatchRegexp(`^v1\s+.*Deploy abc1234`))

	// rollback without --to goes to the release before the current one.
	r = kubectl(ns, "rollback", "shop")
	g.Expect(r.code).To(Equal(0), r.stderr)
	g.Expect(r.stdout).To(ContainSubstring("Rolled back shop to v1"))
	g.Eventually(func(g Gomega) string { return webRelease(g, ns) }, wait).Should(Equal("1"))
	g.Expect(getApp(g, ns).Spec.RollbackTo).To(Equal(ptr.To[int32](1)))

	r = kubectl(ns, "rollback", "shop", "--to", "9")
	g.Expect(r.code).To(Equal(plugin.ExitError))
	g.Expect(r.stderr).To(ContainSubstring("has no release v9; available: v2, v1"))

	r = kubectl(ns, "unpin", "shop")
	g.Expect(r.code).To(Equal(0), r.stderr)
	g.Eventually(func(g Gomega) string { return webRelease(g, ns) }, wait).Should(Equal("2"))
	g.Expect(getApp(g, ns).Spec.RollbackTo).To(BeNil())

	r = kubectl(ns, "rollback", "shop", "--to", "1")
	g.Expect(r.code).To(Equal(0), r.stderr)
	g.Eventually(func(g Gomega) string { return webRelease(g, ns) }, wait).Should(Equal("1"))
}

func TestUnpinRefusesAPinItDoesNotOwn(t *testing.T) {
	needCluster(t)
	g := NewWithT(t)
	ns := namespace(t)
	twoReleases(t, g, ns)
	// A GitOps tool (another field manager) pins v1.
	a := getApp(g, ns)
	a.Spec.RollbackTo = ptr.To[int32](1)
	g.Expect(env.Client.Update(ctx(), a, client.FieldOwner("argocd-controller"))).To(Succeed())
	r := kubectl(ns, "unpin", "shop")
	g.Expect(r.code).To(Equal(plugin.ExitError))
	g.Expect(r.stderr).To(ContainSubstring(`set by "argocd-controller"`))
	g.Expect(getApp(g, ns).Spec.RollbackTo).To(Equal(ptr.To[int32](1)))
}

func TestScaleMakesNoReleaseAndKeepsThePin(t *testing.T) {
	needCluster(t)
	g := NewWithT(t)
	ns := namespace(t)
	twoReleases(t, g, ns)
	g.Expect(kubectl(ns, "rollback", "shop", "--to", "1").code).To(Equal(0))

	r := kubectl(ns, "scale", "shop", "web=5", "worker=3")
	g.Expect(r.code).To(Equal(0), r.stderr)
	g.Eventually(func(g Gomega) {
		d := &appsv1.Deployment{}
		g.Expect(env.Client.Get(ctx(), client.ObjectKey{Namespace: ns, Name: "shop-web"}, d)).To(Succeed())
		g.Expect(*d.Spec.Replicas).To(Equal(int32(5)))
	}, wait).Should(Succeed())
	a := getApp(g, ns)
	g.Expect(a.Spec.RollbackTo).To(Equal(ptr.To[int32](1)), "scaling keeps the plugin's pin")
	g.Expect(*a.Spec.Processes[1].Replicas).To(Equal(int32(3)))
	g.Consistently(func(g Gomega) int32 { return getApp(g, ns).Status.LatestRelease }, 2*time.Second).Should(Equal(int32(2)))
	// Unpinning keeps the plugin's replicas.
	g.Expect(kubectl(ns, "unpin", "shop").code).To(Equal(0))
	g.Expect(*getApp(g, ns).Spec.Processes[0].Replicas).To(Equal(int32(5)))

	r = kubectl(ns, "scale", "shop", "api=2")
	g.Expect(r.code).To(Equal(plugin.ExitError))
	g.Expect(r.stderr).To(ContainSubstring(`no process type "api"`))
}

func TestConfigNamesKeysNotValues(t *testing.T) {
	needCluster(t)
	g := NewWithT(t)
	ns := namespace(t)
	g.Expect(env.Client.Create(ctx(), &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "shop-secrets", Namespace: ns},
		StringData: map[string]string{"API_TOKEN": "t0ps3cret"}})).To(Succeed())
	a := app(ns)
	a.Spec.Config.EnvFrom = []tfv1.EnvFromSource{{SecretRef: &tfv1.LocalObjectReference{Name: "shop-secrets"}}}
	g.Expect(env.Client.Create(ctx(), a)).To(Succeed())

	r := kubectl(ns, "config", "shop")
	g.Expect(r.code).To(Equal(0), r.stderr)
	g.Expect(r.stdout).To(MatchRegexp(`API_TOKEN\s+secret/shop-secrets`))
	g.Expect(r.stdout).To(MatchRegexp(`LOG_LEVEL\s+spec.config.env`))
	g.Expect(r.stdout).NotTo(ContainSubstring("t0ps3cret"))
	g.Expect(r.stdout).NotTo(ContainSubstring("info"))

	r = kubectl(ns, "config", "shop", "--show-values")
	g.Expect(r.stdout).To(MatchRegexp(`API_TOKEN\s+secret/shop-secrets\s+t0ps3cret`))
}

func TestStatusPrintsTheTwelveFactors(t *testing.T) {
	needCluster(t)
	g := NewWithT(t)
	ns := namespace(t)
	g.Expect(env.Client.Create(ctx(), app(ns))).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(getApp(g, ns).Status.Factors).To(HaveLen(12))
		g.Expect(getApp(g, ns).Status.Processes).To(HaveLen(2))
	}, wait).Should(Succeed())
	r := kubectl(ns, "status", "shop")
	g.Expect(r.code).To(Equal(0), r.stderr)
	_, factors, ok := strings.Cut(r.stdout, "=== Twelve factors\n")
	g.Expect(ok).To(BeTrue())
	rows := strings.Split(strings.TrimSpace(factors), "\n")
	g.Expect(rows).To(HaveLen(13)) // header and twelve factors
	g.Expect(rows[1]).To(HavePrefix("I Codebase"))
	g.Expect(rows[12]).To(HavePrefix("XII Admin processes"))
	g.Expect(r.stdout).To(MatchRegexp(`web\s+0/2`))
}

func TestRunExitsWithTheRunsResult(t *testing.T) {
	needCluster(t)
	g := NewWithT(t)
	ns := namespace(t)
	g.Expect(env.Client.Create(ctx(), app(ns))).To(Succeed())
	g.Eventually(func(g Gomega) int32 { return getApp(g, ns).Status.CurrentRelease }, wait).Should(Equal(int32(1)))

	for _, succeed := range []bool{true, false} {
		done := make(chan run, 1)
		go func() { done <- kubectl(ns, "run", "shop", "--timeout", "60s", "--", "rake", "db:seed") }()
		var job *batchv1.Job
		g.Eventually(func(g Gomega) {
			jobs := &batchv1.JobList{}
			g.Expect(env.Client.List(ctx(), jobs, client.InNamespace(ns))).To(Succeed())
			var pending []batchv1.Job
			for _, j := range jobs.Items {
				if len(j.Status.Conditions) == 0 {
					pending = append(pending, j)
				}
			}
			g.Expect(pending).To(HaveLen(1))
			job = &pending[0]
		}, wait).Should(Succeed())
		g.Expect(job.Spec.Template.Spec.Containers[0].Command).To(Equal([]string{"rake", "db:seed"}))
		finishJob(g, job, succeed)
		var r run
		g.Eventually(done, wait).Should(Receive(&r))
		if succeed {
			g.Expect(r.code).To(Equal(0), r.stderr)
			g.Expect(r.stdout).To(ContainSubstring("Run succeeded"))
		} else {
			g.Expect(r.code).To(Equal(plugin.ExitFail))
			g.Expect(r.stderr).To(ContainSubstring("Run failed"))
		}
	}
}

// finishJob writes a Job's terminal status, as the Job controller would.
func finishJob(g Gomega, job *batchv1.Job, succeed bool) {
	now := metav1.Now()
	job.Status.StartTime = &now
	if succeed {
		job.Status.Conditions = []batchv1.JobCondition{
			{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue, LastTransitionTime: now},
			{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, LastTransitionTime: now},
		}
		job.Status.Succeeded, job.Status.CompletionTime = 1, &now
	} else {
		job.Status.Conditions = []batchv1.JobCondition{
			{Type: batchv1.JobFailureTarget, Status: corev1.ConditionTrue, Reason: "BackoffLimitExceeded", LastTransitionTime: now},
			{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: "BackoffLimitExceeded", LastTransitionTime: now},
		}
		job.Status.Failed = 1
	}
	g.Expect(env.Client.Status().Update(ctx(), job)).To(Succeed())
}
