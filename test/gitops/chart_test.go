package gitops

import (
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
)

const (
	chartDir      = "charts/twelvefactor-operator"
	releaseName   = "tf"
	chartNS       = "twelvefactor-chart"
	chartFullname = "tf-twelvefactor-operator"
)

// helmTemplate renders the chart as `helm install` would, in chartNS.
func helmTemplate(t *testing.T, args ...string) ([]*unstructured.Unstructured, error) {
	t.Helper()
	out, err := run(tool(t, "helm"), append([]string{"template", releaseName, chartDir, "--namespace", chartNS, "--include-crds"}, args...)...)
	if err != nil {
		return nil, err
	}
	return decodeObjects(t, []byte(out)), nil
}

func mustTemplate(t *testing.T, args ...string) []*unstructured.Unstructured {
	t.Helper()
	objs, err := helmTemplate(t, args...)
	if err != nil {
		t.Fatalf("helm template: %v", err)
	}
	return objs
}

func deployment(t *testing.T, objs []*unstructured.Unstructured) *appsv1.Deployment {
	t.Helper()
	ds := find(objs, "Deployment")
	if len(ds) != 1 {
		t.Fatalf("want one Deployment, got %d", len(ds))
	}
	return convert[appsv1.Deployment](t, ds[0])
}

func TestChartLintsStrictly(t *testing.T) {
	for name, args := range map[string][]string{
		"defaults":          nil,
		"every feature on":  {"--values", "test/gitops/testdata/values-full.yaml"},
		"admission off":     {"--set", "admissionPolicy.enabled=false"},
		"existing account":  {"--set", "serviceAccount.create=false,serviceAccount.name=operator"},
		"leader election 1": {"--set", "leaderElection.enabled=true"},
	} {
		t.Run(name, func(t *testing.T) {
			out, err := run(tool(t, "helm"), append([]string{"lint", "--strict", chartDir}, args...)...)
			if err != nil {
				t.Fatalf("helm lint --strict: %v\n%s", err, out)
			}
		})
	}
}

func TestChartSchemaRejectsBadValues(t *testing.T) {
	for name, tc := range map[string]struct{ set, want string }{
		"unknown policy mode":         {"defaultPolicy=audit", "/defaultPolicy"},
		"write verbs for services":    {"extraRBAC[0].apiGroups[0]=x,extraRBAC[0].resources[0]=y,extraRBAC[0].verbs[0]=delete", "/extraRBAC/0/verbs/0"},
		"service rule without kinds":  {"extraRBAC[0].apiGroups[0]=x", "/extraRBAC/0"},
		"misspelled top-level value":  {"replica=2", "additional properties"},
		"unknown log format":          {"logging.format=text", "/logging/format"},
		"digest that is not a sha256": {"image.digest=latest", "/image/digest"},
		"arg without dashes":          {"extraArgs[0]=leader-elect", "/extraArgs/0"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := helmTemplate(t, "--set", tc.set)
			g := NewWithT(t)
			g.Expect(err).To(HaveOccurred())
			g.Expect(err.Error()).To(ContainSubstring(tc.want))
		})
	}
}

func TestChartIsInSyncWithConfig(t *testing.T) {
	sameFiles(t, filepath.Join(root, "config", "crd", "bases"), filepath.Join(root, chartDir, "crds"))
	sameFiles(t, filepath.Join(root, "config", "policy"), filepath.Join(root, chartDir, "files", "policy"), "kustomization.yaml", "kustomizeconfig.yaml")
}

func TestChartManagerRulesEqualGeneratedRole(t *testing.T) {
	g := NewWithT(t)
	want := managerRules(t)
	var got []rbacv1.PolicyRule
	found := false
	for _, o := range find(mustTemplate(t, "--values", "test/gitops/testdata/values-full.yaml"), "ClusterRole") {
		if o.GetName() == chartFullname+"-manager" {
			got, found = normalize(convert[rbacv1.ClusterRole](t, o).Rules), true
		}
	}
	g.Expect(found).To(BeTrue(), "the chart renders no ClusterRole %s-manager", chartFullname)
	g.Expect(got).To(Equal(want), "the chart's manager rules differ from config/rbac/role.yaml: run 'make manifests'")
}

