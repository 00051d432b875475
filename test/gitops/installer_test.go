package gitops

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

const installerNS = "twelvefactor-system"

// installer renders config/default the way `make build-installer` does
// (after `make manifests`, which the test leaves to the developer).
func installer(t *testing.T) []*unstructured.Unstructured {
	t.Helper()
	out, err := run(tool(t, "kustomize"), "build", "config/default")
	if err != nil {
		t.Fatalf("kustomize build config/default: %v", err)
	}
	return decodeObjects(t, []byte(out))
}

func TestInstallerRendersTheManager(t *testing.T) {
	g := NewWithT(t)
	objs := installer(t)

	ns := find(objs, "Namespace")
	g.Expect(ns).To(HaveLen(1))
	g.Expect(ns[0].GetName()).To(Equal(installerNS))
	g.Expect(ns[0].GetLabels()).To(HaveKeyWithValue("pod-security.kubernetes.io/enforce", "restricted"))
	g.Expect(find(objs, "CustomResourceDefinition")).To(HaveLen(len(mustGlob(t, "config/crd/bases/*.yaml"))))

	for _, o := range objs {
		switch o.GetKind() {
		case "Namespace", "CustomResourceDefinition":
		default:
			g.Expect(o.GetName()).To(HavePrefix("twelvefactor-"), "%s %s", o.GetKind(), o.GetName())
		}
		if o.GetNamespace() != "" {
			g.Expect(o.GetNamespace()).To(Equal(installerNS), "%s %s", o.GetKind(), o.GetName())
		}
	}

	ds := find(objs, "Deployment")
	g.Expect(ds).To(HaveLen(1))
	d := convert[appsv1.Deployment](t, ds[0])
	opts := assertManagerPod(t, d)
	g.Expect(opts.LeaderElect).To(BeTrue())

	// The manager's ServiceAccount gets manager-role, and its rules are
	// config/rbac/role.yaml's.
	var rules []rbacv1.PolicyRule
	for _, o := range find(objs, "ClusterRole") {
		if o.GetName() == "twelvefactor-manager-role" {
			rules = normalize(convert[rbacv1.ClusterRole](t, o).Rules)
		}
	}
	g.Expect(rules).To(Equal(managerRules(t)))
	var bound bool
	for _, o := range find(objs, "ClusterRoleBinding") {
		b := convert[rbacv1.ClusterRoleBinding](t, o)
		if b.RoleRef.Name == "twelvefactor-manager-role" {
			bound = true
			g.Expect(b.Subjects).To(ConsistOf(rbacv1.Subject{Kind: "ServiceAccount", Name: d.Spec.Template.Spec.ServiceAccountName, Namespace: installerNS}))
		}
	}
	g.Expect(bound).To(BeTrue(), "no ClusterRoleBinding grants twelvefactor-manager-role")

	// Every policy binding names a policy of the installer, prefix included.
	policies := map[string]bool{}
	for _, o := range find(objs, "ValidatingAdmissionPolicy") {
		policies[o.GetName()] = true
	}
	if _, err := os.Stat(filepath.Join(root, "config", "policy", "kustomization.yaml")); err == nil {
		g.Expect(policies).NotTo(BeEmpty(), "config/policy is part of the installer")
	}
	for _, o := range find(objs, "ValidatingAdmissionPolicyBinding") {
		name, _, _ := unstructured.NestedString(o.Object, "spec", "policyName")
		g.Expect(policies).To(HaveKey(name), "binding %s", o.GetName())
	}
}

func TestInstallerDryRunsOnTheAPIServer(t *testing.T) {
	needEnv(t)
	objs := installer(t)
	applyManifests(t, objs)
	for _, o := range find(objs, "Deployment") {
		assertRestricted(t, convert[appsv1.Deployment](t, o))
	}
}

func mustGlob(t *testing.T, pattern string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(root, pattern))
	if err != nil || len(m) == 0 {
		t.Fatalf("nothing matches %s", strings.TrimPrefix(pattern, root))
	}
	return m
}
