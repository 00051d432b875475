package gitops

import (
	"slices"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	rbacv1 "k8s.io/api/rbac/v1"
)

var writeVerbs = []string{"create", "update", "patch", "delete", "deletecollection", "*"}

// TestManagerClusterRoleIsLeastPrivilege fails on any wildcard and on
// cluster-wide Secret write access in the manager's ClusterRole.
func TestManagerClusterRoleIsLeastPrivilege(t *testing.T) {
	g := NewWithT(t)
	rules := managerRules(t)
	g.Expect(rules).NotTo(BeEmpty())
	for _, r := range rules {
		g.Expect(r.Verbs).NotTo(ContainElement("*"), "wildcard verb in %v", r)
		g.Expect(r.Resources).NotTo(ContainElement("*"), "wildcard resource in %v", r)
		g.Expect(r.APIGroups).NotTo(ContainElement("*"), "wildcard API group in %v", r)
		if slices.Contains(r.APIGroups, "") && slices.Contains(r.Resources, "secrets") {
			for _, v := range writeVerbs {
				g.Expect(r.Verbs).NotTo(ContainElement(v), "the manager's ClusterRole may not write Secrets cluster-wide")
			}
		}
	}
}

// TestChartGrantsSecretWritesPerNamespace checks that with appNamespaces the
// chart binds the Secret writer only in those namespaces.
func TestChartGrantsSecretWritesPerNamespace(t *testing.T) {
	g := NewWithT(t)
	objs := mustTemplate(t, "--set", "appNamespaces={shop,billing}")
	var namespaces []string
	for _, o := range find(objs, "RoleBinding") {
		rb := convert[rbacv1.RoleBinding](t, o)
		if rb.RoleRef.Kind == "ClusterRole" && suffix(rb.RoleRef.Name) == "secret-writer" {
			namespaces = append(namespaces, rb.Namespace)
		}
	}
	g.Expect(namespaces).To(ConsistOf("shop", "billing"))
	for _, o := range find(objs, "ClusterRoleBinding") {
		crb := convert[rbacv1.ClusterRoleBinding](t, o)
		g.Expect(suffix(crb.RoleRef.Name)).NotTo(Equal("secret-writer"), "no cluster-wide Secret writer binding with appNamespaces")
	}
	// Without appNamespaces, the writer is bound cluster-wide (documented default).
	bound := false
	for _, o := range find(mustTemplate(t), "ClusterRoleBinding") {
		if suffix(convert[rbacv1.ClusterRoleBinding](t, o).RoleRef.Name) == "secret-writer" {
			bound = true
		}
	}
	g.Expect(bound).To(BeTrue())
}

func suffix(name string) string {
	if strings.HasSuffix(name, "secret-writer") {
		return "secret-writer"
	}
	return name
}
