package v1alpha1_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
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
		os.Exit(m.Run())
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
	testenv.SkipIfShort(t)
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
		{"a binding variable set by two services", func(a *tfv1.TwelveFactorApp) {
			a.Spec.Services = []tfv1.BackingService{
				{Name: "db", SecretRef: &tfv1.LocalObjectReference{Name: "db"}, Env: []tfv1.BindingEnv{{Name: "DATABASE_URL", Key: "uri"}}},
				{Name: "replica", SecretRef: &tfv1.LocalObjectReference{Name: "replica"}, Env: []tfv1.BindingEnv{{Name: "REPLICA_URL", Key: "uri"}, {Name: "DATABASE_URL", Key: "uri"}}},
			}
		}, "spec.services[].env: variable DATABASE_URL is set by two or more backing services; each name may be set once"},
		{"a binding variable set by three services", func(a *tfv1.TwelveFactorApp) {
			for _, n := range []string{"a", "b", "c"} {
				a.Spec.Services = append(a.Spec.Services, tfv1.BackingService{Name: n, SecretRef: &tfv1.LocalObjectReference{Name: n},
					Env: []tfv1.BindingEnv{{Name: "CACHE_URL", Key: "uri"}}})
			}
		}, "spec.services[].env: variable CACHE_URL is set by two or more backing services"},
		{"a binding variable named PORT", func(a *tfv1.TwelveFactorApp) {
			a.Spec.Services = []tfv1.BackingService{{Name: "db", SecretRef: &tfv1.LocalObjectReference{Name: "db"}, Env: []tfv1.BindingEnv{{Name: "PORT", Key: "port"}}}}
		}, "spec.services[0].env[0].name: Invalid value: spec.services[].env[].name: PORT is set by the operator in every pod"},
		{"one binding variable set twice among 32 services of 32 variables", func(a *tfv1.TwelveFactorApp) {
			for i := range 32 {
				s := tfv1.BackingService{Name: fmt.Sprintf("s%d", i), SecretRef: &tfv1.LocalObjectReference{Name: "x"}}
				for j := range 32 {
					s.Env = append(s.Env, tfv1.BindingEnv{Name: fmt.Sprintf("S%d_V%d", i, j), Key: "k"})
				}
				a.Spec.Services = append(a.Spec.Services, s)
			}
			a.Spec.Services[31].Env[31].Name = "S0_V0"
		}, "spec.services[].env: variable S0_V0 is set by two or more backing services"},
		{"an image with an uppercase repository", func(a *tfv1.TwelveFactorApp) { a.Spec.Build.Image = "Acme/Shop:1.0" }, "spec.build.image must be an image reference"},
		{"an image with a 3-character digest", func(a *tfv1.TwelveFactorApp) { a.Spec.Build.Image = "registry.example/shop@sha256:abc" }, "spec.build.image must be an image reference"},
		{"an image with an uppercase digest", func(a *tfv1.TwelveFactorApp) {
			a.Spec.Build.Image = "registry.example/shop@sha256:" + strings.Repeat("A", 64)
		}, "spec.build.image must be an image reference"},
		{"an image with a sha512 digest", func(a *tfv1.TwelveFactorApp) {
			a.Spec.Build.Image = "registry.example/shop@sha512:" + strings.Repeat("a", 128)
		}, "spec.build.image must be an image reference"},
		{"an image with an empty path component", func(a *tfv1.TwelveFactorApp) { a.Spec.Build.Image = "registry.example//shop:1.0" }, "spec.build.image must be an image reference"},
		{"an image ending in a slash", func(a *tfv1.TwelveFactorApp) { a.Spec.Build.Image = "registry.example/shop/" }, "spec.build.image must be an image reference"},
		{"an image with an empty tag", func(a *tfv1.TwelveFactorApp) { a.Spec.Build.Image = "registry.example/shop:" }, "spec.build.image must be an image reference"},
		{"an image with a tag of 129 characters", func(a *tfv1.TwelveFactorApp) {
			a.Spec.Build.Image = "registry.example/shop:" + strings.Repeat("t", 129)
		}, "spec.build.image must be an image reference"},
		{"an image with a tag starting with a dot", func(a *tfv1.TwelveFactorApp) { a.Spec.Build.Image = "registry.example/shop:.1" }, "spec.build.image must be an image reference"},
		{"an image with a path component starting with a separator", func(a *tfv1.TwelveFactorApp) { a.Spec.Build.Image = "registry.example/-shop:1.0" }, "spec.build.image must be an image reference"},
		{"an image with an uppercase first component that is no host", func(a *tfv1.TwelveFactorApp) { a.Spec.Build.Image = "Acme/shop:1.0" }, "spec.build.image must be an image reference"},
		{"an image with a scheme", func(a *tfv1.TwelveFactorApp) { a.Spec.Build.Image = "https://registry.example/shop:1.0" }, "spec.build.image must be an image reference"},
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

