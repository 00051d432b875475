package controller_test

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
	"github.com/twelvefactor/twelvefactor-operator/internal/policy"
	"github.com/twelvefactor/twelvefactor-operator/internal/testenv"
)

// A binary credential rotated to other bytes makes a new release: the
// content hash is of bytes, not of their UTF-8 reading.
func TestBinarySecretRotationMakesARelease(t *testing.T) {
	testenv.SkipIfShort(t)
	g := NewWithT(t)
	ns := newNamespace(t, nil)
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "keys", Namespace: ns},
		Data: map[string][]byte{"SIGNING_KEY": {0xff, 0xfe, 0x00, 0x80}}}
	g.Expect(env.Client.Create(ctx(), s)).To(Succeed())
	app := newApp(ns, "shop")
	app.Spec.Config.EnvFrom = []tfv1.EnvFromSource{{SecretRef: &tfv1.LocalObjectReference{Name: "keys"}}}
	g.Expect(env.Client.Create(ctx(), app)).To(Succeed())
	g.Eventually(func(g Gomega) { g.Expect(deploymentRelease(g, ns, "shop-web")).To(Equal("1")) }, timeout).Should(Succeed())

	// Both values read as U+FFFD U+FFFD NUL U+FFFD in UTF-8.
	g.Expect(env.Client.Get(ctx(), client.ObjectKeyFromObject(s), s)).To(Succeed())
	s.Data["SIGNING_KEY"] = []byte{0xff, 0xfd, 0x00, 0x81}
	g.Expect(env.Client.Update(ctx(), s)).To(Succeed())
	g.Eventually(func(g Gomega) { g.Expect(deploymentRelease(g, ns, "shop-web")).To(Equal("2")) }, timeout).Should(Succeed())
	envSecret := &corev1.Secret{}
	g.Expect(env.Client.Get(ctx(), client.ObjectKey{Namespace: ns, Name: "shop-v2-env"}, envSecret)).To(Succeed())
	g.Expect(envSecret.Data["SIGNING_KEY"]).To(Equal([]byte{0xff, 0xfd, 0x00, 0x81}))
}

// Content over a Kubernetes limit is refused with a condition that names the
// limit, the size and the fix, and no Release (half-made or not) is created.
func TestContentOverALimitMakesNoReleaseAndSaysWhy(t *testing.T) {
	testenv.SkipIfShort(t)
	big := strings.Repeat("x", 600*1024)
	manyKeys := map[string]string{}
	for i := range 1100 {
		manyKeys[fmt.Sprintf("KEY_%04d", i)] = "v"
	}
	cases := []struct {
		name     string
		maps     []map[string]string
		contains []string
	}{
		{"environment over 1 MiB", []map[string]string{{"A": big}, {"B": big}},
			[]string{"1048576 bytes", fmt.Sprint(2*len(big) + len("info")), "spec.config"}},
		{"more keys than a Release lists", []map[string]string{manyKeys},
			[]string{"1101 keys", "1024", "spec.config.envFrom"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			ns := newNamespace(t, nil)
			app := newApp(ns, "shop")
			for i, data := range tc.maps {
				name := fmt.Sprintf("cfg%d", i)
				g.Expect(env.Client.Create(ctx(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Data: data})).To(Succeed())
				app.Spec.Config.EnvFrom = append(app.Spec.Config.EnvFrom, tfv1.EnvFromSource{ConfigMapRef: &tfv1.LocalObjectReference{Name: name}})
			}
			g.Expect(env.Client.Create(ctx(), app)).To(Succeed())
			g.Eventually(func(g Gomega) {
				a := getApp(g, ns, "shop")
				for _, ct := range []string{tfv1.ConditionReleased, tfv1.ConditionStalled} {
					c := condition(g, ns, "shop", ct)
					g.Expect(c).NotTo(BeNil(), ct)
					g.Expect(c.Reason).To(Equal(tfv1.ReasonLimitExceeded), ct)
					for _, s := range tc.contains {
						g.Expect(c.Message).To(ContainSubstring(s), ct)
					}
					g.Expect(c.Message).NotTo(ContainSubstring(big[:64]))
				}
				g.Expect(a.Status.ObservedGeneration).To(Equal(a.Generation))
			}, timeout).Should(Succeed())
			g.Expect(releaseNumbers(g, ns, "shop")).To(BeEmpty())
			secrets := &corev1.SecretList{}
			g.Expect(env.Client.List(ctx(), secrets, client.InNamespace(ns), client.MatchingLabels{tfv1.LabelApp: "shop"})).To(Succeed())
			g.Expect(secrets.Items).To(BeEmpty())
		})
	}
}

