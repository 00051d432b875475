package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
	"github.com/twelvefactor/twelvefactor-operator/internal/devcluster"
	"github.com/twelvefactor/twelvefactor-operator/internal/release"
)

// appCondition returns the app's condition of type ct, nil when it has none.
func appCondition(g Gomega, ns, name, ct string) *metav1.Condition {
	return meta.FindStatusCondition(getApp(g, ns, name).Status.Conditions, ct)
}

// templateRelease returns the release label of a Deployment's pod template.
func templateRelease(g Gomega, ns, name string) string {
	return deployment(g, ns, name).Spec.Template.Labels[tfv1.LabelRelease]
}

// expectNothingMade asserts that no Release, release Secret, Deployment or
// Job of the app exists: a refused release left nothing half-made.
func expectNothingMade(g Gomega, ns, app string) {
	g.Expect(releaseNumbers(g, ns, app)).To(BeEmpty())
	sel := client.MatchingLabels{tfv1.LabelApp: app}
	secrets := &corev1.SecretList{}
	g.Expect(cluster.Client.List(ctx(), secrets, client.InNamespace(ns), sel)).To(Succeed())
	g.Expect(secrets.Items).To(BeEmpty())
	deps := &appsv1.DeploymentList{}
	g.Expect(cluster.Client.List(ctx(), deps, client.InNamespace(ns), sel)).To(Succeed())
	g.Expect(deps.Items).To(BeEmpty())
	jobs := &batchv1.JobList{}
	g.Expect(cluster.Client.List(ctx(), jobs, client.InNamespace(ns), sel)).To(Succeed())
	g.Expect(jobs.Items).To(BeEmpty())
}

func envFromConfigMaps(app *tfv1.TwelveFactorApp, names ...string) {
	for _, n := range names {
		app.Spec.Config.EnvFrom = append(app.Spec.Config.EnvFrom, tfv1.EnvFromSource{ConfigMapRef: &tfv1.LocalObjectReference{Name: n}})
	}
}

// testBinarySecretRotationMakesARelease rotates a binary credential to other
// bytes that read the same as UTF-8 (U+FFFD U+FFFD NUL U+FFFD both): the
// content hash is of bytes, so v2 is made and rolled out with the new bytes,
// and v1's snapshot keeps the old ones.
func testBinarySecretRotationMakesARelease(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	oldKey, newKey := []byte{0xff, 0xfe, 0x00, 0x80}, []byte{0xff, 0xfd, 0x00, 0x81}
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "keys", Namespace: ns}, Data: map[string][]byte{"SIGNING_KEY": oldKey}}
	g.Expect(cluster.Client.Create(ctx(), s)).To(Succeed())
	app := newApp(ns, "shop")
	app.Spec.Config.EnvFrom = []tfv1.EnvFromSource{{SecretRef: &tfv1.LocalObjectReference{Name: "keys"}}}
	g.Expect(cluster.Client.Create(ctx(), app)).To(Succeed())
	waitReady(t, ns, "shop", 1)

	g.Expect(cluster.Client.Get(ctx(), client.ObjectKeyFromObject(s), s)).To(Succeed())
	s.Data["SIGNING_KEY"] = newKey
	g.Expect(cluster.Client.Update(ctx(), s)).To(Succeed())
	waitReady(t, ns, "shop", 2)
	g.Eventually(func(g Gomega) {
		g.Expect(templateRelease(g, ns, "shop-web")).To(Equal("2"))
		g.Expect(templateRelease(g, ns, "shop-worker")).To(Equal("2"))
		g.Expect(podsByRelease(g, ns, "shop", "web")).To(Equal(map[string]int{"2": 2}))
		g.Expect(podsByRelease(g, ns, "shop", "worker")).To(Equal(map[string]int{"2": 1}))
	}, timeout).Should(Succeed())
	for n, want := range map[int32][]byte{1: oldKey, 2: newKey} {
		envSecret := &corev1.Secret{}
		g.Expect(cluster.Client.Get(ctx(), client.ObjectKey{Namespace: ns, Name: release.EnvSecretName("shop", n)}, envSecret)).To(Succeed())
		g.Expect(envSecret.Data["SIGNING_KEY"]).To(Equal(want), "v%d", n)
	}
	g.Expect(releaseNumbers(g, ns, "shop")).To(ConsistOf(int32(1), int32(2)))
}

