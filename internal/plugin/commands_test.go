package plugin_test

import (
	"context"
	"encoding/json"
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
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	ctrlzap "sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
	"github.com/twelvefactor/twelvefactor-operator/internal/controller"
	"github.com/twelvefactor/twelvefactor-operator/internal/plugin"
	"github.com/twelvefactor/twelvefactor-operator/internal/scheme"
	"github.com/twelvefactor/twelvefactor-operator/internal/testenv"
)

var (
	env *testenv.Env
	// kubeconfig is a kubeconfig file for envtest's admin user, passed to the
	// plugin with --kubeconfig as a user would.
	kubeconfig string
)

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		// lint needs no cluster; the cluster tests skip themselves.
		os.Exit(m.Run())
	}
	os.Exit(start(m))
}

// start runs envtest and the operator's manager in-process, as
// internal/controller's suite does, and writes a kubeconfig for the plugin.
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
	defer func() { _ = os.RemoveAll(dir) }()
	kubeconfig = filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kubeconfig, data, 0o600); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}

	ctrl.SetLogger(ctrlzap.New(ctrlzap.WriteTo(&testenv.SyncBuffer{})))
	mgr, err := ctrl.NewManager(env.Config, ctrl.Options{
		Scheme:  scheme.New(),
		Metrics: metricsserver.Options{BindAddress: "0"},
		Cache:   controller.CacheOptions(10 * time.Hour),
		Client:  controller.ClientOptions(),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := controller.Setup(mgr, controller.Config{
		Clock: clock.RealClock{}, DefaultPolicy: tfv1.PolicyWarn, AdminRunTTL: time.Hour,
		InsecureRegistries: true, RetryAfter: 2 * time.Second,
	}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := mgr.Start(ctx); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}()
	mgr.GetCache().WaitForCacheSync(ctx)
	code := m.Run()
	cancel()
	<-done
	return code
}

// kubectl runs `kubectl twelvefactor ARGS -n NS` against the test cluster.
func kubectl(ns string, args ...string) run {
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	code := plugin.Main(append([]string{"--kubeconfig", kubeconfig, "-n", ns}, args...), streams)
	return run{code: code, stdout: out.String(), stderr: errOut.String()}
}

func needCluster(t *testing.T) {
	t.Helper()
	if env == nil {
		t.Skip("needs a control plane (not under -short)")
	}
	t.Parallel()
}

func ctx() context.Context { return context.Background() }

func namespace(t *testing.T) string {
	t.Helper()
	ns := "plugin-" + rand.String(6)
	if err := env.Client.Create(ctx(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		t.Fatal(err)
	}
	return ns
}

const digest1 = "1111111111111111111111111111111111111111111111111111111111111111"

func newApp(ns string) *tfv1.TwelveFactorApp {
	return &tfv1.TwelveFactorApp{
		ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: ns},
		Spec: tfv1.TwelveFactorAppSpec{
			Build:  tfv1.BuildSpec{Image: "registry.example/shop@sha256:" + digest1, Revision: "abc1234"},
			Config: tfv1.ConfigSpec{Env: []tfv1.EnvVar{{Name: "LOG_LEVEL", Value: "info"}}},
			Processes: []tfv1.ProcessSpec{
				{Name: "web", Port: ptr.To[int32](8080), Replicas: ptr.To[int32](2)},
				{Name: "worker", Replicas: ptr.To[int32](1)},
			},
		},
	}
}

func deployment(g Gomega, ns, name string) *appsv1.Deployment {
	d := &appsv1.Deployment{}
	g.Expect(env.Client.Get(ctx(), client.ObjectKey{Namespace: ns, Name: name}, d)).To(Succeed())
	return d
}

// webRelease is the release label of the web Deployment's pod template.
func webRelease(g Gomega, ns string) string {
	return deployment(g, ns, "shop-web").Spec.Template.Labels[tfv1.LabelRelease]
}

func getApp(g Gomega, ns string) *tfv1.TwelveFactorApp {
	a := &tfv1.TwelveFactorApp{}
	g.Expect(env.Client.Get(ctx(), client.ObjectKey{Namespace: ns, Name: "shop"}, a)).To(Succeed())
	return a
}

func releaseCount(g Gomega, ns string) int {
	list := &tfv1.ReleaseList{}
	g.Expect(env.Client.List(ctx(), list, client.InNamespace(ns))).To(Succeed())
	return len(list.Items)
}

const wait = 30 * time.Second

// oneRelease creates the app and waits until v1 runs.
func oneRelease(g Gomega, ns string) {
	g.Expect(env.Client.Create(ctx(), newApp(ns))).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(webRelease(g, ns)).To(Equal("1"))
		g.Expect(getApp(g, ns).Status.CurrentRelease).To(Equal(int32(1)))
	}, wait).Should(Succeed())
}

