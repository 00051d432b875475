package controller_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
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
	testenv.SkipIfShort(t)
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

// TestOnlyTheGarbageCollectorAndNamespaceControllerMayDeleteAnInUseRelease
// deletes (dry run) an in-use release as each identity. The garbage collector
// and the namespace controller are exempt under the names
// kube-controller-manager gives them with and without
// --use-service-account-credentials; nobody else is, not another controller
// of kube-system, not a namesake ServiceAccount elsewhere, and not a member of
// kube-system's ServiceAccount group. Every identity is also impersonated in
// system:masters, so RBAC allows the delete and only the policy decides.
func TestOnlyTheGarbageCollectorAndNamespaceControllerMayDeleteAnInUseRelease(t *testing.T) {
	testenv.SkipIfShort(t)
	g := NewWithT(t)
	installReleaseProtection(g)
	ns := newNamespace(t, nil)
	g.Expect(env.Client.Create(ctx(), newApp(ns, "shop"))).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(deploymentRelease(g, ns, "shop-web")).To(Equal("1"))
		g.Expect(getRelease(g, ns, "shop-v1").Labels).To(HaveKeyWithValue(tfv1.LabelInUse, "true"))
	}, timeout).Should(Succeed())
	// Wait until the policy is active, or the exempt cases would pass without it.
	g.Eventually(func(g Gomega) {
		err := env.Client.Delete(ctx(), getRelease(g, ns, "shop-v1"), client.DryRunAll)
		g.Expect(err).To(HaveOccurred())
		g.Expect(err.Error()).To(ContainSubstring("is in use"))
	}, timeout).Should(Succeed())

	kubeSystemSA := []string{"system:serviceaccounts", "system:serviceaccounts:kube-system"}
	for _, tc := range []struct {
		name, user string
		groups     []string
		allowed    bool
	}{
		{"the controller-manager's own identity", "system:kube-controller-manager", nil, true},
		{"the garbage collector's ServiceAccount", "system:serviceaccount:kube-system:generic-garbage-collector", kubeSystemSA, true},
		{"the namespace controller's ServiceAccount", "system:serviceaccount:kube-system:namespace-controller", kubeSystemSA, true},
		{"another controller's ServiceAccount", "system:serviceaccount:kube-system:replicaset-controller", kubeSystemSA, false},
		{"a namesake ServiceAccount in another namespace", "system:serviceaccount:" + ns + ":namespace-controller",
			[]string{"system:serviceaccounts", "system:serviceaccounts:" + ns}, false},
		{"a user in kube-system's ServiceAccount group", "mallory", kubeSystemSA, false},
		{"a cluster admin", "admin", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			cfg := rest.CopyConfig(env.Config)
			cfg.Impersonate = rest.ImpersonationConfig{UserName: tc.user, Groups: append([]string{"system:masters"}, tc.groups...)}
			c, err := client.New(cfg, client.Options{Scheme: testenv.Scheme()})
			g.Expect(err).NotTo(HaveOccurred())
			err = c.Delete(ctx(), getRelease(g, ns, "shop-v1"), client.DryRunAll)
			if tc.allowed {
				g.Expect(err).NotTo(HaveOccurred())
				return
			}
			g.Expect(apierrors.IsForbidden(err)).To(BeTrue(), "%v", err)
			g.Expect(err.Error()).To(ContainSubstring("Release shop-v1 is in use by app shop"))
		})
	}
}

// TestReleaseLeftWithoutSecretsByACrashIsRemade simulates a crash between
// creating a release (labelled in use at creation) and writing its Secrets,
// with the content moving on before the next pass. The next pass must replace
// the never-run release even though the protection policy guards in-use
// releases, and the app must roll to the new content without a gap.
func TestReleaseLeftWithoutSecretsByACrashIsRemade(t *testing.T) {
	testenv.SkipIfShort(t)
	g := NewWithT(t)
	installReleaseProtection(g)
	ns := newNamespace(t, nil)
	g.Expect(env.Client.Create(ctx(), newApp(ns, "shop"))).To(Succeed())
	g.Eventually(func(g Gomega) { g.Expect(deploymentRelease(g, ns, "shop-web")).To(Equal("1")) }, timeout).Should(Succeed())
	// Wait until the policy is active, or the test would pass without it.
	g.Eventually(func(g Gomega) {
		err := env.Client.Delete(ctx(), getRelease(g, ns, "shop-v1"), client.DryRunAll)
		g.Expect(err).To(HaveOccurred())
		g.Expect(err.Error()).To(ContainSubstring("is in use"))
	}, timeout).Should(Succeed())

	// What a crash right after Create leaves: v2, labelled in use, no Secrets.
	v1 := getRelease(g, ns, "shop-v1")
	orphan := func() *tfv1.Release {
		o := &tfv1.Release{ObjectMeta: metav1.ObjectMeta{
			Name: "shop-v2", Namespace: ns, Labels: map[string]string{}, Annotations: v1.Annotations,
			OwnerReferences: v1.OwnerReferences,
		}, Spec: *v1.Spec.DeepCopy()}
		for k, v := range v1.Labels {
			o.Labels[k] = v
		}
		o.Labels[tfv1.LabelRelease] = "2"
		o.Labels[tfv1.LabelInUse] = "true"
		o.Spec.Number = 2
		o.Spec.ContentHash = strings.Repeat("0", len(v1.Spec.ContentHash))
		o.Spec.Description = "Set LOG_LEVEL config"
		o.Spec.EnvSecretName = "shop-v2-env"
		g.Expect(env.Client.Create(ctx(), o)).To(Succeed())
		return o
	}
	history := func() string {
		var b strings.Builder
		for _, r := range releases(g, ns, "shop") {
			fmt.Fprintf(&b, "%s %s %q %v\n", r.Name, r.Spec.ContentHash, r.Spec.Description, r.Labels)
		}
		return b.String()
	}

	// The app's content has not moved: the orphan goes, and v1, which holds
	// the content, stays the latest release (no "Rollback to v1" copy of it).
	orphan()
	g.Eventually(func(g Gomega) { g.Expect(releaseNumbers(g, ns, "shop")).To(Equal([]int32{1})) }, timeout).Should(Succeed(), history)
	g.Consistently(func(g Gomega) {
		g.Expect(releaseNumbers(g, ns, "shop")).To(Equal([]int32{1}))
		g.Expect(deploymentRelease(g, ns, "shop-web")).To(Equal("1"))
	}, 2*time.Second).Should(Succeed(), history)

	// The content moved on while the orphan waited: it is replaced by a v2
	// that holds the new content.
	first := orphan()
	update(t, ns, "shop", func(a *tfv1.TwelveFactorApp) { a.Spec.Config.Env[0].Value = "after-crash" })
	g.Eventually(func(g Gomega) {
		g.Expect(deploymentRelease(g, ns, "shop-web")).To(Equal("2"))
		g.Expect(releaseNumbers(g, ns, "shop")).To(Equal([]int32{1, 2}))
		g.Expect(getRelease(g, ns, "shop-v2").UID).NotTo(Equal(first.UID), "the never-run release was replaced")
		sec := &corev1.Secret{}
		g.Expect(env.Client.Get(ctx(), client.ObjectKey{Namespace: ns, Name: "shop-v2-env"}, sec)).To(Succeed())
		g.Expect(sec.Data).To(HaveKeyWithValue("LOG_LEVEL", []byte("after-crash")))
	}, timeout).Should(Succeed(), history)
}
