package v1alpha1_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
	"github.com/twelvefactor/twelvefactor-operator/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(0)
	}
	var err error
	env, err = testenv.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	_ = env.Stop()
	os.Exit(code)
}

func validApp(name string) *tfv1.TwelveFactorApp {
	return &tfv1.TwelveFactorApp{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: tfv1.TwelveFactorAppSpec{
			Build: tfv1.BuildSpec{Image: "registry.example/shop:1.0"},
			Processes: []tfv1.ProcessSpec{
				{Name: "web", Port: ptr.To[int32](8080), Replicas: ptr.To[int32](2)},
			},
		},
	}
}

func TestInvalidAppsAreRejectedWithTheFieldNamed(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(a *tfv1.TwelveFactorApp)
		want   string
	}{
		{"app name longer than 40", func(a *tfv1.TwelveFactorApp) { a.Name = strings.Repeat("a", 41) }, "metadata.name must be at most 40 characters"},
		{"app name not a DNS label", func(a *tfv1.TwelveFactorApp) { a.Name = "1shop" }, "metadata.name must be a DNS label"},
		{"process name not a DNS label", func(a *tfv1.TwelveFactorApp) { a.Spec.Processes[0].Name = "Web_1" }, "spec.processes[0].name"},
		{"process name too long", func(a *tfv1.TwelveFactorApp) { a.Spec.Processes[0].Name = strings.Repeat("w", 21) }, "spec.processes[0].name"},
		{"duplicate process names", func(a *tfv1.TwelveFactorApp) {
			a.Spec.Processes = append(a.Spec.Processes, tfv1.ProcessSpec{Name: "web"})
		}, "spec.processes[1]: Duplicate value"},
		{"no processes", func(a *tfv1.TwelveFactorApp) { a.Spec.Processes = nil }, "spec.processes"},
		{"port 0", func(a *tfv1.TwelveFactorApp) { a.Spec.Processes[0].Port = ptr.To[int32](0) }, "spec.processes[0].port"},
		{"port 70000", func(a *tfv1.TwelveFactorApp) { a.Spec.Processes[0].Port = ptr.To[int32](70000) }, "spec.processes[0].port"},
		{"negative replicas", func(a *tfv1.TwelveFactorApp) { a.Spec.Processes[0].Replicas = ptr.To[int32](-1) }, "spec.processes[0].replicas"},
		{"replicas and autoscaling", func(a *tfv1.TwelveFactorApp) {
			a.Spec.Processes[0].Autoscaling = &tfv1.AutoscalingSpec{MaxReplicas: 5}
		}, "spec.processes[]: replicas and autoscaling are mutually exclusive"},
		{"autoscaling min above max", func(a *tfv1.TwelveFactorApp) {
			a.Spec.Processes[0].Replicas = nil
			a.Spec.Processes[0].Autoscaling = &tfv1.AutoscalingSpec{MinReplicas: ptr.To[int32](6), MaxReplicas: 5}
		}, "minReplicas must not exceed maxReplicas"},
		{"rollbackTo 0", func(a *tfv1.TwelveFactorApp) { a.Spec.RollbackTo = ptr.To[int32](0) }, "spec.rollbackTo"},
		{"historyLimit 0", func(a *tfv1.TwelveFactorApp) { a.Spec.Release = &tfv1.ReleasePhaseSpec{HistoryLimit: ptr.To[int32](0)} }, "spec.release.historyLimit"},
		{"historyLimit 1000", func(a *tfv1.TwelveFactorApp) {
			a.Spec.Release = &tfv1.ReleasePhaseSpec{HistoryLimit: ptr.To[int32](1000)}
		}, "spec.release.historyLimit"},
		{"image with spaces", func(a *tfv1.TwelveFactorApp) { a.Spec.Build.Image = "shop: 1.0" }, "spec.build.image must not contain whitespace"},
		{"empty image", func(a *tfv1.TwelveFactorApp) { a.Spec.Build.Image = "" }, "spec.build.image"},
		{"env name with a dash", func(a *tfv1.TwelveFactorApp) { a.Spec.Config.Env = []tfv1.EnvVar{{Name: "LOG-LEVEL", Value: "x"}} }, "spec.config.env[0].name"},
		{"duplicate env names", func(a *tfv1.TwelveFactorApp) {
			a.Spec.Config.Env = []tfv1.EnvVar{{Name: "A", Value: "1"}, {Name: "A", Value: "2"}}
		}, "spec.config.env[1]: Duplicate value"},
		{"envFrom with both refs", func(a *tfv1.TwelveFactorApp) {
			a.Spec.Config.EnvFrom = []tfv1.EnvFromSource{{ConfigMapRef: &tfv1.LocalObjectReference{Name: "a"}, SecretRef: &tfv1.LocalObjectReference{Name: "b"}}}
		}, "exactly one of configMapRef or secretRef"},
		{"service with both refs", func(a *tfv1.TwelveFactorApp) {
			a.Spec.Services = []tfv1.BackingService{{Name: "db", SecretRef: &tfv1.LocalObjectReference{Name: "db"}, ServiceRef: &tfv1.ServiceReference{APIVersion: "v1", Kind: "X", Name: "y"}}}
		}, "exactly one of secretRef or serviceRef"},
		{"duplicate service names", func(a *tfv1.TwelveFactorApp) {
			a.Spec.Services = []tfv1.BackingService{{Name: "db", SecretRef: &tfv1.LocalObjectReference{Name: "a"}}, {Name: "db", SecretRef: &tfv1.LocalObjectReference{Name: "b"}}}
		}, "spec.services[1]: Duplicate value"},
		{"service name not a DNS label", func(a *tfv1.TwelveFactorApp) {
			a.Spec.Services = []tfv1.BackingService{{Name: "DB", SecretRef: &tfv1.LocalObjectReference{Name: "a"}}}
		}, "spec.services[0].name"},
		{"10,000 env vars", func(a *tfv1.TwelveFactorApp) {
			for i := range 10000 {
				a.Spec.Config.Env = append(a.Spec.Config.Env, tfv1.EnvVar{Name: fmt.Sprintf("V%d", i), Value: "x"})
			}
		}, "spec.config.env: Too many"},
		{"a 1 MiB env value", func(a *tfv1.TwelveFactorApp) {
			a.Spec.Config.Env = []tfv1.EnvVar{{Name: "BIG", Value: strings.Repeat("x", 1<<20)}}
		}, "spec.config.env[0].value: Too long"},
		{"unicode app name", func(a *tfv1.TwelveFactorApp) { a.Name = "shöp" }, "metadata.name"},
		{"app name with a dot", func(a *tfv1.TwelveFactorApp) { a.Name = "shop.v2" }, "metadata.name must be a DNS label"},
		{"unicode process name", func(a *tfv1.TwelveFactorApp) { a.Spec.Processes[0].Name = "wéb" }, "spec.processes[0].name"},
		{"unicode env name", func(a *tfv1.TwelveFactorApp) { a.Spec.Config.Env = []tfv1.EnvVar{{Name: "ÄPI", Value: "x"}} }, "spec.config.env[0].name"},
		{"image with a newline", func(a *tfv1.TwelveFactorApp) { a.Spec.Build.Image = "shop:1.0\nevil" }, "spec.build.image must not contain whitespace"},
		{"image longer than 512", func(a *tfv1.TwelveFactorApp) { a.Spec.Build.Image = strings.Repeat("a", 513) }, "spec.build.image"},
		{"revision with spaces", func(a *tfv1.TwelveFactorApp) { a.Spec.Build.Revision = "abc def" }, "spec.build.revision"},
		{"negative rollbackTo", func(a *tfv1.TwelveFactorApp) { a.Spec.RollbackTo = ptr.To[int32](-1) }, "spec.rollbackTo"},
		{"1001 replicas", func(a *tfv1.TwelveFactorApp) { a.Spec.Processes[0].Replicas = ptr.To[int32](1001) }, "spec.processes[0].replicas"},
		{"autoscaling maxReplicas 0", func(a *tfv1.TwelveFactorApp) {
			a.Spec.Processes[0].Replicas = nil
			a.Spec.Processes[0].Autoscaling = &tfv1.AutoscalingSpec{MaxReplicas: 0}
		}, "spec.processes[0].autoscaling.maxReplicas"},
		{"CPU target above 100", func(a *tfv1.TwelveFactorApp) {
			a.Spec.Processes[0].Replicas = nil
			a.Spec.Processes[0].Autoscaling = &tfv1.AutoscalingSpec{MaxReplicas: 3, TargetCPUUtilizationPercentage: ptr.To[int32](101)}
		}, "spec.processes[0].autoscaling.targetCPUUtilizationPercentage"},
		{"grace period 0", func(a *tfv1.TwelveFactorApp) {
			a.Spec.Shutdown = &tfv1.ShutdownSpec{GracePeriodSeconds: ptr.To[int64](0)}
		}, "spec.shutdown.gracePeriodSeconds"},
		{"negative preStop sleep", func(a *tfv1.TwelveFactorApp) {
			a.Spec.Shutdown = &tfv1.ShutdownSpec{PreStopSleepSeconds: ptr.To[int64](-1)}
		}, "spec.shutdown.preStopSleepSeconds"},
		{"progress deadline 0", func(a *tfv1.TwelveFactorApp) {
			a.Spec.Rollout = &tfv1.RolloutSpec{ProgressDeadlineSeconds: ptr.To[int32](0)}
		}, "spec.rollout.progressDeadlineSeconds"},
		{"envFrom prefix starting with a digit", func(a *tfv1.TwelveFactorApp) {
			a.Spec.Config.EnvFrom = []tfv1.EnvFromSource{{ConfigMapRef: &tfv1.LocalObjectReference{Name: "a"}, Prefix: "1X"}}
		}, "spec.config.envFrom[0].prefix"},
		{"envFrom with a bad name", func(a *tfv1.TwelveFactorApp) {
			a.Spec.Config.EnvFrom = []tfv1.EnvFromSource{{ConfigMapRef: &tfv1.LocalObjectReference{Name: "Bad_Name"}}}
		}, "spec.config.envFrom[0].configMapRef.name"},
		{"envFrom with no ref", func(a *tfv1.TwelveFactorApp) { a.Spec.Config.EnvFrom = []tfv1.EnvFromSource{{Prefix: "A"}} }, "exactly one of configMapRef or secretRef"},
		{"binding env with a bad name", func(a *tfv1.TwelveFactorApp) {
			a.Spec.Services = []tfv1.BackingService{{Name: "db", SecretRef: &tfv1.LocalObjectReference{Name: "db"}, Env: []tfv1.BindingEnv{{Name: "DB-URL", Key: "uri"}}}}
		}, "spec.services[0].env[0].name"},
		{"serviceRef without a kind", func(a *tfv1.TwelveFactorApp) {
			a.Spec.Services = []tfv1.BackingService{{Name: "db", ServiceRef: &tfv1.ServiceReference{APIVersion: "v1", Name: "x"}}}
		}, "spec.services[0].serviceRef.kind"},
		{"service with no ref", func(a *tfv1.TwelveFactorApp) { a.Spec.Services = []tfv1.BackingService{{Name: "db"}} }, "exactly one of secretRef or serviceRef"},
		{"17 processes", func(a *tfv1.TwelveFactorApp) {
			for i := range 16 {
				a.Spec.Processes = append(a.Spec.Processes, tfv1.ProcessSpec{Name: fmt.Sprintf("p%d", i)})
			}
		}, "spec.processes: Too many"},
		{"33 services", func(a *tfv1.TwelveFactorApp) {
			for i := range 33 {
				a.Spec.Services = append(a.Spec.Services, tfv1.BackingService{Name: fmt.Sprintf("s%d", i), SecretRef: &tfv1.LocalObjectReference{Name: "x"}})
			}
		}, "spec.services: Too many"},
		{"a command argument longer than 1024", func(a *tfv1.TwelveFactorApp) { a.Spec.Processes[0].Command = []string{strings.Repeat("x", 1025)} }, "spec.processes[0].command[0]"},
		{"duplicate imagePullSecrets", func(a *tfv1.TwelveFactorApp) {
			a.Spec.ImagePullSecrets = []tfv1.LocalObjectReference{{Name: "ghcr"}, {Name: "ghcr"}}
		}, "spec.imagePullSecrets[1]: Duplicate value"},
		{"release backoffLimit 11", func(a *tfv1.TwelveFactorApp) {
			a.Spec.Release = &tfv1.ReleasePhaseSpec{BackoffLimit: ptr.To[int32](11)}
		}, "spec.release.backoffLimit"},
		{"65 release command items", func(a *tfv1.TwelveFactorApp) {
			a.Spec.Release = &tfv1.ReleasePhaseSpec{Command: make([]string, 65)}
		}, "spec.release.command: Too many"},
		{"promotion from a name longer than 40", func(a *tfv1.TwelveFactorApp) { a.Spec.Promotion = &tfv1.PromotionSpec{From: strings.Repeat("a", 41)} }, "spec.promotion.from"},
		{"empty process name", func(a *tfv1.TwelveFactorApp) { a.Spec.Processes[0].Name = "" }, "spec.processes[0].name"},
	}
	if len(cases) < 40 {
		t.Fatalf("the catalogue must hold at least 40 invalid specs, has %d", len(cases))
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			app := validApp("bad")
			tc.mutate(app)
			err := env.Client.Create(context.Background(), app, client.DryRunAll)
			g.Expect(err).To(HaveOccurred())
			g.Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want Invalid, got %v", err)
			g.Expect(err.Error()).To(ContainSubstring(tc.want))
		})
	}
}