// twoReleases makes v1 and v2 (a config change) and waits until v2 runs.
func twoReleases(g Gomega, ns string) {
	oneRelease(g, ns)
	g.Expect(env.Client.Patch(ctx(), newApp(ns), client.RawPatch(types.MergePatchType,
		[]byte(`{"spec":{"config":{"env":[{"name":"LOG_LEVEL","value":"debug"}]}}}`)))).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(webRelease(g, ns)).To(Equal("2"))
		g.Expect(getApp(g, ns).Status.CurrentRelease).To(Equal(int32(2)))
	}, wait).Should(Succeed())
}

func TestReleasesRollbackAndUnpin(t *testing.T) {
	needCluster(t)
	g := NewWithT(t)
	ns := namespace(t)
	twoReleases(g, ns)

	r := kubectl(ns, "releases", "shop")
	g.Expect(r.code).To(Equal(0), r.stderr)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	g.Expect(lines).To(HaveLen(4), r.stdout)
	g.Expect(lines[0]).To(MatchRegexp(`^VERSION\s+STATUS\s+DESCRIPTION\s+IMAGE\s+WHEN$`))
	g.Expect(lines[1]).To(MatchRegexp(`^v2\*\s+\S.*\s+Set LOG_LEVEL config\s+111111111111\s+\d+s$`))
	g.Expect(lines[2]).To(MatchRegexp(`^v1\s+\S.*\s+Deploy abc1234\s+111111111111\s+\d+s$`))
	g.Expect(lines[3]).To(Equal("* runs v2"))

	// rollback without --to goes to the release before the current one.
	r = kubectl(ns, "rollback", "shop")
	g.Expect(r.code).To(Equal(0), r.stderr)
	g.Expect(r.stdout).To(Equal("Rolled back shop to v1 (pinned; run `kubectl twelvefactor unpin shop` to return to the latest)\n"))
	g.Eventually(func(g Gomega) string { return webRelease(g, ns) }, wait).Should(Equal("1"))
	a := getApp(g, ns)
	g.Expect(a.Spec.RollbackTo).To(Equal(ptr.To[int32](1)))
	g.Expect(ownersOf(a, "rollbackTo")).To(ConsistOf(tfv1.PluginFieldManager))
	g.Eventually(func(g Gomega) string { return kubectl(ns, "releases", "shop").stdout }, wait).Should(And(
		MatchRegexp(`(?m)^v1\*\s+rolling out, pinned\s`), // no pods in envtest: never Available
		ContainSubstring("* runs v1, pinned by spec.rollbackTo=1 (the spec's latest is v2)")))

	// A release that does not exist is refused.
	r = kubectl(ns, "rollback", "shop", "--to", "9")
	g.Expect(r.code).To(Equal(plugin.ExitError))
	g.Expect(r.stderr).To(ContainSubstring("app shop has no release v9; available: v2, v1"))

	// unpin removes the plugin's pin.
	r = kubectl(ns, "unpin", "shop")
	g.Expect(r.code).To(Equal(0), r.stderr)
	g.Expect(r.stdout).To(ContainSubstring("Unpinned shop from v1"))
	g.Expect(getApp(g, ns).Spec.RollbackTo).To(BeNil())
	g.Eventually(func(g Gomega) string { return webRelease(g, ns) }, wait).Should(Equal("2"))
	r = kubectl(ns, "unpin", "shop")
	g.Expect(r.code).To(Equal(0), r.stderr)
	g.Expect(r.stdout).To(ContainSubstring("shop is not pinned"))

	// rollback --to 1 runs release 1's template again.
	r = kubectl(ns, "rollback", "shop", "--to", "1")
	g.Expect(r.code).To(Equal(0), r.stderr)
	g.Eventually(func(g Gomega) {
		d := deployment(g, ns, "shop-web")
		g.Expect(d.Spec.Template.Labels[tfv1.LabelRelease]).To(Equal("1"))
		g.Expect(d.Spec.Template.Spec.Containers[0].Env).To(ContainElement(corev1.EnvVar{Name: "RELEASE_VERSION", Value: "v1"}))
		g.Expect(d.Spec.Template.Spec.Containers[0].EnvFrom[0].SecretRef.Name).To(Equal("shop-v1-env"))
	}, wait).Should(Succeed())
	g.Expect(releaseCount(g, ns)).To(Equal(2), "a rollback makes no release")
}