// Keys that are not portable names, and keys the pod's own env overrides, are
// reported in factor III by name.
func TestNonPortableAndShadowedKeysAreReportedInFactorIII(t *testing.T) {
	testenv.SkipIfShort(t)
	g := NewWithT(t)
	ns := newNamespace(t, nil)
	g.Expect(env.Client.Create(ctx(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cfg", Namespace: ns},
		Data: map[string]string{"foo.bar": "1", "APP_NAME": "other", "GOOD": "ok"}})).To(Succeed())
	app := newApp(ns, "shop")
	app.Spec.Config.EnvFrom = []tfv1.EnvFromSource{{ConfigMapRef: &tfv1.LocalObjectReference{Name: "cfg"}}}
	g.Expect(env.Client.Create(ctx(), app)).To(Succeed())
	g.Eventually(func(g Gomega) {
		reasons := map[string]string{}
		for _, f := range getApp(g, ns, "shop").Status.Factors {
			if f.Factor == "III" {
				reasons[f.Reason] = f.Message
			}
		}
		g.Expect(reasons).To(HaveKey(policy.ReasonNonPortableEnvName))
		msg := reasons[policy.ReasonNonPortableEnvName]
		g.Expect(msg).To(ContainSubstring(`"foo.bar"`))
		g.Expect(msg).To(ContainSubstring("APP_NAME by the operator"))
		g.Expect(msg).NotTo(ContainSubstring("GOOD"))
		g.Expect(msg).NotTo(ContainSubstring("other"), "values are never named")
		// The env Secret holds what the pods see: APP_NAME is the operator's.
		sec := &corev1.Secret{}
		g.Expect(env.Client.Get(ctx(), client.ObjectKey{Namespace: ns, Name: "shop-v1-env"}, sec)).To(Succeed())
		g.Expect(sec.Data).To(HaveKey("GOOD"))
		g.Expect(sec.Data).NotTo(HaveKey("APP_NAME"))
	}, timeout).Should(Succeed())
}

// A pin that runs is Ready even when the spec cannot be released, and the
// status says it observed the generation that pinned.
func TestAPinThatRunsIsReadyWhileTheSpecIsBlocked(t *testing.T) {
	testenv.SkipIfShort(t)
	g := NewWithT(t)
	ns := newNamespace(t, nil)
	g.Expect(env.Client.Create(ctx(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cfg", Namespace: ns},
		Data: map[string]string{"A": "1"}})).To(Succeed())
	app := newApp(ns, "shop")
	app.Spec.Config.EnvFrom = []tfv1.EnvFromSource{{ConfigMapRef: &tfv1.LocalObjectReference{Name: "cfg"}}}
	g.Expect(env.Client.Create(ctx(), app)).To(Succeed())
	g.Eventually(func(g Gomega) { g.Expect(deploymentRelease(g, ns, "shop-web")).To(Equal("1")) }, timeout).Should(Succeed())
	update(t, ns, "shop", func(a *tfv1.TwelveFactorApp) { a.Spec.Config.Env[0].Value = "debug" })
	g.Eventually(func(g Gomega) { g.Expect(deploymentRelease(g, ns, "shop-web")).To(Equal("2")) }, timeout).Should(Succeed())

	g.Expect(env.Client.Delete(ctx(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cfg", Namespace: ns}})).To(Succeed())
	update(t, ns, "shop", func(a *tfv1.TwelveFactorApp) { a.Spec.RollbackTo = ptr.To[int32](1) })
	g.Eventually(func(g Gomega) { g.Expect(deploymentRelease(g, ns, "shop-web")).To(Equal("1")) }, timeout).Should(Succeed())
	// envtest has no Deployment controller: mark the Deployments Available.
	g.Eventually(func(g Gomega) {
		markAvailable(g, ns, "shop-web")
		markAvailable(g, ns, "shop-worker")
		a := getApp(g, ns, "shop")
		ready := condition(g, ns, "shop", tfv1.ConditionReady)
		g.Expect(ready).NotTo(BeNil())
		g.Expect(ready.Status).To(Equal(metav1.ConditionTrue), ready.Message)
		g.Expect(a.Status.ObservedGeneration).To(Equal(a.Generation))
		g.Expect(reason(g, ns, "shop", tfv1.ConditionReleased)).To(Equal(tfv1.ReasonConfigNotFound))
	}, timeout).Should(Succeed())
}

// A registry that accepts connections and never answers holds no reconcile
// worker: an app whose image is a digest is released while twenty apps wait
// on the dead registry, and those say what they wait for.
func TestADeadRegistryDelaysNoOtherApp(t *testing.T) {
	testenv.SkipIfShort(t)
	g := NewWithT(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	g.Expect(err).NotTo(HaveOccurred())
	t.Cleanup(func() { _ = l.Close() })
	var held []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c) // accepted, never answered
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			_ = c.Close()
		}
	})
	ns := newNamespace(t, nil)
	for i := range 20 {
		a := newApp(ns, fmt.Sprintf("stuck-%02d", i))
		a.Spec.Build.Image = fmt.Sprintf("%s/stuck/app%d:1.0", l.Addr().String(), i)
		g.Expect(env.Client.Create(ctx(), a)).To(Succeed())
	}
	g.Expect(env.Client.Create(ctx(), newApp(ns, "pinned"))).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(getApp(g, ns, "pinned").Status.LatestRelease).To(Equal(int32(1)))
	}, timeout).Should(Succeed())
	// Ordering, not timing: the digest app is released while the others wait.
	waiting := 0
	for i := range 20 {
		a := getApp(g, ns, fmt.Sprintf("stuck-%02d", i))
		if a.Status.LatestRelease == 0 {
			waiting++
		}
	}
	g.Expect(waiting).To(Equal(20))
	g.Eventually(func(g Gomega) {
		g.Expect(reason(g, ns, "stuck-00", tfv1.ConditionReleased)).To(Equal(tfv1.ReasonResolvingImage))
	}, timeout).Should(Succeed())
}