func TestReleaseAndAdminRunSpecsAreImmutable(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	rel := &tfv1.Release{
		ObjectMeta: metav1.ObjectMeta{Name: "shop-v1", Namespace: "default"},
		Spec: tfv1.ReleaseSpec{App: "shop", Number: 1, Image: "registry.example/shop@sha256:" + strings.Repeat("a", 64),
			EnvSecretName: "shop-v1-env", ContentHash: "abc"},
	}
	g.Expect(env.Client.Create(ctx, rel)).To(Succeed())
	rel.Spec.Image = "registry.example/other@sha256:" + strings.Repeat("b", 64)
	err := env.Client.Update(ctx, rel)
	g.Expect(err).To(HaveOccurred())
	g.Expect(err.Error()).To(ContainSubstring("spec is immutable"))

	run := &tfv1.AdminRun{
		ObjectMeta: metav1.ObjectMeta{Name: "console", Namespace: "default"},
		Spec:       tfv1.AdminRunSpec{App: "shop", Command: []string{"rake", "stats"}},
	}
	g.Expect(env.Client.Create(ctx, run)).To(Succeed())
	run.Spec.Command = []string{"rake", "db:drop"}
	err = env.Client.Update(ctx, run)
	g.Expect(err).To(HaveOccurred())
	g.Expect(err.Error()).To(ContainSubstring("spec is immutable"))
}

func TestSamplesAreAccepted(t *testing.T) {
	g := NewWithT(t)
	files, err := filepath.Glob(filepath.Join(testenv.RepoRoot(), "config", "samples", "twelvefactor_*.yaml"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(files).NotTo(BeEmpty())
	for _, f := range files {
		data, err := os.ReadFile(f)
		g.Expect(err).NotTo(HaveOccurred())
		for _, doc := range strings.Split(string(data), "\n---\n") {
			u := &unstructured.Unstructured{}
			g.Expect(yaml.Unmarshal([]byte(doc), &u.Object)).To(Succeed())
			if len(u.Object) == 0 {
				continue
			}
			u.SetNamespace("default")
			g.Expect(env.Client.Create(context.Background(), u, client.DryRunAll)).To(Succeed(), "%s: %s", f, u.GetName())
		}
	}
}