func TestRollbackWithoutAnEarlierReleaseFails(t *testing.T) {
	needCluster(t)
	g := NewWithT(t)
	ns := namespace(t)
	oneRelease(g, ns)
	r := kubectl(ns, "rollback", "shop")
	g.Expect(r.code).To(Equal(plugin.ExitError))
	g.Expect(r.stderr).To(ContainSubstring("app shop runs v1 and has no earlier release to roll back to"))
	g.Expect(getApp(g, ns).Spec.RollbackTo).To(BeNil())

	r = kubectl(ns, "rollback", "nope")
	g.Expect(r.code).To(Equal(plugin.ExitError))
	g.Expect(r.stderr).To(ContainSubstring("app nope not found in namespace " + ns))
}

func TestUnpinLeavesAPinOwnedByAnotherManager(t *testing.T) {
	needCluster(t)
	cases := []struct {
		name  string
		owner string
		pin   func(ns string) error
	}{
		{"kubectl client-side apply", "kubectl-client-side-apply", func(ns string) error {
			return env.Client.Patch(ctx(), newApp(ns), client.RawPatch(types.MergePatchType, []byte(`{"spec":{"rollbackTo":1}}`)),
				client.FieldOwner("kubectl-client-side-apply"))
		}},
		{"Argo CD server-side apply", "argocd-controller", func(ns string) error {
			u := &unstructured.Unstructured{Object: map[string]any{
				"apiVersion": tfv1.GroupVersion.String(), "kind": "TwelveFactorApp",
				"metadata": map[string]any{"name": "shop", "namespace": ns},
				"spec":     map[string]any{"rollbackTo": int64(1)},
			}}
			return env.Client.Apply(ctx(), client.ApplyConfigurationFromUnstructured(u), client.FieldOwner("argocd-controller"), client.ForceOwnership)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := NewWithT(t)
			ns := namespace(t)
			twoReleases(g, ns)
			g.Expect(tc.pin(ns)).To(Succeed())
			g.Eventually(func(g Gomega) string { return webRelease(g, ns) }, wait).Should(Equal("1"))

			r := kubectl(ns, "unpin", "shop")
			g.Expect(r.code).To(Equal(plugin.ExitError))
			g.Expect(r.stderr).To(ContainSubstring(fmt.Sprintf(`spec.rollbackTo of shop (v1) is owned by %q, not by "kubectl-twelvefactor"`, tc.owner)))
			g.Expect(r.stderr).To(ContainSubstring("in Git, for a GitOps tool"))
			r = kubectl(ns, "rollback", "shop", "--to", "2")
			g.Expect(r.code).To(Equal(plugin.ExitError))
			g.Expect(r.stderr).To(ContainSubstring(fmt.Sprintf("is owned by %q", tc.owner)))

			a := getApp(g, ns)
			g.Expect(a.Spec.RollbackTo).To(Equal(ptr.To[int32](1)))
			g.Expect(ownersOf(a, "rollbackTo")).To(ConsistOf(tc.owner))
			g.Consistently(func(g Gomega) string { return webRelease(g, ns) }, time.Second).Should(Equal("1"))
		})
	}
}

