package e2e

import (
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/twelvefactor/twelvefactor-operator/internal/testenv"
)

// TestManagerRunsWithLeastPrivilege checks that the manager's identity in this
// suite really is restricted: it may not write Secrets in a namespace that has
// not granted it, and may where it has. Every other test in the suite runs
// the manager under this identity.
func testManagerRunsWithLeastPrivilege(t *testing.T) {
	g := NewWithT(t)
	c, err := client.New(mgrConfig, client.Options{Scheme: testenv.Scheme()})
	g.Expect(err).NotTo(HaveOccurred())
	granted := newNamespace(t)
	other := "e2e-nogrant-" + rand.String(4)
	g.Expect(cluster.EnsureNamespace(ctx(), other, nil)).To(Succeed())
	secret := func(ns string) *corev1.Secret {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "probe", Namespace: ns}}
	}
	g.Expect(apierrors.IsForbidden(c.Create(ctx(), secret(other), client.DryRunAll))).To(BeTrue())
	g.Expect(c.Create(ctx(), secret(granted), client.DryRunAll)).To(Succeed())
	g.Expect(apierrors.IsForbidden(c.Delete(ctx(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: other}}, client.DryRunAll))).To(BeTrue())
	g.Expect(c.List(ctx(), &corev1.SecretList{}, client.InNamespace(other))).To(Succeed(), "reading Secrets is allowed")
}