// TestEdgesOfTheRulesAreAccepted holds the near misses of the rules above: specs
// that sit on a rule's boundary and must be admitted.
func TestEdgesOfTheRulesAreAccepted(t *testing.T) {
	testenv.SkipIfShort(t)
	digest := "sha256:" + strings.Repeat("0123456789abcdef", 4)
	binding := func(name string, env ...string) tfv1.BackingService {
		s := tfv1.BackingService{Name: name, SecretRef: &tfv1.LocalObjectReference{Name: name}}
		for _, e := range env {
			s.Env = append(s.Env, tfv1.BindingEnv{Name: e, Key: "uri"})
		}
		return s
	}
	cases := []struct {
		name   string
		mutate func(a *tfv1.TwelveFactorApp)
	}{
		{"binding variables with distinct names", func(a *tfv1.TwelveFactorApp) {
			a.Spec.Services = []tfv1.BackingService{binding("db", "DATABASE_URL"), binding("replica", "REPLICA_URL"), binding("cache")}
		}},
		{"a binding variable that spec.config.env also sets", func(a *tfv1.TwelveFactorApp) {
			a.Spec.Config.Env = []tfv1.EnvVar{{Name: "DATABASE_URL", Value: "x"}}
			a.Spec.Services = []tfv1.BackingService{binding("db", "DATABASE_URL")}
		}},
		{"binding variables that differ from reserved names by case or suffix", func(a *tfv1.TwelveFactorApp) {
			a.Spec.Services = []tfv1.BackingService{binding("db", "port", "PORT_NUMBER", "DB_APP_NAME", "SERVICE_BINDING_ROOT_DIR")}
		}},
		{"reserved names in spec.config.env", func(a *tfv1.TwelveFactorApp) {
			for _, n := range tfv1.ReservedEnvNames {
				a.Spec.Config.Env = append(a.Spec.Config.Env, tfv1.EnvVar{Name: n, Value: "x"})
			}
		}},
		{"32 services with 32 distinct binding variables each", func(a *tfv1.TwelveFactorApp) {
			for i := range 32 {
				s := binding(fmt.Sprintf("s%d", i))
				for j := range 32 {
					s.Env = append(s.Env, tfv1.BindingEnv{Name: fmt.Sprintf("S%d_V%d", i, j), Key: "k"})
				}
				a.Spec.Services = append(a.Spec.Services, s)
			}
		}},
	}
	for _, image := range []string{
		"shop",
		"shop:latest",
		"ghcr.io/acme/shop:1.0",
		"ghcr.io/acme/shop:1.4.2@" + digest,
		"registry.example/shop@" + digest,
		"localhost:5000/a/b@" + digest,
		"127.0.0.1:5000/acme/shop:1.4.2",
		"[::1]:5000/acme/shop:1",
		"Registry.Example:443/acme/shop:1",
		"registry:5000/shop:1",
		"acme/shop:1.0",
		"registry.example/kwok-never-ready/shop@" + digest,
		"registry.example/a.b/c_d/e__f/g--h:v1.2_3-rc.4",
		"registry.example/shop:" + strings.Repeat("t", 128),
		"registry.example/shop:_1",
	} {
		cases = append(cases, struct {
			name   string
			mutate func(a *tfv1.TwelveFactorApp)
		}{"image " + image, func(a *tfv1.TwelveFactorApp) { a.Spec.Build.Image = image }})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			app := validApp("edge")
			tc.mutate(app)
			g.Expect(env.Client.Create(context.Background(), app, client.DryRunAll)).To(Succeed())
		})
	}
}

// TestReservedEnvNamesAreRefusedForBindings keeps ReservedEnvNames and the CEL
// rule that spells them out in step: each name is refused, and the rule names
// no other.
func TestReservedEnvNamesAreRefusedForBindings(t *testing.T) {
	testenv.SkipIfShort(t)
	g := NewWithT(t)
	for _, name := range tfv1.ReservedEnvNames {
		app := validApp("reserved")
		app.Spec.Services = []tfv1.BackingService{{Name: "db", SecretRef: &tfv1.LocalObjectReference{Name: "db"},
			Env: []tfv1.BindingEnv{{Name: "DATABASE_URL", Key: "uri"}, {Name: name, Key: "x"}}}}
		err := env.Client.Create(context.Background(), app, client.DryRunAll)
		g.Expect(apierrors.IsInvalid(err)).To(BeTrue(), "%s: want Invalid, got %v", name, err)
		g.Expect(err.Error()).To(ContainSubstring("spec.services[0].env[1].name"), name)
		g.Expect(err.Error()).To(ContainSubstring("spec.services[].env[].name: " + name + " is set by the operator in every pod"))
	}

	data, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "config", "crd", "bases", "twelvefactor.dev_twelvefactorapps.yaml"))
	g.Expect(err).NotTo(HaveOccurred())
	crd := &apiextv1.CustomResourceDefinition{}
	g.Expect(yaml.Unmarshal(data, crd)).To(Succeed())
	bindingEnv := crd.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"].Properties["services"].Items.Schema.Properties["env"].Items.Schema
	var rule string
	for _, v := range bindingEnv.XValidations {
		if v.FieldPath == ".name" {
			rule = v.Rule
		}
	}
	g.Expect(rule).NotTo(BeEmpty(), "no rule on spec.services[].env[].name in the CRD")
	var inRule []string
	for _, m := range regexp.MustCompile(`'([A-Z_]+)'`).FindAllStringSubmatch(rule, -1) {
		inRule = append(inRule, m[1])
	}
	g.Expect(inRule).To(ConsistOf(tfv1.ReservedEnvNames), "the CEL rule and ReservedEnvNames disagree")
}

func TestReleaseAndAdminRunSpecsAreImmutable(t *testing.T) {
	testenv.SkipIfShort(t)
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
	testenv.SkipIfShort(t)
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