func TestScaleMakesNoReleaseAndKeepsThePin(t *testing.T) {
	needCluster(t)
	g := NewWithT(t)
	ns := namespace(t)
	twoReleases(g, ns)
	g.Expect(kubectl(ns, "rollback", "shop", "--to", "1").code).To(Equal(0))
	g.Eventually(func(g Gomega) string { return webRelease(g, ns) }, wait).Should(Equal("1"))

	r := kubectl(ns, "scale", "shop", "web=5", "worker=3")
	g.Expect(r.code).To(Equal(0), r.stderr)
	g.Expect(r.stdout).To(Equal("Scaled shop: web=5, worker=3 (no new release)\n"))
	g.Eventually(func(g Gomega) {
		g.Expect(*deployment(g, ns, "shop-web").Spec.Replicas).To(Equal(int32(5)))
		g.Expect(*deployment(g, ns, "shop-worker").Spec.Replicas).To(Equal(int32(3)))
	}, wait).Should(Succeed())
	a := getApp(g, ns)
	g.Expect(a.Spec.RollbackTo).To(Equal(ptr.To[int32](1)), "scaling keeps the plugin's pin")
	g.Expect(a.Spec.Processes[0].Port).To(Equal(ptr.To[int32](8080)), "only replicas are applied")
	g.Consistently(func(g Gomega) {
		a := getApp(g, ns)
		g.Expect(a.Status.LatestRelease).To(Equal(int32(2)))
		g.Expect(a.Status.CurrentRelease).To(Equal(int32(1)))
		g.Expect(releaseCount(g, ns)).To(Equal(2))
		g.Expect(webRelease(g, ns)).To(Equal("1"))
	}, 3*time.Second).Should(Succeed())

	// Unpinning keeps the plugin's replicas, and scaling again keeps the others.
	g.Expect(kubectl(ns, "unpin", "shop").code).To(Equal(0))
	g.Expect(kubectl(ns, "scale", "shop", "worker=2").code).To(Equal(0))
	a = getApp(g, ns)
	g.Expect(a.Spec.RollbackTo).To(BeNil())
	g.Expect(*a.Spec.Processes[0].Replicas).To(Equal(int32(5)))
	g.Expect(*a.Spec.Processes[1].Replicas).To(Equal(int32(2)))

	// web- gives web's replicas back: the plugin owned them alone, so the
	// default applies.
	r = kubectl(ns, "scale", "shop", "web-")
	g.Expect(r.code).To(Equal(0), r.stderr)
	g.Expect(r.stdout).To(Equal("Gave back the replicas of shop web: the spec's value applies (no new release)\n"))
	a = getApp(g, ns)
	g.Expect(a.Spec.Processes[0].Replicas).To(BeNil())
	g.Expect(ownersOf(a, "processes", "web", "replicas")).To(BeEmpty())
	g.Eventually(func(g Gomega) int32 { return *deployment(g, ns, "shop-web").Spec.Replicas }, wait).Should(Equal(int32(1)))
	g.Expect(releaseCount(g, ns)).To(Equal(2))
	g.Expect(getApp(g, ns).Status.LatestRelease).To(Equal(int32(2)))
}

func TestScaleRefusesUnknownAndAutoscaledProcesses(t *testing.T) {
	needCluster(t)
	g := NewWithT(t)
	ns := namespace(t)
	a := newApp(ns)
	a.Spec.Processes[1].Replicas = nil
	a.Spec.Processes[1].Autoscaling = &tfv1.AutoscalingSpec{MaxReplicas: 4}
	g.Expect(env.Client.Create(ctx(), a)).To(Succeed())

	cases := []struct {
		args []string
		want string
	}{
		{[]string{"api=2"}, `app shop has no process type "api"; its process types are: web, worker`},
		{[]string{"worker=2"}, `process type "worker" of shop is autoscaled: change spec.processes[name=worker].autoscaling`},
		{[]string{"web=two"}, `"web=two" is not TYPE=N`},
		{[]string{"web=1001"}, `"web=1001" is not TYPE=N`},
	}
	for _, tc := range cases {
		r := kubectl(ns, append([]string{"scale", "shop"}, tc.args...)...)
		g.Expect(r.code).To(Equal(plugin.ExitError), "%v", tc.args)
		g.Expect(r.stderr).To(ContainSubstring(tc.want))
	}
	a = getApp(g, ns)
	g.Expect(a.Spec.Processes[1].Replicas).To(BeNil())
	g.Expect(*a.Spec.Processes[0].Replicas).To(Equal(int32(2)))
}

