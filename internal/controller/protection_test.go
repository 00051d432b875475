package controller_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	admissionv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
	"github.com/twelvefactor/twelvefactor-operator/internal/testenv"
)

// installReleaseProtection installs config/policy/release-protection.yaml.
func installReleaseProtection(g Gomega) {
	data, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "config", "policy", "release-protection.yaml"))
	g.Expect(err).NotTo(HaveOccurred())
	docs := strings.Split(string(data), "\n---\n")
	g.Expect(docs).To(HaveLen(2))
	vap := &admissionv1.ValidatingAdmissionPolicy{}
	g.Expect(yaml.UnmarshalStrict([]byte(docs[0]), vap)).To(Succeed())
	binding := &admissionv1.ValidatingAdmissionPolicyBinding{}
	g.Expect(yaml.UnmarshalStrict([]byte(docs[1]), binding)).To(Succeed())
	for _, o := range []client.Object{vap, binding} {
		if err := env.Client.Create(ctx(), o); err != nil && !apierrors.IsAlreadyExists(err) {
			g.Expect(err).NotTo(HaveOccurred())
		}
	}
}

func TestRunningAndPinnedReleasesCannotBeDeleted(t *testing.T) {
	g := NewWithT(t)
	installReleaseProtection(g)
	ns := newNamespace(t, nil)
	g.Expect(env.Client.Create(ctx(), newApp(ns, "shop"))).To(Succeed())
	g.Eventually(func(g Gomega) { g.Expect(deploymentRelease(g, ns, "shop-web")).To(Equal("1")) }, timeout).Should(Succeed())
	for i, v := range []string{"a", "b"} {
		update(t, ns, "shop", func(a *tfv1.TwelveFactorApp) { a.Spec.Config.Env[0].Value = v })
		want := []string{"2", "3"}[i]
		g.Eventually(func(g Gomega) { g.Expect(deploymentRelease(g, ns, "shop-web")).To(Equal(want)) }, timeout).Should(Succeed())
	}
	update(t, ns, "shop", func(a *tfv1.TwelveFactorApp) { a.Spec.RollbackTo = ptr.To[int32](2) })
	g.Eventually(func(g Gomega) {
		g.Expect(deploymentRelease(g, ns, "shop-web")).To(Equal("2"))
		g.Expect(getRelease(g, ns, "shop-v2").Labels).To(HaveKeyWithValue(tfv1.LabelInUse, "true"))
		g.Expect(getRelease(g, ns, "shop-v3").Labels).NotTo(HaveKey(tfv1.LabelInUse))
	}, timeout).Should(Succeed())

	// The pinned release is refused with a clear message (the policy may take
	// a moment to become active after it is created).
	g.Eventually(func(g Gomega) {
		err := env.Client.Delete(ctx(), getRelease(g, ns, "shop-v2"), client.DryRunAll)
		g.Expect(err).To(HaveOccurred())
		g.Expect(err.Error()).To(ContainSubstring("Release shop-v2 is in use by app shop"))
	}, timeout).Should(Succeed())
	// A release that is neither running nor pinned can be deleted.
	g.Expect(env.Client.Delete(ctx(), getRelease(g, ns, "shop-v1"))).To(Succeed())
}