// testEnvironmentOverOneMiBIsRefusedUntilShrunk resolves an environment of
// two ~600 KiB ConfigMaps, over the 1 MiB a Secret holds: nothing is made and
// the app stalls saying so, until the user shrinks one.
func testEnvironmentOverOneMiBIsRefusedUntilShrunk(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	big := strings.Repeat("x", 600*1024)
	for _, name := range []string{"cfg-a", "cfg-b"} {
		g.Expect(cluster.Client.Create(ctx(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Data: map[string]string{strings.ToUpper(name[4:]): big}})).To(Succeed())
	}
	app := newApp(ns, "shop")
	envFromConfigMaps(app, "cfg-a", "cfg-b")
	g.Expect(cluster.Client.Create(ctx(), app)).To(Succeed())

	size := fmt.Sprint(2*len(big) + len("info")) // with LOG_LEVEL=info
	g.Eventually(func(g Gomega) {
		a := getApp(g, ns, "shop")
		for ct, status := range map[string]metav1.ConditionStatus{
			tfv1.ConditionReleased: metav1.ConditionFalse, tfv1.ConditionStalled: metav1.ConditionTrue, tfv1.ConditionReady: metav1.ConditionFalse} {
			c := meta.FindStatusCondition(a.Status.Conditions, ct)
			g.Expect(c).NotTo(BeNil(), ct)
			g.Expect(c.Status).To(Equal(status), ct)
			g.Expect(c.Reason).To(Equal(tfv1.ReasonLimitExceeded), ct)
			g.Expect(c.Message).To(ContainSubstring("1048576 bytes"), ct)
			g.Expect(c.Message).To(ContainSubstring(size), ct)
			g.Expect(c.Message).NotTo(ContainSubstring(big[:64]), "values are never shown")
		}
		g.Expect(a.Status.ObservedGeneration).To(Equal(a.Generation))
	}, timeout).Should(Succeed())
	expectNothingMade(g, ns, "shop")

	// The user shrinks one ConfigMap: v1 is made and runs.
	cm := &corev1.ConfigMap{}
	g.Expect(cluster.Client.Get(ctx(), client.ObjectKey{Namespace: ns, Name: "cfg-b"}, cm)).To(Succeed())
	cm.Data["B"] = "small"
	g.Expect(cluster.Client.Update(ctx(), cm)).To(Succeed())
	waitReady(t, ns, "shop", 1)
	g.Expect(appCondition(g, ns, "shop", tfv1.ConditionStalled)).To(BeNil())
	envSecret := &corev1.Secret{}
	g.Expect(cluster.Client.Get(ctx(), client.ObjectKey{Namespace: ns, Name: release.EnvSecretName("shop", 1)}, envSecret)).To(Succeed())
	g.Expect(envSecret.Data).To(HaveKeyWithValue("B", []byte("small")))
	g.Expect(envSecret.Data["A"]).To(HaveLen(len(big)))
}

