package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
	"github.com/twelvefactor/twelvefactor-operator/internal/testenv"
)

// testDeletingANamespaceWithInUseReleasesCompletes deletes a namespace that
// holds in-use releases while kube-controller-manager runs as kubeadm runs it
// (--use-service-account-credentials=true), so the namespace controller acts
// as system:serviceaccount:kube-system:namespace-controller. One app runs. The
// other was deleted with --cascade=orphan: its in-use release has no owner
// left for the garbage collector to delete it by, so only the namespace
// controller can, and the namespace hangs in Terminating unless the release
// protection policy lets it. An ordinary user's `kubectl delete release` of an
// in-use release is still refused.
func testDeletingANamespaceWithInUseReleasesCompletes(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	g.Expect(cluster.Client.Create(ctx(), newApp(ns, "shop"))).To(Succeed())
	g.Expect(cluster.Client.Create(ctx(), newApp(ns, "legacy"))).To(Succeed())
	waitReady(t, ns, "shop", 1)
	waitReady(t, ns, "legacy", 1)

	// The policy is active: a delete is refused (dry run, so that a policy not
	// yet active deletes nothing).
	g.Eventually(func(g Gomega) {
		err := cluster.Client.Delete(ctx(), getRelease(g, ns, "shop-v1"), client.DryRunAll)
		g.Expect(err).To(HaveOccurred())
		g.Expect(err.Error()).To(ContainSubstring("is in use by app shop"))
	}, timeout).Should(Succeed())

	// A user whom RBAC lets delete releases in the namespace is refused by
	// the policy, with its message.
	kubeconfig := releaseDeleter(t, ns)
	out, err := kubectl(t, kubeconfig, "-n", ns, "auth", "can-i", "delete", "releases.twelvefactor.dev/shop-v1")
	g.Expect(err).NotTo(HaveOccurred(), out)
	g.Expect(out).To(Equal("yes\n"))
	out, err = kubectl(t, kubeconfig, "-n", ns, "delete", "release", "shop-v1")
	g.Expect(err).To(HaveOccurred(), out)
	g.Expect(out).To(ContainSubstring("Release shop-v1 is in use by app shop"))
	g.Expect(getRelease(g, ns, "shop-v1").DeletionTimestamp).To(BeNil())

	// legacy goes with --cascade=orphan: its release stays, in use and ownerless.
	g.Expect(cluster.Client.Delete(ctx(), getApp(g, ns, "legacy"), client.PropagationPolicy(metav1.DeletePropagationOrphan))).To(Succeed())
	g.Eventually(func(g Gomega) {
		err := cluster.Client.Get(ctx(), client.ObjectKey{Namespace: ns, Name: "legacy"}, &tfv1.TwelveFactorApp{})
		g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "app legacy: %v", err)
		rel := getRelease(g, ns, "legacy-v1")
		g.Expect(rel.Labels).To(HaveKeyWithValue(tfv1.LabelInUse, "true"))
		g.Expect(rel.OwnerReferences).To(BeEmpty())
	}, timeout).Should(Succeed())

	// The controllers act as their own ServiceAccounts, which the
	// controller-manager made for them.
	for _, sa := range []string{"namespace-controller", "generic-garbage-collector"} {
		g.Expect(cluster.Client.Get(ctx(), client.ObjectKey{Namespace: "kube-system", Name: sa}, &corev1.ServiceAccount{})).To(Succeed())
	}

	g.Expect(cluster.Client.Delete(ctx(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
	g.Eventually(func(g Gomega) {
		left := &corev1.Namespace{}
		err := cluster.Client.Get(ctx(), client.ObjectKey{Name: ns}, left)
		g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "namespace %s is still there: %v %s", ns, err, toJSON(left.Status.Conditions))
	}, timeout).Should(Succeed())
}

func getRelease(g Gomega, ns, name string) *tfv1.Release {
	r := &tfv1.Release{}
	g.Expect(cluster.Client.Get(ctx(), client.ObjectKey{Namespace: ns, Name: name}, r)).To(Succeed())
	return r
}

// releaseDeleter returns the kubeconfig of an ordinary user (no group) whom
// a Role in ns lets read and delete releases.
func releaseDeleter(t *testing.T, ns string) string {
	t.Helper()
	g := NewWithT(t)
	const name = "release-deleter"
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{tfv1.GroupVersion.Group}, Resources: []string{"releases"},
			Verbs: []string{"get", "list", "delete"}}}}
	binding := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "alice"}}}
	g.Expect(cluster.Client.Create(ctx(), role)).To(Succeed())
	g.Expect(cluster.Client.Create(ctx(), binding)).To(Succeed())
	user, err := cluster.Env.ControlPlane.AddUser(envtest.User{Name: "alice"}, nil)
	g.Expect(err).NotTo(HaveOccurred())
	data, err := user.KubeConfig()
	g.Expect(err).NotTo(HaveOccurred())
	path := filepath.Join(t.TempDir(), "kubeconfig")
	g.Expect(os.WriteFile(path, data, 0o600)).To(Succeed())
	return path
}

// kubectl runs the kubectl built with the control plane and returns its
// combined output.
func kubectl(t *testing.T, kubeconfig string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(filepath.Join(testenv.AssetsDir(), "kubectl"),
		append([]string{"--kubeconfig", kubeconfig, "--cache-dir", t.TempDir()}, args...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}
