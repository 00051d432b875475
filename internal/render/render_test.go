package render_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	. "github.com/onsi/gomega"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
	"github.com/twelvefactor/twelvefactor-operator/internal/release"
	"github.com/twelvefactor/twelvefactor-operator/internal/render"
	"github.com/twelvefactor/twelvefactor-operator/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// env is a real API server for the admission checks; nil under -short.
var env *testenv.Env

const restrictedNS = "restricted"

func TestMain(m *testing.M) {
	flag.Parse()
	if !testing.Short() {
		var err error
		env, err = testenv.Start()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: restrictedNS,
			Labels: map[string]string{"pod-security.kubernetes.io/enforce": "restricted"}}}
		if err := env.Client.Create(context.Background(), ns); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	code := m.Run()
	if env != nil {
		_ = env.Stop()
	}
	os.Exit(code)
}

func fixture() (*tfv1.TwelveFactorApp, *tfv1.Release) {
	app := &tfv1.TwelveFactorApp{
		ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: restrictedNS, UID: "app-uid"},
		Spec: tfv1.TwelveFactorAppSpec{
			Build: tfv1.BuildSpec{Image: "registry.example/shop:1.0"},
			Processes: []tfv1.ProcessSpec{
				{Name: "web", Command: []string{"puma"}, Port: ptr.To[int32](8080), Replicas: ptr.To[int32](2)},
			},
			ImagePullSecrets: []tfv1.LocalObjectReference{{Name: "ghcr"}},
		},
	}
	rel := &tfv1.Release{
		ObjectMeta: metav1.ObjectMeta{Name: "shop-v3", Namespace: restrictedNS, UID: "rel-uid"},
		Spec: tfv1.ReleaseSpec{App: "shop", Number: 3, Image: "registry.example/shop@sha256:" + fmt.Sprintf("%064d", 1),
			Processes:     []tfv1.ReleaseProcess{{Name: "web", Command: []string{"puma"}}},
			EnvSecretName: "shop-v3-env", ContentHash: "h",
			Bindings: []tfv1.ReleaseBinding{{Name: "db", SecretName: "shop-v3-binding-db", Type: "postgresql",
				Env: []tfv1.BindingEnv{{Name: "DATABASE_URL", Key: "uri"}}}},
		},
	}
	return app, rel
}

func golden(t *testing.T, name string, obj any) {
	t.Helper()
	g := NewWithT(t)
	got, err := yaml.Marshal(obj)
	g.Expect(err).NotTo(HaveOccurred())
	path := filepath.Join("testdata", name)
	if *update {
		g.Expect(os.WriteFile(path, got, 0o644)).To(Succeed())
	}
	want, err := os.ReadFile(path)
	g.Expect(err).NotTo(HaveOccurred(), "run go test ./internal/render -update to create %s", path)
	g.Expect(string(got)).To(Equal(string(want)))
}

func TestGoldenObjects(t *testing.T) {
	app, rel := fixture()
	p := app.Spec.Processes[0]
	golden(t, "deployment.yaml", render.Deployment(app, rel, p, p.Command))
	golden(t, "service.yaml", render.Service(app, p))
	golden(t, "pdb.yaml", render.PodDisruptionBudget(app, p))
	golden(t, "release-job.yaml", render.ReleaseJob(app, rel, nil))
}

func TestOptionalObjectsAreOmitted(t *testing.T) {
	g := NewWithT(t)
	app, _ := fixture()
	worker := tfv1.ProcessSpec{Name: "worker", Replicas: ptr.To[int32](1)}
	g.Expect(render.Service(app, worker)).To(BeNil())
	g.Expect(render.PodDisruptionBudget(app, worker)).To(BeNil())
	g.Expect(render.HorizontalPodAutoscaler(app, worker)).To(BeNil())
	g.Expect(render.Replicas(tfv1.ProcessSpec{Autoscaling: &tfv1.AutoscalingSpec{MaxReplicas: 3}})).To(BeNil())
	g.Expect(render.Replicas(tfv1.ProcessSpec{})).To(Equal(ptr.To[int32](1)))
}