func TestScaleNotesAnotherOwnersReplicas(t *testing.T) {
	needCluster(t)
	g := NewWithT(t)
	ns := namespace(t)
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": tfv1.GroupVersion.String(), "kind": "TwelveFactorApp",
		"metadata": map[string]any{"name": "shop", "namespace": ns},
		"spec": map[string]any{
			"build":     map[string]any{"image": "registry.example/shop@sha256:" + digest1},
			"processes": []any{map[string]any{"name": "web", "port": int64(8080), "replicas": int64(2)}},
		},
	}}
	g.Expect(env.Client.Apply(ctx(), client.ApplyConfigurationFromUnstructured(u), client.FieldOwner("argocd-controller"))).To(Succeed())
	r := kubectl(ns, "scale", "shop", "web=4")
	g.Expect(r.code).To(Equal(0), r.stderr)
	g.Expect(r.stderr).To(ContainSubstring(`note: the replicas of web were set by "argocd-controller"; if it applies the app again`))
	a := getApp(g, ns)
	g.Expect(*a.Spec.Processes[0].Replicas).To(Equal(int32(4)))
	g.Expect(ownersOf(a, "processes", "web", "replicas")).To(ConsistOf(tfv1.PluginFieldManager))
	g.Expect(ownersOf(a, "processes", "web", "port")).To(ConsistOf("argocd-controller"))
}

func TestConfigNamesKeysNotValues(t *testing.T) {
	needCluster(t)
	g := NewWithT(t)
	ns := namespace(t)
	g.Expect(env.Client.Create(ctx(), &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "shop-secrets", Namespace: ns},
		StringData: map[string]string{"API_TOKEN": "t0ps3cret"}})).To(Succeed())
	g.Expect(env.Client.Create(ctx(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: ns},
		Data: map[string]string{"CURRENCY": "EUR", "LOG_LEVEL": "warn"}})).To(Succeed())
	g.Expect(env.Client.Create(ctx(), &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "shop-db", Namespace: ns},
		StringData: map[string]string{"type": "postgresql", "uri": "postgres://shop:pw-in-uri@db/shop"}})).To(Succeed())
	a := newApp(ns)
	a.Spec.Config.EnvFrom = []tfv1.EnvFromSource{
		{ConfigMapRef: &tfv1.LocalObjectReference{Name: "shop"}, Prefix: "SHOP_"},
		{ConfigMapRef: &tfv1.LocalObjectReference{Name: "shop"}},
		{SecretRef: &tfv1.LocalObjectReference{Name: "shop-secrets"}},
	}
	a.Spec.Services = []tfv1.BackingService{{Name: "db", SecretRef: &tfv1.LocalObjectReference{Name: "shop-db"},
		Env: []tfv1.BindingEnv{{Name: "DATABASE_URL", Key: "uri"}}}}
	g.Expect(env.Client.Create(ctx(), a)).To(Succeed())

	r := kubectl(ns, "config", "shop")
	g.Expect(r.code).To(Equal(0), r.stderr)
	g.Expect(strings.Split(strings.TrimSpace(r.stdout), "\n")).To(HaveExactElements(
		MatchRegexp(`^KEY\s+SOURCE$`),
		MatchRegexp(`^API_TOKEN\s+secret/shop-secrets$`),
		MatchRegexp(`^CURRENCY\s+configmap/shop$`),
		MatchRegexp(`^DATABASE_URL\s+binding/db key uri$`),
		MatchRegexp(`^LOG_LEVEL\s+spec.config.env$`),
		MatchRegexp(`^SHOP_CURRENCY\s+configmap/shop$`),
		MatchRegexp(`^SHOP_LOG_LEVEL\s+configmap/shop$`),
	))
	for _, value := range []string{"t0ps3cret", "EUR", "pw-in-uri", "postgres", "info", "warn"} {
		g.Expect(r.stdout+r.stderr).NotTo(ContainSubstring(value), "config printed a value without --show-values")
	}

	r = kubectl(ns, "config", "shop", "--show-values")
	g.Expect(r.code).To(Equal(0), r.stderr)
	g.Expect(r.stdout).To(MatchRegexp(`(?m)^KEY\s+SOURCE\s+VALUE$`))
	g.Expect(r.stdout).To(MatchRegexp(`(?m)^API_TOKEN\s+secret/shop-secrets\s+t0ps3cret$`))
	g.Expect(r.stdout).To(MatchRegexp(`(?m)^DATABASE_URL\s+binding/db key uri\s+postgres://shop:pw-in-uri@db/shop$`))
	g.Expect(r.stdout).To(MatchRegexp(`(?m)^LOG_LEVEL\s+spec.config.env\s+info$`))

	// A missing source is a warning, not a failure.
	g.Expect(env.Client.Delete(ctx(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: ns}})).To(Succeed())
	r = kubectl(ns, "config", "shop")
	g.Expect(r.code).To(Equal(0), r.stderr)
	g.Expect(r.stderr).To(ContainSubstring("warning: configmap/shop (spec.config.envFrom[0]) does not exist"))
	g.Expect(r.stdout).NotTo(ContainSubstring("CURRENCY"))
}