// Requests above limits are refused by the API server in a pod template; the
// CRD cannot say it within CEL's cost budget, so the app stalls with the field
// named and nothing is made.
func TestRequestsAboveLimitsStallWithTheFieldNamed(t *testing.T) {
	testenv.SkipIfShort(t)
	g := NewWithT(t)
	ns := newNamespace(t, nil)
	a := newApp(ns, "shop")
	a.Spec.Processes[0].Resources = &corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourceMemory: resource.MustParse("64Mi")},
		Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
	}
	g.Expect(env.Client.Create(ctx(), a)).To(Succeed())
	g.Eventually(func(g Gomega) {
		c := condition(g, ns, "shop", tfv1.ConditionStalled)
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.Reason).To(Equal(tfv1.ReasonInvalidSpec))
		g.Expect(c.Message).To(ContainSubstring("spec.processes[web].resources: requests.cpu (2) exceeds limits.cpu (500m)"))
		g.Expect(c.Message).NotTo(ContainSubstring("memory"), "equal is allowed")
	}, timeout).Should(Succeed())
	g.Expect(releaseNumbers(g, ns, "shop")).To(BeEmpty())
}

// Switching a namespace from enforce to warn brings a pass at once for an app
// the policy stalled: no change to the app, no wait for a resync.
func TestLeavingEnforceModeReleasesAStalledAppAtOnce(t *testing.T) {
	testenv.SkipIfShort(t)
	g := NewWithT(t)
	ns := newNamespace(t, map[string]string{tfv1.LabelPolicy: tfv1.PolicyEnforce})
	a := newApp(ns, "shop")
	a.Spec.Config.Env = append(a.Spec.Config.Env, tfv1.EnvVar{Name: "API_TOKEN", Value: "literal-token"})
	g.Expect(env.Client.Create(ctx(), a)).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(reason(g, ns, "shop", tfv1.ConditionStalled)).To(Equal(policy.ReasonSecretInLiteral))
	}, timeout).Should(Succeed())
	g.Expect(releaseNumbers(g, ns, "shop")).To(BeEmpty())

	n := &corev1.Namespace{}
	g.Expect(env.Client.Get(ctx(), client.ObjectKey{Name: ns}, n)).To(Succeed())
	n.Labels[tfv1.LabelPolicy] = tfv1.PolicyWarn
	g.Expect(env.Client.Update(ctx(), n)).To(Succeed())
	g.Eventually(func(g Gomega) { g.Expect(releaseNumbers(g, ns, "shop")).To(ConsistOf(int32(1))) }, timeout).Should(Succeed())
}

// A promoted app stalled on a digest mismatch is released as soon as its
// upstream runs the expected digest.
func TestAPromotionIsRecheckedWhenTheUpstreamMoves(t *testing.T) {
	testenv.SkipIfShort(t)
	g := NewWithT(t)
	ns := newNamespace(t, map[string]string{tfv1.LabelPolicy: tfv1.PolicyEnforce})
	other := "registry.example/shop@sha256:2222222222222222222222222222222222222222222222222222222222222222"
	staging := newApp(ns, "staging")
	g.Expect(env.Client.Create(ctx(), staging)).To(Succeed())
	g.Eventually(func(g Gomega) { g.Expect(getApp(g, ns, "staging").Status.Image).To(Equal(digestImage)) }, timeout).Should(Succeed())

	prod := newApp(ns, "prod")
	prod.Spec.Build.Image = other
	prod.Spec.Promotion = &tfv1.PromotionSpec{From: "staging"}
	g.Expect(env.Client.Create(ctx(), prod)).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(reason(g, ns, "prod", tfv1.ConditionStalled)).To(Equal(policy.ReasonDigestMismatch))
	}, timeout).Should(Succeed())
	g.Expect(releaseNumbers(g, ns, "prod")).To(BeEmpty())

	update(t, ns, "staging", func(a *tfv1.TwelveFactorApp) { a.Spec.Build.Image = other })
	g.Eventually(func(g Gomega) { g.Expect(releaseNumbers(g, ns, "prod")).To(ConsistOf(int32(1))) }, timeout).Should(Succeed())
}