func TestChartRendersTheManager(t *testing.T) {
	t.Run("defaults", func(t *testing.T) {
		g := NewWithT(t)
		objs := mustTemplate(t)
		d := deployment(t, objs)
		opts := assertManagerPod(t, d)
		g.Expect(d.Namespace).To(Equal(chartNS))
		g.Expect(opts.LeaderElect).To(BeFalse(), "one replica needs no leader election")
		g.Expect(opts.DefaultPolicy).To(Equal(tfv1.PolicyWarn))
		g.Expect(d.Spec.Template.Spec.Containers[0].Image).To(HavePrefix("ghcr.io/twelvefactor/twelvefactor-operator:"))
		g.Expect(find(objs, "ServiceMonitor")).To(BeEmpty())
		g.Expect(find(objs, "ValidatingAdmissionPolicy")).NotTo(BeEmpty(), "the admission policy is on by default")
		g.Expect(find(objs, "CustomResourceDefinition")).To(HaveLen(3))
		svc := find(objs, "Service")
		g.Expect(svc).To(HaveLen(1))
		g.Expect(convert[corev1.Service](t, svc[0]).Spec.Selector).To(Equal(d.Spec.Selector.MatchLabels))
		assertBindingsName(t, objs, "tf-twelvefactor-operator")
	})
	t.Run("every feature on", func(t *testing.T) {
		g := NewWithT(t)
		objs := mustTemplate(t, "--values", "test/gitops/testdata/values-full.yaml")
		d := deployment(t, objs)
		opts := assertManagerPod(t, d)
		g.Expect(opts.LeaderElect).To(BeTrue(), "two replicas need leader election")
		g.Expect(opts.LeaderElectionNS).To(Equal(chartNS))
		g.Expect(opts.DefaultPolicy).To(Equal(tfv1.PolicyEnforce))
		g.Expect(opts.LogLevel).To(Equal("4"))
		g.Expect(opts.MaxConcurrent).To(Equal(8))
		g.Expect(d.Spec.Template.Spec.Containers[0].Image).To(Equal("registry.example.com/platform/twelvefactor-operator@sha256:0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"))
		g.Expect(find(objs, "ServiceMonitor")).To(HaveLen(1))

		var extra *rbacv1.ClusterRole
		for _, o := range find(objs, "ClusterRole") {
			if strings.HasSuffix(o.GetName(), "-provisioned-services") {
				extra = convert[rbacv1.ClusterRole](t, o)
			}
		}
		g.Expect(extra).NotTo(BeNil(), "extraRBAC renders a ClusterRole")
		g.Expect(extra.Rules).To(Equal([]rbacv1.PolicyRule{
			{APIGroups: []string{"postgresql.cnpg.io"}, Resources: []string{"clusters"}, Verbs: []string{"get", "list", "watch"}},
			{APIGroups: []string{"redis.redis.opstreelabs.in"}, Resources: []string{"redis"}, Verbs: []string{"get", "watch"}},
		}))
	})
	t.Run("admission policy off", func(t *testing.T) {
		objs := mustTemplate(t, "--set", "admissionPolicy.enabled=false")
		g := NewWithT(t)
		g.Expect(find(objs, "ValidatingAdmissionPolicy")).To(BeEmpty())
		g.Expect(find(objs, "ValidatingAdmissionPolicyBinding")).To(BeEmpty())
	})
	t.Run("existing service account", func(t *testing.T) {
		objs := mustTemplate(t, "--set", "serviceAccount.create=false,serviceAccount.name=operator")
		g := NewWithT(t)
		g.Expect(find(objs, "ServiceAccount")).To(BeEmpty())
		g.Expect(deployment(t, objs).Spec.Template.Spec.ServiceAccountName).To(Equal("operator"))
		assertBindingsName(t, objs, "operator")
	})
}

// assertBindingsName checks that every binding grants its role to the
// manager's ServiceAccount in the release namespace.
func assertBindingsName(t *testing.T, objs []*unstructured.Unstructured, sa string) {
	t.Helper()
	g := NewWithT(t)
	var n int
	for _, o := range append(find(objs, "ClusterRoleBinding"), find(objs, "RoleBinding")...) {
		b := convert[rbacv1.ClusterRoleBinding](t, o)
		g.Expect(b.Subjects).To(ConsistOf(rbacv1.Subject{Kind: "ServiceAccount", Name: sa, Namespace: chartNS}), "subjects of %s", o.GetName())
		n++
	}
	g.Expect(n).To(BeNumerically(">=", 2))
}

func TestChartDryRunsOnTheAPIServer(t *testing.T) {
	needEnv(t)
	createNamespace(t, chartNS)
	applyManifests(t, readObjects(t, "testdata/servicemonitor-crd.yaml"))
	for name, args := range map[string][]string{
		"defaults":         nil,
		"every feature on": {"--values", "test/gitops/testdata/values-full.yaml"},
	} {
		t.Run(name, func(t *testing.T) {
			objs := mustTemplate(t, args...)
			applyManifests(t, objs)
			assertRestricted(t, deployment(t, objs))
		})
	}
}