func TestEnvSecretIsImmutableAndOwnedByTheRelease(t *testing.T) {
	g := NewWithT(t)
	_, rel := fixture()
	s := render.EnvSecret(rel, map[string]string{"A": "1"})
	g.Expect(*s.Immutable).To(BeTrue())
	g.Expect(s.OwnerReferences[0].Name).To(Equal("shop-v3"))
	g.Expect(s.Annotations[tfv1.AnnotationDataHash]).To(Equal(release.DataHash(s.Data)))
	b := render.BindingSecret(rel, release.Binding{Name: "db", Type: "postgresql", Provider: "acme", Data: map[string][]byte{"uri": []byte("x")}})
	g.Expect(string(b.Data["type"])).To(Equal("postgresql"))
	g.Expect(string(b.Data["provider"])).To(Equal("acme"))
	g.Expect(b.Type).To(Equal(corev1.SecretType("servicebinding.io/postgresql")))
}

// FuzzPodTemplate renders pod templates from arbitrary process input. The
// invariants: no panic, deterministic output, and (when a control plane is
// available) every rendered pod is admitted under Pod Security "restricted".
func FuzzPodTemplate(f *testing.F) {
	f.Add("web", "puma", int32(8080), int64(30), int64(5), true)
	f.Add("worker", "", int32(0), int64(1), int64(0), false)
	f.Add("release", "bin/rails db:migrate", int32(65535), int64(3600), int64(3600), true)
	f.Fuzz(func(t *testing.T, process, command string, port int32, grace, sleep int64, bindings bool) {
		app, rel := fixture()
		app.Spec.Shutdown = &tfv1.ShutdownSpec{GracePeriodSeconds: &grace, PreStopSleepSeconds: &sleep}
		if !bindings {
			rel.Spec.Bindings = nil
		}
		in := render.PodInput{App: app, Release: rel, Process: process, Command: []string{command}, RestartPolicy: corev1.RestartPolicyAlways}
		if port > 0 {
			in.Port = &port
		}
		a, b := render.PodTemplate(in), render.PodTemplate(in)
		if render.Hash(a) != render.Hash(b) {
			t.Fatal("rendering is not deterministic")
		}
		if env == nil || !validPodInput(process, port, grace, sleep) {
			return
		}
		raw, err := yaml.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		tmpl := &corev1.PodTemplateSpec{}
		if err := yaml.Unmarshal(raw, tmpl); err != nil {
			t.Fatal(err)
		}
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "fuzz", Namespace: restrictedNS, Labels: tmpl.Labels}, Spec: tmpl.Spec}
		if err := env.Client.Create(context.Background(), pod, client.DryRunAll); err != nil {
			t.Fatalf("rendered pod is not admitted under restricted: %v", err)
		}
	})
}

// validPodInput says whether the input is one the CRD's validation admits;
// only those must produce admissible pods.
func validPodInput(process string, port int32, grace, sleep int64) bool {
	if len(process) == 0 || len(process) > 20 || port > 65535 || grace < 1 || grace > 3600 || sleep < 0 || sleep > 3600 {
		return false
	}
	for i, c := range process {
		lower := c >= 'a' && c <= 'z'
		later := i > 0 && (c >= '0' && c <= '9' || c == '-')
		if !lower && !later {
			return false
		}
	}
	return process[len(process)-1] != '-'
}

func TestJobFailureNamesTheFieldToChange(t *testing.T) {
	g := NewWithT(t)
	failed := func(reason, msg string) *batchv1.Job {
		return &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "seed-run"}, Spec: batchv1.JobSpec{ActiveDeadlineSeconds: ptr.To[int64](30)},
			Status: batchv1.JobStatus{Conditions: []batchv1.JobCondition{{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: reason, Message: msg}}}}
	}
	g.Expect(render.JobFailure(failed("DeadlineExceeded", "Job was active longer than specified deadline"), "The run", "spec.activeDeadlineSeconds")).
		To(Equal("The run was stopped after spec.activeDeadlineSeconds (30s) passed (DeadlineExceeded): raise it, or make the command finish sooner"))
	g.Expect(render.JobFailure(failed("BackoffLimitExceeded", "Job has reached the specified backoff limit"), "The run", "spec.activeDeadlineSeconds")).
		To(Equal("The run's command failed (BackoffLimitExceeded): read its output with kubectl logs job/seed-run"))
	g.Expect(render.JobFailure(failed("PodFailurePolicy", "x"), "The run", "spec.activeDeadlineSeconds")).
		To(Equal("The run failed (PodFailurePolicy: x)"))
}