func TestStatusPrintsTheTwelveFactors(t *testing.T) {
	needCluster(t)
	g := NewWithT(t)
	ns := namespace(t)
	oneRelease(g, ns)
	g.Eventually(func(g Gomega) {
		a := getApp(g, ns)
		g.Expect(a.Status.Factors).To(HaveLen(12))
		g.Expect(a.Status.Processes).To(HaveLen(2))
	}, wait).Should(Succeed())
	r := kubectl(ns, "status", "shop")
	g.Expect(r.code).To(Equal(0), r.stderr)
	head, rest, ok := strings.Cut(r.stdout, "\n=== Processes\n")
	g.Expect(ok).To(BeTrue(), r.stdout)
	g.Expect(head).To(HavePrefix("=== shop\n"))
	g.Expect(head).To(MatchRegexp(`(?m)^Current release:\s+v1$`))
	g.Expect(head).To(MatchRegexp(`(?m)^Latest release:\s+v1$`))
	g.Expect(head).To(MatchRegexp(`(?m)^Pinned:\s+no$`))
	g.Expect(head).To(MatchRegexp(`(?m)^Ready:\s+False\s+\S+: .+$`)) // no pods in envtest
	g.Expect(head).To(MatchRegexp(`(?m)^Stalled:\s+False\s+\(nothing blocks the app\)$`))
	g.Expect(head).To(MatchRegexp(`(?m)^Reconciling:\s+True\s+RollingOut: .+$`))
	procs, factors, ok := strings.Cut(rest, "\n=== Twelve factors\n")
	g.Expect(ok).To(BeTrue(), r.stdout)
	g.Expect(procs).To(MatchRegexp(`(?m)^NAME\s+READY\s+UPDATED\s+RELEASE$`))
	g.Expect(procs).To(MatchRegexp(`(?m)^web\s+0/2\s+0\s+v1$`))
	g.Expect(procs).To(MatchRegexp(`(?m)^worker\s+0/1\s+0\s+v1$`))
	rows := strings.Split(strings.TrimSpace(factors), "\n")
	g.Expect(rows).To(HaveLen(13), factors) // a header and the twelve factors
	g.Expect(rows[0]).To(MatchRegexp(`^FACTOR\s+STATUS\s+REASON\s+MESSAGE$`))
	g.Expect(rows[1]).To(MatchRegexp(`^I Codebase\s+(Pass|Warn|Fail)\s+\S+`))
	g.Expect(rows[12]).To(MatchRegexp(`^XII Admin processes\s+(Pass|Warn|Fail)\s+\S+`))
}

