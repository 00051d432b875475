package gitops

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/twelvefactor/twelvefactor-operator/internal/manager"
	"github.com/twelvefactor/twelvefactor-operator/internal/testenv"
)

// fieldOwner is the field manager of everything the tests apply.
const fieldOwner = client.FieldOwner("twelvefactor-gitops-test")

var root = testenv.RepoRoot()

// tools maps a binary in ./bin to its package in the tools module hack/tools,
// as the Makefile builds it.
var tools = map[string]string{
	"helm":      "helm.sh/helm/v4/cmd/helm",
	"kustomize": "sigs.k8s.io/kustomize/kustomize/v5",
}

var toolMu sync.Mutex

// tool returns the path of bin/<name>, building it from the tools module first
// when it is missing or older than hack/tools/go.mod (as make would).
func tool(t *testing.T, name string) string {
	t.Helper()
	toolMu.Lock()
	defer toolMu.Unlock()
	bin := filepath.Join(root, "bin", name)
	if fresh(bin, filepath.Join(root, "hack", "tools", "go.mod"), filepath.Join(root, "hack", "tools", "go.sum")) {
		return bin
	}
	start := time.Now()
	cmd := exec.Command("go", "build", "-o", bin, tools[name])
	cmd.Dir = filepath.Join(root, "hack", "tools")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("building %s from hack/tools: %v\n%s", name, err, out)
	}
	t.Logf("Built bin/%s from hack/tools in %s", name, time.Since(start).Round(time.Second))
	return bin
}

// fresh reports whether target exists and is newer than every dependency.
func fresh(target string, deps ...string) bool {
	ti, err := os.Stat(target)
	if err != nil {
		return false
	}
	for _, d := range deps {
		if di, err := os.Stat(d); err == nil && di.ModTime().After(ti.ModTime()) {
			return false
		}
	}
	return true
}

// run runs a command in the repository root and returns its stdout; stderr
// is part of the error.
func run(name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = root
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), errors.Join(err, errors.New(stderr.String()))
	}
	return stdout.String(), nil
}

// decodeObjects splits a multi-document YAML stream into objects.
func decodeObjects(t *testing.T, data []byte) []*unstructured.Unstructured {
	t.Helper()
	var objs []*unstructured.Unstructured
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for {
		var m map[string]any
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("decoding YAML: %v", err)
		}
		if len(m) == 0 {
			continue
		}
		objs = append(objs, &unstructured.Unstructured{Object: m})
	}
	return objs
}

// readObjects decodes the objects of a YAML file.
func readObjects(t *testing.T, path string) []*unstructured.Unstructured {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return decodeObjects(t, data)
}

// find returns the objects of a kind.
func find(objs []*unstructured.Unstructured, kind string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == kind {
			out = append(out, o)
		}
	}
	return out
}

// convert turns an unstructured object into a typed one.
func convert[T any](t *testing.T, u *unstructured.Unstructured) *T {
	t.Helper()
	out := new(T)
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, out); err != nil {
		t.Fatalf("converting %s %s: %v", u.GetKind(), u.GetName(), err)
	}
	return out
}

// managerRules returns the rules of ClusterRole manager-role in
// config/rbac/role.yaml, or none when controller-gen has not written it yet.
func managerRules(t *testing.T) []rbacv1.PolicyRule {
	t.Helper()
	path := filepath.Join(root, "config", "rbac", "role.yaml")
	if _, err := os.Stat(path); os.IsNotExist(err) {
		t.Logf("config/rbac/role.yaml does not exist yet; expecting no manager rules")
		return nil
	}
	for _, o := range find(readObjects(t, path), "ClusterRole") {
		if o.GetName() == "manager-role" {
			return normalize(convert[rbacv1.ClusterRole](t, o).Rules)
		}
	}
	t.Fatalf("config/rbac/role.yaml has no ClusterRole manager-role")
	return nil
}

func normalize(rules []rbacv1.PolicyRule) []rbacv1.PolicyRule {
	if len(rules) == 0 {
		return nil
	}
	return rules
}

// warnings collects the warnings the apiserver sends, such as Pod Security
// violations of a Deployment's template or unknown fields.
type warnings struct {
	mu   sync.Mutex
	list []string
}

func (w *warnings) HandleWarningHeader(_ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.list = append(w.list, text)
}

func (w *warnings) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	l := w.list
	w.list = nil
	return l
}