// testMoreKeysThanAReleaseListsIsRefused imports 1,100 keys, over the 1,024
// a Release's spec.configKeys may list: nothing is made.
func testMoreKeysThanAReleaseListsIsRefused(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	data := map[string]string{}
	for i := range 1100 {
		data[fmt.Sprintf("KEY_%04d", i)] = "v"
	}
	g.Expect(cluster.Client.Create(ctx(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cfg", Namespace: ns}, Data: data})).To(Succeed())
	app := newApp(ns, "shop")
	envFromConfigMaps(app, "cfg")
	g.Expect(cluster.Client.Create(ctx(), app)).To(Succeed())
	g.Eventually(func(g Gomega) {
		for ct, status := range map[string]metav1.ConditionStatus{
			tfv1.ConditionReleased: metav1.ConditionFalse, tfv1.ConditionStalled: metav1.ConditionTrue} {
			c := appCondition(g, ns, "shop", ct)
			g.Expect(c).NotTo(BeNil(), ct)
			g.Expect(c.Status).To(Equal(status), ct)
			g.Expect(c.Reason).To(Equal(tfv1.ReasonLimitExceeded), ct)
			g.Expect(c.Message).To(ContainSubstring("1101 keys"), ct) // with LOG_LEVEL
			g.Expect(c.Message).To(ContainSubstring("1024"), ct)
			g.Expect(c.Message).To(ContainSubstring("spec.config.envFrom"), ct)
		}
	}, timeout).Should(Succeed())
	expectNothingMade(g, ns, "shop")
}

// testLongKeysShortenTheDescription adds nine 250-character keys to an app at
// v1: the description of v2 is shortened to fit, never a reason to fail.
func testLongKeysShortenTheDescription(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cfg", Namespace: ns}, Data: map[string]string{"A": "1"}}
	g.Expect(cluster.Client.Create(ctx(), cm)).To(Succeed())
	app := newApp(ns, "shop")
	envFromConfigMaps(app, "cfg")
	g.Expect(cluster.Client.Create(ctx(), app)).To(Succeed())
	waitReady(t, ns, "shop", 1)

	var keys []string
	for i := range 9 {
		k := fmt.Sprintf("LONG_KEY_%d_", i)
		keys = append(keys, k+strings.Repeat("K", 250-len(k)))
	}
	g.Expect(cluster.Client.Get(ctx(), client.ObjectKeyFromObject(cm), cm)).To(Succeed())
	for _, k := range keys {
		cm.Data[k] = "v"
	}
	g.Expect(cluster.Client.Update(ctx(), cm)).To(Succeed())
	waitReady(t, ns, "shop", 2)
	rel := getRelease(g, ns, "shop-v2")
	g.Expect(rel.Spec.Description).NotTo(BeEmpty())
	g.Expect(len(rel.Spec.Description)).To(BeNumerically("<=", 1024), rel.Spec.Description)
	g.Expect(rel.Spec.ConfigKeys).To(ContainElements(keys))
	g.Eventually(func(g Gomega) {
		g.Expect(podsByRelease(g, ns, "shop", "web")).To(Equal(map[string]int{"2": 2}))
	}, timeout).Should(Succeed())
}

// testMalformedImageReferencesAreRefusedAtAdmission creates, and updates a
// running app to, image references outside the distribution grammar.
func testMalformedImageReferencesAreRefusedAtAdmission(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	g.Expect(cluster.Client.Create(ctx(), newApp(ns, "shop"))).To(Succeed())
	waitReady(t, ns, "shop", 1)
	web := deployment(g, ns, "shop-web")

	for i, img := range []string{"Acme/Shop:1.0", "registry.example/shop@sha256:abc"} {
		app := newApp(ns, fmt.Sprintf("bad-%d", i))
		app.Spec.Build.Image = img
		err := cluster.Client.Create(ctx(), app)
		g.Expect(apierrors.IsInvalid(err)).To(BeTrue(), "%s: %v", img, err)
		g.Expect(err.Error()).To(ContainSubstring("spec.build.image"), img)
		g.Expect(apierrors.IsNotFound(cluster.Client.Get(ctx(), client.ObjectKeyFromObject(app), &tfv1.TwelveFactorApp{}))).To(BeTrue())
		expectNothingMade(g, ns, app.Name)

		running := getApp(g, ns, "shop")
		running.Spec.Build.Image = img
		err = cluster.Client.Update(ctx(), running)
		g.Expect(apierrors.IsInvalid(err)).To(BeTrue(), "%s: %v", img, err)
		g.Expect(err.Error()).To(ContainSubstring("spec.build.image"), img)
	}
	g.Expect(getApp(g, ns, "shop").Spec.Build.Image).To(Equal(image("shop", 1)))
	g.Expect(releaseNumbers(g, ns, "shop")).To(ConsistOf(int32(1)))
	g.Expect(deployment(g, ns, "shop-web").Generation).To(Equal(web.Generation))
}

// testPinnedReleaseStaysReadyWhenItsConfigMapGoes deletes the ConfigMap an
// app imports while it is pinned to an Available release: the pin runs a
// snapshot, so the app stays Ready and says it observed its generation; the
// missing ConfigMap is reported on Released.
func testPinnedReleaseStaysReadyWhenItsConfigMapGoes(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	g.Expect(cluster.Client.Create(ctx(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cfg", Namespace: ns},
		Data: map[string]string{"A": "1"}})).To(Succeed())
	app := newApp(ns, "shop")
	envFromConfigMaps(app, "cfg")
	g.Expect(cluster.Client.Create(ctx(), app)).To(Succeed())
	waitReady(t, ns, "shop", 1)
	update(t, ns, "shop", func(a *tfv1.TwelveFactorApp) { a.Spec.Config.Env[0].Value = "debug" })
	waitReady(t, ns, "shop", 2)
	update(t, ns, "shop", func(a *tfv1.TwelveFactorApp) { a.Spec.RollbackTo = ptr.To[int32](1) })
	waitReady(t, ns, "shop", 1)
	g.Eventually(func(g Gomega) {
		g.Expect(podsByRelease(g, ns, "shop", "web")).To(Equal(map[string]int{"1": 2}))
	}, timeout).Should(Succeed())

	g.Expect(cluster.Client.Delete(ctx(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cfg", Namespace: ns}})).To(Succeed())
	g.Eventually(func(g Gomega) {
		a := getApp(g, ns, "shop")
		released := meta.FindStatusCondition(a.Status.Conditions, tfv1.ConditionReleased)
		g.Expect(released).NotTo(BeNil())
		g.Expect(released.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(released.Reason).To(Equal(tfv1.ReasonConfigNotFound))
		g.Expect(released.Message).To(ContainSubstring(`ConfigMap "cfg" named in spec.config.envFrom[0] does not exist`))
		ready := meta.FindStatusCondition(a.Status.Conditions, tfv1.ConditionReady)
		g.Expect(ready).NotTo(BeNil())
		g.Expect(ready.Status).To(Equal(metav1.ConditionTrue), ready.Message)
		g.Expect(meta.FindStatusCondition(a.Status.Conditions, tfv1.ConditionStalled)).To(BeNil())
		g.Expect(a.Status.ObservedGeneration).To(Equal(a.Generation))
		g.Expect(a.Status.CurrentRelease).To(Equal(int32(1)))
		g.Expect(a.Status.Pinned).To(BeTrue())
	}, timeout).Should(Succeed())
	g.Expect(podsByRelease(g, ns, "shop", "web")).To(Equal(map[string]int{"1": 2}))
	g.Expect(releaseNumbers(g, ns, "shop")).To(ConsistOf(int32(1), int32(2)))
}

// testRollbackToAPrunedReleaseStallsAndChangesNothing pins an app to a
// release that history pruning removed.
func testRollbackToAPrunedReleaseStallsAndChangesNothing(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	app := newApp(ns, "shop")
	app.Spec.Release = &tfv1.ReleasePhaseSpec{HistoryLimit: ptr.To[int32](2)}
	g.Expect(cluster.Client.Create(ctx(), app)).To(Succeed())
	waitReady(t, ns, "shop", 1)
	for n, level := range []string{"debug", "warn"} {
		update(t, ns, "shop", func(a *tfv1.TwelveFactorApp) { a.Spec.Config.Env[0].Value = level })
		waitReady(t, ns, "shop", int32(n+2))
	}
	g.Eventually(func(g Gomega) {
		g.Expect(releaseNumbers(g, ns, "shop")).To(ConsistOf(int32(2), int32(3)))
		g.Expect(podsByRelease(g, ns, "shop", "web")).To(Equal(map[string]int{"3": 2}))
	}, timeout).Should(Succeed())
	gens := map[string]int64{}
	for _, d := range []string{"shop-web", "shop-worker"} {
		gens[d] = deployment(g, ns, d).Generation
	}

	update(t, ns, "shop", func(a *tfv1.TwelveFactorApp) { a.Spec.RollbackTo = ptr.To[int32](1) })
	g.Eventually(func(g Gomega) {
		a := getApp(g, ns, "shop")
		stalled := meta.FindStatusCondition(a.Status.Conditions, tfv1.ConditionStalled)
		g.Expect(stalled).NotTo(BeNil())
		g.Expect(stalled.Status).To(Equal(metav1.ConditionTrue))
		g.Expect(stalled.Reason).To(Equal(tfv1.ReasonReleaseNotFound))
		g.Expect(stalled.Message).To(ContainSubstring("spec.rollbackTo names v1, which does not exist; available releases: v2, v3"))
		ready := meta.FindStatusCondition(a.Status.Conditions, tfv1.ConditionReady)
		g.Expect(ready).NotTo(BeNil())
		g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(ready.Reason).To(Equal(tfv1.ReasonReleaseNotFound))
		g.Expect(a.Status.ObservedGeneration).To(Equal(a.Generation))
		g.Expect(a.Status.CurrentRelease).To(Equal(int32(3)))
		g.Expect(a.Status.Pinned).To(BeFalse())
	}, timeout).Should(Succeed())
	// What runs is unchanged: no Deployment was written, the pods are v3's.
	for d, gen := range gens {
		g.Expect(deployment(g, ns, d).Generation).To(Equal(gen), d)
		g.Expect(templateRelease(g, ns, d)).To(Equal("3"), d)
	}
	g.Expect(podsByRelease(g, ns, "shop", "web")).To(Equal(map[string]int{"3": 2}))
	g.Expect(releaseNumbers(g, ns, "shop")).To(ConsistOf(int32(2), int32(3)))
}

// testHistoryLimitNeverPrunesThePinnedRelease keeps one release of history
// while the app is pinned to an older one: the pinned (and running) release
// stays while newer ones are pruned, and goes once the pin is removed.
func testHistoryLimitNeverPrunesThePinnedRelease(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	app := newApp(ns, "shop")
	app.Spec.Release = &tfv1.ReleasePhaseSpec{HistoryLimit: ptr.To[int32](1)}
	g.Expect(cluster.Client.Create(ctx(), app)).To(Succeed())
	waitReady(t, ns, "shop", 1)

	pinnedAtV1 := func(g Gomega, releases ...int32) {
		a := getApp(g, ns, "shop")
		g.Expect(a.Status.Pinned).To(BeTrue())
		g.Expect(a.Status.CurrentRelease).To(Equal(int32(1)))
		g.Expect(a.Status.LatestRelease).To(Equal(releases[len(releases)-1]))
		g.Expect(meta.IsStatusConditionTrue(a.Status.Conditions, tfv1.ConditionReady)).To(BeTrue())
		g.Expect(releaseNumbers(g, ns, "shop")).To(ConsistOf(releases))
		g.Expect(getRelease(g, ns, "shop-v1").Labels).To(HaveKeyWithValue(tfv1.LabelInUse, "true"))
		g.Expect(podsByRelease(g, ns, "shop", "web")).To(Equal(map[string]int{"1": 2}))
	}
	// A change made while pinned: v2 is made, v1 keeps running.
	update(t, ns, "shop", func(a *tfv1.TwelveFactorApp) {
		a.Spec.Config.Env[0].Value = "debug"
		a.Spec.RollbackTo = ptr.To[int32](1)
	})
	g.Eventually(func(g Gomega) { pinnedAtV1(g, 1, 2) }, timeout).Should(Succeed())
	// Another: v3 is made and v2 pruned, never the pinned v1.
	update(t, ns, "shop", func(a *tfv1.TwelveFactorApp) { a.Spec.Config.Env[0].Value = "warn" })
	g.Eventually(func(g Gomega) { pinnedAtV1(g, 1, 3) }, timeout).Should(Succeed())
	g.Consistently(func(g Gomega) { pinnedAtV1(g, 1, 3) }, 3*time.Second).Should(Succeed())

	// Unpinned, v3 runs and v1 is pruned in its turn.
	update(t, ns, "shop", func(a *tfv1.TwelveFactorApp) { a.Spec.RollbackTo = nil })
	waitReady(t, ns, "shop", 3)
	g.Eventually(func(g Gomega) {
		g.Expect(releaseNumbers(g, ns, "shop")).To(ConsistOf(int32(3)))
	}, timeout).Should(Succeed())
}

// testAdminRunPastItsDeadlineFails runs an admin command that never ends
// (a KWOK stage keeps the Job's pod running) past its activeDeadlineSeconds.
func testAdminRunPastItsDeadlineFails(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	app := newApp(ns, "shop")
	app.Spec.Build.Image = image(devcluster.NeverCompleteMarker+"/shop", 1)
	g.Expect(cluster.Client.Create(ctx(), app)).To(Succeed())
	waitReady(t, ns, "shop", 1)
	run := &tfv1.AdminRun{ObjectMeta: metav1.ObjectMeta{Name: "hang", Namespace: ns},
		Spec: tfv1.AdminRunSpec{App: "shop", Command: []string{"rake", "forever"}, ActiveDeadlineSeconds: ptr.To[int64](3)}}
	g.Expect(cluster.Client.Create(ctx(), run)).To(Succeed())

	g.Eventually(func(g Gomega) {
		r := &tfv1.AdminRun{}
		g.Expect(cluster.Client.Get(ctx(), client.ObjectKeyFromObject(run), r)).To(Succeed())
		g.Expect(r.Status.Phase).To(Equal(tfv1.PhaseFailed))
		g.Expect(r.Status.CompletionTime).NotTo(BeNil())
		g.Expect(r.Status.PodName).To(HavePrefix("hang-run-"))
		failed := meta.FindStatusCondition(r.Status.Conditions, tfv1.ConditionFailed)
		g.Expect(failed).NotTo(BeNil())
		g.Expect(failed.Status).To(Equal(metav1.ConditionTrue))
		g.Expect(failed.Reason).To(Equal(tfv1.ReasonJobFailed))
		g.Expect(failed.Message).To(Equal(
			"The run was stopped after spec.activeDeadlineSeconds (3s) passed (DeadlineExceeded): raise it, or make the command finish sooner"))
		g.Expect(meta.IsStatusConditionFalse(r.Status.Conditions, tfv1.ConditionRunning)).To(BeTrue())
		g.Expect(meta.FindStatusCondition(r.Status.Conditions, tfv1.ConditionSucceeded)).To(BeNil())
	}, timeout).Should(Succeed())
	// The run ended by its deadline, not by completing, and nothing runs on.
	job := &batchv1.Job{}
	g.Expect(cluster.Client.Get(ctx(), client.ObjectKey{Namespace: ns, Name: "hang-run"}, job)).To(Succeed())
	g.Expect(job.Status.Succeeded).To(BeZero())
	g.Expect(job.Status.Conditions).To(ContainElement(And(HaveField("Reason", batchv1.JobReasonDeadlineExceeded),
		HaveField("Status", corev1.ConditionTrue))))
	g.Eventually(func(g Gomega) {
		pods := &corev1.PodList{}
		g.Expect(cluster.Client.List(ctx(), pods, client.InNamespace(ns), client.MatchingLabels{"batch.kubernetes.io/job-name": "hang-run"})).To(Succeed())
		g.Expect(pods.Items).To(BeEmpty())
	}, timeout).Should(Succeed())
}