// startRun runs `kubectl twelvefactor run` in the background and returns its
// result channel and the run's Job once the operator made it.
func startRun(g Gomega, ns string, args ...string) (chan run, *batchv1.Job) {
	done := make(chan run, 1)
	go func() { done <- kubectl(ns, append([]string{"run", "shop", "--timeout", "60s"}, args...)...) }()
	var job *batchv1.Job
	g.Eventually(func(g Gomega) {
		jobs := &batchv1.JobList{}
		g.Expect(env.Client.List(ctx(), jobs, client.InNamespace(ns))).To(Succeed())
		var fresh []batchv1.Job
		for _, j := range jobs.Items {
			if len(j.Status.Conditions) == 0 {
				fresh = append(fresh, j)
			}
		}
		g.Expect(fresh).To(HaveLen(1))
		job = &fresh[0]
	}, wait).Should(Succeed())
	return done, job
}

func TestRunExitsWithTheRunsResult(t *testing.T) {
	needCluster(t)
	g := NewWithT(t)
	ns := namespace(t)
	oneRelease(g, ns)

	for _, succeed := range []bool{true, false} {
		done, job := startRun(g, ns, "--", "rake", "db:seed")
		g.Expect(job.Name).To(MatchRegexp(`^shop-run-[a-z0-9]{5}-run$`))
		g.Expect(job.Spec.Template.Spec.Containers[0].Command).To(Equal([]string{"rake", "db:seed"}))
		time.Sleep(time.Second) // the plugin polls twice a second: let it see Pending
		finishJob(g, job, succeed)
		var r run
		g.Eventually(done, wait).Should(Receive(&r))
		g.Expect(r.stdout).To(MatchRegexp(`^Running .rake db:seed. on shop from the current release as adminrun/shop-run-[a-z0-9]{5}\n`))
		g.Expect(r.stdout).To(ContainSubstring("\n  Pending (release v1)\n"))
		if succeed {
			g.Expect(r.code).To(Equal(0), r.stderr)
			g.Expect(r.stdout).To(HaveSuffix("  Succeeded (release v1)\nRun succeeded: adminrun/" + strings.TrimSuffix(job.Name, "-run") + "\n"))
		} else {
			g.Expect(r.code).To(Equal(plugin.ExitFail), r.stderr)
			g.Expect(r.stderr).To(MatchRegexp(`Run failed: adminrun/shop-run-[a-z0-9]{5}: The run.s command failed \(BackoffLimitExceeded\)`))
		}
	}
}

func TestRunWaitsWhenThePodsLogsAreUnavailable(t *testing.T) {
	needCluster(t)
	g := NewWithT(t)
	ns := namespace(t)
	oneRelease(g, ns)

	done, job := startRun(g, ns, "--serial", "--", "rake", "stats")
	g.Expect(job.Labels).To(HaveKeyWithValue("twelvefactor.dev/serial", "true"))
	// The Job controller would create a pod and mark the Job active. The pod
	// is bound to a node that has no kubelet, so its logs cannot be read.
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: job.Name + "-x1y2z", Namespace: ns,
			Labels: map[string]string{"batch.kubernetes.io/job-name": job.Name}},
		Spec: corev1.PodSpec{NodeName: "no-such-node",
			Containers: []corev1.Container{{Name: "run", Image: "registry.example/shop@sha256:" + digest1}}},
	}
	g.Expect(env.Client.Create(ctx(), pod)).To(Succeed())
	pod.Status.Phase = corev1.PodRunning
	g.Expect(env.Client.Status().Update(ctx(), pod)).To(Succeed())
	now := metav1.Now()
	job.Status.StartTime, job.Status.Active = &now, 1
	g.Expect(env.Client.Status().Update(ctx(), job)).To(Succeed())
	g.Eventually(func(g Gomega) {
		ar := &tfv1.AdminRun{}
		g.Expect(env.Client.Get(ctx(), client.ObjectKey{Namespace: ns, Name: strings.TrimSuffix(job.Name, "-run")}, ar)).To(Succeed())
		g.Expect(ar.Status.Phase).To(Equal(tfv1.PhaseRunning))
		g.Expect(ar.Status.PodName).To(Equal(pod.Name))
	}, wait).Should(Succeed())
	g.Consistently(done, 2*time.Second).ShouldNot(Receive(), "the run waits although the logs are unavailable")

	g.Expect(env.Client.Get(ctx(), client.ObjectKeyFromObject(job), job)).To(Succeed())
	finishJob(g, job, true)
	var r run
	g.Eventually(done, wait).Should(Receive(&r))
	g.Expect(r.code).To(Equal(0), r.stderr)
	g.Expect(r.stdout).To(ContainSubstring("\n  Running (release v1)\n  pod/" + pod.Name + "\n"))
	g.Expect(r.stderr).To(ContainSubstring("  (logs of pod " + pod.Name + " are not available yet: "))
	g.Expect(r.stderr).To(ContainSubstring("; still waiting for the run)\n"))
	g.Expect(r.stdout).To(ContainSubstring("Run succeeded"))
}