// warningClient returns a client of the test apiserver that records warnings.
func warningClient(t *testing.T) (client.Client, *warnings) {
	t.Helper()
	e := needEnv(t)
	w := &warnings{}
	cfg := rest.CopyConfig(e.Config)
	cfg.WarningHandler = w
	c, err := client.New(cfg, client.Options{Scheme: testenv.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	return c, w
}

// applyManifests applies rendered manifests the way a GitOps tool or
// `kubectl apply --server-side` would: Namespaces and CRDs for real (the rest
// depends on them), then everything else as a server-side dry-run, so the
// apiserver validates every object (schemas, CEL, RBAC, admission) without
// the test changing the cluster. Any warning fails the test.
func applyManifests(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	g := NewWithT(t)
	c, w := warningClient(t)
	ctx := context.Background()
	var others []*unstructured.Unstructured
	for _, o := range objs {
		switch o.GetKind() {
		case "Namespace", "CustomResourceDefinition":
			g.Expect(c.Apply(ctx, client.ApplyConfigurationFromUnstructured(o.DeepCopy()), fieldOwner, client.ForceOwnership)).
				To(Succeed(), "applying %s %s", o.GetKind(), o.GetName())
		default:
			others = append(others, o)
		}
	}
	for _, o := range find(objs, "CustomResourceDefinition") {
		g.Eventually(func(g Gomega) {
			crd := &apiextensionsv1.CustomResourceDefinition{}
			g.Expect(c.Get(ctx, client.ObjectKey{Name: o.GetName()}, crd)).To(Succeed())
			established := false
			for _, cond := range crd.Status.Conditions {
				if cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue {
					established = true
				}
			}
			g.Expect(established).To(BeTrue(), "CRD %s is not Established", o.GetName())
		}).Should(Succeed())
	}
	for _, o := range others {
		g.Expect(c.Apply(ctx, client.ApplyConfigurationFromUnstructured(o.DeepCopy()), fieldOwner, client.ForceOwnership, client.DryRunAll)).
			To(Succeed(), "server-side dry-run apply of %s %s/%s", o.GetKind(), o.GetNamespace(), o.GetName())
	}
	g.Expect(w.take()).To(BeEmpty(), "the apiserver warned about the manifests")
}

// createNamespace creates a namespace that enforces Pod Security "restricted".
func createNamespace(t *testing.T, name string) {
	t.Helper()
	c, _ := warningClient(t)
	ns := &corev1.Namespace{}
	ns.Name = name
	ns.Labels = map[string]string{
		"pod-security.kubernetes.io/enforce": "restricted",
		"pod-security.kubernetes.io/warn":    "restricted",
	}
	if err := c.Create(context.Background(), ns); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}

// assertRestricted proves the Deployment's pods pass Pod Security
// "restricted": a Pod from its template is admitted (dry-run) in a namespace
// that enforces it, while the same Pod made privileged is denied there.
func assertRestricted(t *testing.T, d *appsv1.Deployment) {
	t.Helper()
	g := NewWithT(t)
	c, _ := warningClient(t)
	ctx := context.Background()
	ns := &corev1.Namespace{}
	g.Expect(c.Get(ctx, client.ObjectKey{Name: d.Namespace}, ns)).To(Succeed())
	g.Expect(ns.Labels).To(HaveKeyWithValue("pod-security.kubernetes.io/enforce", "restricted"))

	pod := &corev1.Pod{}
	pod.Namespace = d.Namespace
	pod.Name = d.Name + "-psa"
	pod.Labels = d.Spec.Template.Labels
	pod.Spec = *d.Spec.Template.Spec.DeepCopy()
	pod.Spec.ServiceAccountName = "" // it exists only in the dry-run
	g.Expect(c.Create(ctx, pod.DeepCopy(), client.DryRunAll)).To(Succeed(), "Pod Security restricted rejected the manager pod")

	bad := pod.DeepCopy()
	bad.Spec.Containers[0].SecurityContext.AllowPrivilegeEscalation = new(bool)
	*bad.Spec.Containers[0].SecurityContext.AllowPrivilegeEscalation = true
	err := c.Create(ctx, bad, client.DryRunAll)
	g.Expect(apierrors.IsForbidden(err)).To(BeTrue(), "Pod Security admission must be enforcing in %s, got %v", d.Namespace, err)
}

// managerArgs parses the manager container's args with the manager's own
// flags, so an arg that the binary would reject fails the test.
func managerArgs(t *testing.T, d *appsv1.Deployment) (manager.Options, *corev1.Container) {
	t.Helper()
	var ctr *corev1.Container
	for i := range d.Spec.Template.Spec.Containers {
		if d.Spec.Template.Spec.Containers[i].Name == "manager" {
			ctr = &d.Spec.Template.Spec.Containers[i]
		}
	}
	if ctr == nil {
		t.Fatalf("Deployment %s has no manager container", d.Name)
	}
	opts := manager.DefaultOptions()
	fs := flag.NewFlagSet("manager", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	opts.BindFlags(fs)
	if err := fs.Parse(ctr.Args); err != nil {
		t.Fatalf("the manager rejects its args %q: %v", ctr.Args, err)
	}
	if fs.NArg() != 0 {
		t.Fatalf("the manager ignores args %q", fs.Args())
	}
	return opts, ctr
}

// assertManagerPod checks what every install of the manager must get right:
// probes and ports agree with the flags, and the security settings.
func assertManagerPod(t *testing.T, d *appsv1.Deployment) manager.Options {
	t.Helper()
	g := NewWithT(t)
	opts, ctr := managerArgs(t, d)
	ports := map[string]int32{}
	for _, p := range ctr.Ports {
		ports[p.Name] = p.ContainerPort
	}
	g.Expect(opts.LogFormat).To(Equal("json"))
	g.Expect(addrPort(t, opts.MetricsAddr)).To(Equal(ports["http-metrics"]), "--metrics-bind-address and the http-metrics port")
	g.Expect(addrPort(t, opts.ProbeAddr)).To(Equal(ports["http-health"]), "--health-probe-bind-address and the http-health port")
	g.Expect(ctr.LivenessProbe.HTTPGet.Path).To(Equal("/healthz"))
	g.Expect(ctr.LivenessProbe.HTTPGet.Port.String()).To(Equal("http-health"))
	g.Expect(ctr.ReadinessProbe.HTTPGet.Path).To(Equal("/readyz"))
	g.Expect(ctr.ReadinessProbe.HTTPGet.Port.String()).To(Equal("http-health"))
	g.Expect(ctr.Resources.Requests).NotTo(BeEmpty())

	psc := d.Spec.Template.Spec.SecurityContext
	g.Expect(psc.RunAsNonRoot).To(HaveValue(BeTrue()))
	g.Expect(psc.SeccompProfile.Type).To(Equal(corev1.SeccompProfileTypeRuntimeDefault))
	sc := ctr.SecurityContext
	g.Expect(sc.AllowPrivilegeEscalation).To(HaveValue(BeFalse()))
	g.Expect(sc.ReadOnlyRootFilesystem).To(HaveValue(BeTrue()))
	g.Expect(sc.Capabilities.Drop).To(Equal([]corev1.Capability{"ALL"}))
	// A leader-elected manager can surge; a single one must never overlap.
	if opts.LeaderElect {
		g.Expect(d.Spec.Strategy.Type).To(Equal(appsv1.RollingUpdateDeploymentStrategyType))
	} else {
		g.Expect(d.Spec.Replicas).To(HaveValue(BeNumerically("==", 1)), "more than one replica needs --leader-elect")
		g.Expect(d.Spec.Strategy.Type).To(Equal(appsv1.RecreateDeploymentStrategyType))
	}
	return opts
}

func addrPort(t *testing.T, addr string) int32 {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("address %q: %v", addr, err)
	}
	n, err := strconv.ParseInt(p, 10, 32)
	if err != nil {
		t.Fatalf("address %q: %v", addr, err)
	}
	return int32(n)
}

// sameFiles asserts that dir holds exactly the files of src (by name and
// content), less the names in skip.
func sameFiles(t *testing.T, src, dir string, skip ...string) {
	t.Helper()
	g := NewWithT(t)
	want := map[string]string{}
	matches, _ := filepath.Glob(filepath.Join(src, "*.yaml"))
	for _, m := range matches {
		if slices.Contains(skip, filepath.Base(m)) {
			continue
		}
		b, err := os.ReadFile(m)
		g.Expect(err).NotTo(HaveOccurred())
		want[filepath.Base(m)] = string(b)
	}
	got := map[string]string{}
	matches, _ = filepath.Glob(filepath.Join(dir, "*.yaml"))
	for _, m := range matches {
		b, err := os.ReadFile(m)
		g.Expect(err).NotTo(HaveOccurred())
		got[filepath.Base(m)] = string(b)
	}
	rel := func(p string) string { r, _ := filepath.Rel(root, p); return r }
	g.Expect(got).To(Equal(want), "%s is out of date with %s: run 'make manifests' (hack/sync-chart.sh)", rel(dir), rel(src))
}

// hasPrefix reports whether path is inside one of dirs.
func hasPrefix(path string, dirs []string) bool {
	for _, d := range dirs {
		if path == d || strings.HasPrefix(path, d+string(filepath.Separator)) {
			return true
		}
	}
	return false
}