func TestRunFailsWithTheOperatorsMessage(t *testing.T) {
	needCluster(t)
	g := NewWithT(t)
	ns := namespace(t)
	oneRelease(g, ns)

	r := kubectl(ns, "run", "shop", "--release", "9", "--timeout", "30s", "--", "rake", "stats")
	g.Expect(r.code).To(Equal(plugin.ExitFail), r.stderr)
	g.Expect(r.stderr).To(ContainSubstring("Release v9 of app \"shop\" does not exist"))

	r = kubectl(ns, "run", "nope", "--", "rake", "stats")
	g.Expect(r.code).To(Equal(plugin.ExitError))
	g.Expect(r.stderr).To(ContainSubstring("app nope not found in namespace " + ns))

	r = kubectl(ns, "run", "shop")
	g.Expect(r.code).To(Equal(plugin.ExitError))
	g.Expect(r.stderr).To(ContainSubstring("a command is required"))

	// --timeout stops waiting with exit 2; the run itself goes on.
	r = kubectl(ns, "run", "shop", "--timeout", "1s", "--", "sleep", "60")
	g.Expect(r.code).To(Equal(plugin.ExitError), r.stderr)
	g.Expect(r.stderr).To(ContainSubstring("Stopped waiting (timed out); the run goes on: kubectl get adminrun shop-run-"))
}

// finishJob writes a Job's terminal status, as the Job controller would.
func finishJob(g Gomega, job *batchv1.Job, succeed bool) {
	now := metav1.Now()
	if job.Status.StartTime == nil {
		job.Status.StartTime = &now
	}
	job.Status.Active = 0
	if succeed {
		job.Status.Conditions = []batchv1.JobCondition{
			{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue, Reason: "CompletionsReached", LastTransitionTime: now},
			{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, Reason: "CompletionsReached", LastTransitionTime: now},
		}
		job.Status.Succeeded, job.Status.CompletionTime = 1, &now
	} else {
		job.Status.Conditions = []batchv1.JobCondition{
			{Type: batchv1.JobFailureTarget, Status: corev1.ConditionTrue, Reason: "BackoffLimitExceeded", LastTransitionTime: now},
			{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: "BackoffLimitExceeded",
				Message: "Job has reached the specified backoff limit", LastTransitionTime: now},
		}
		job.Status.Failed = 1
	}
	g.Expect(env.Client.Status().Update(ctx(), job)).To(Succeed())
}

// ownersOf returns the field managers of a spec field: "rollbackTo", or
// "processes", NAME, FIELD for a field of a process entry.
func ownersOf(app *tfv1.TwelveFactorApp, path ...string) []string {
	var fields []string
	switch {
	case len(path) == 3 && path[0] == "processes":
		fields = []string{"f:spec", "f:processes", `k:{"name":"` + path[1] + `"}`, "f:" + path[2]}
	default:
		fields = []string{"f:spec", "f:" + path[0]}
	}
	var out []string
	for _, mf := range app.ManagedFields {
		if mf.Subresource != "" || mf.FieldsV1 == nil {
			continue
		}
		var node map[string]any
		if err := json.Unmarshal(mf.FieldsV1.GetRawBytes(), &node); err != nil {
			continue
		}
		found := true
		for _, f := range fields {
			child, ok := node[f].(map[string]any)
			if !ok {
				found = false
				break
			}
			node = child
		}
		if found {
			out = append(out, mf.Manager)
		}
	}
	return out
}
