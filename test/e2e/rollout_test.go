package e2e

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
	"github.com/twelvefactor/twelvefactor-operator/internal/devcluster"
)

func testDeployConfigChangeScaleAndRollback(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	g.Expect(cluster.Client.Create(ctx(), newApp(ns, "shop"))).To(Succeed())

	// Deploy: every pod Ready and the app Ready.
	waitReady(t, ns, "shop", 1)
	g.Expect(podsByRelease(g, ns, "shop", "web")).To(Equal(map[string]int{"1": 2}))
	g.Expect(podsByRelease(g, ns, "shop", "worker")).To(Equal(map[string]int{"1": 1}))

	// A config change rolls out v2 to completion; old pods are gone.
	update(t, ns, "shop", func(a *tfv1.TwelveFactorApp) { a.Spec.Config.Env[0].Value = "debug" })
	waitReady(t, ns, "shop", 2)
	g.Eventually(func(g Gomega) {
		d := deployment(g, ns, "shop-web")
		g.Expect(d.Status.UpdatedReplicas).To(Equal(*d.Spec.Replicas))
		g.Expect(podsByRelease(g, ns, "shop", "web")).To(Equal(map[string]int{"2": 2}))
		g.Expect(podsByRelease(g, ns, "shop", "worker")).To(Equal(map[string]int{"2": 1}))
	}, timeout).Should(Succeed())

	// Scaling makes no release and reaches 5 Ready.
	update(t, ns, "shop", func(a *tfv1.TwelveFactorApp) { a.Spec.Processes[0].Replicas = ptr.To[int32](5) })
	defer func() {
		if t.Failed() {
			pods := &corev1.PodList{}
			_ = cluster.Client.List(ctx(), pods, client.InNamespace(ns))
			for _, p := range pods.Items {
				t.Logf("pod %s node=%q phase=%s conds=%v", p.Name, p.Spec.NodeName, p.Status.Phase, p.Status.Conditions)
			}
		}
	}()
	g.Eventually(func(g Gomega) {
		g.Expect(podsByRelease(g, ns, "shop", "web")).To(Equal(map[string]int{"2": 5}))
		app := getApp(g, ns, "shop")
		g.Expect(app.Status.Processes).To(ContainElement(And(HaveField("Name", "web"), HaveField("Replicas", int32(5)),
			HaveField("ReadyReplicas", int32(5)), HaveField("UpdatedReplicas", int32(5)), HaveField("Release", int32(2)))))
	}, timeout).Should(Succeed())
	g.Expect(releaseNumbers(g, ns, "shop")).To(ConsistOf(int32(1), int32(2)))

	// rollbackTo: 1 runs v1's pods again.
	update(t, ns, "shop", func(a *tfv1.TwelveFactorApp) { a.Spec.RollbackTo = ptr.To[int32](1) })
	waitReady(t, ns, "shop", 1)
	g.Eventually(func(g Gomega) {
		g.Expect(podsByRelease(g, ns, "shop", "web")).To(Equal(map[string]int{"1": 5}))
		g.Expect(podsByRelease(g, ns, "shop", "worker")).To(Equal(map[string]int{"1": 1}))
	}, timeout).Should(Succeed())
	g.Expect(getApp(g, ns, "shop").Status.Pinned).To(BeTrue())
}

func testReleasePhaseCompletesAndTheRolloutFollows(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	app := newApp(ns, "shop")
	app.Spec.Release = &tfv1.ReleasePhaseSpec{Command: []string{"bin/rails", "db:migrate"}}
	g.Expect(cluster.Client.Create(ctx(), app)).To(Succeed())
	waitReady(t, ns, "shop", 1)
	job := &batchv1.Job{}
	g.Expect(cluster.Client.Get(ctx(), client.ObjectKey{Namespace: ns, Name: "shop-v1-release"}, job)).To(Succeed())
	g.Expect(job.Status.Succeeded).To(Equal(int32(1)))
	rel := &tfv1.Release{}
	g.Expect(cluster.Client.Get(ctx(), client.ObjectKey{Namespace: ns, Name: "shop-v1"}, rel)).To(Succeed())
	g.Expect(rel.Status.ReleasePhase).To(Equal(tfv1.PhaseSucceeded))
	g.Expect(rel.Status.Rollout).To(Equal(tfv1.PhaseSucceeded))
}

func testFailingReleasePhaseBlocksTheRollout(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	app := newApp(ns, "shop")
	app.Spec.Release = &tfv1.ReleasePhaseSpec{Command: []string{"bin/rails", "db:migrate"}}
	g.Expect(cluster.Client.Create(ctx(), app)).To(Succeed())
	waitReady(t, ns, "shop", 1)

	// v2's build fails its migration (a KWOK stage fails the Job's pod).
	update(t, ns, "shop", func(a *tfv1.TwelveFactorApp) { a.Spec.Build.Image = image(devcluster.FailMarker+"/shop", 2) })
	g.Eventually(func(g Gomega) {
		g.Expect(conditionReason(g, ns, "shop", tfv1.ConditionReady)).To(Equal("False/" + tfv1.ReasonReleasePhaseFailed))
		rel := &tfv1.Release{}
		g.Expect(cluster.Client.Get(ctx(), client.ObjectKey{Namespace: ns, Name: "shop-v2"}, rel)).To(Succeed())
		g.Expect(rel.Status.ReleasePhase).To(Equal(tfv1.PhaseFailed))
	}, timeout).Should(Succeed())
	// v1 keeps serving.
	g.Consistently(func(g Gomega) {
		g.Expect(podsByRelease(g, ns, "shop", "web")).To(Equal(map[string]int{"1": 2}))
		g.Expect(getApp(g, ns, "shop").Status.CurrentRelease).To(Equal(int32(1)))
	}, 3*time.Second).Should(Succeed())
}

func testNeverReadyRolloutIsReportedAndAutoRolledBack(t *testing.T) {
	g := NewWithT(t)
	for _, auto := range []bool{false, true} {
		ns := newNamespace(t)
		app := newApp(ns, "shop")
		app.Spec.Rollout = &tfv1.RolloutSpec{AutoRollback: auto, ProgressDeadlineSeconds: ptr.To[int32](5)}
		g.Expect(cluster.Client.Create(ctx(), app)).To(Succeed())
		waitReady(t, ns, "shop", 1)

		update(t, ns, "shop", func(a *tfv1.TwelveFactorApp) { a.Spec.Build.Image = image(devcluster.NeverReadyMarker+"/shop", 2) })
		if !auto {
			g.Eventually(func(g Gomega) {
				g.Expect(conditionReason(g, ns, "shop", tfv1.ConditionReady)).To(Equal("False/" + tfv1.ReasonRolloutFailed))
				g.Expect(conditionReason(g, ns, "shop", tfv1.ConditionStalled)).To(Equal("True/" + tfv1.ReasonRolloutFailed))
			}, timeout).Should(Succeed())
			// maxUnavailable 0: v1's pods keep serving while v2's never get Ready.
			g.Expect(podsByRelease(g, ns, "shop", "web")).To(HaveKeyWithValue("1", 2))
			continue
		}
		g.Eventually(func(g Gomega) {
			rel := &tfv1.Release{}
			g.Expect(cluster.Client.Get(ctx(), client.ObjectKey{Namespace: ns, Name: "shop-v2"}, rel)).To(Succeed())
			g.Expect(rel.Status.Rollout).To(Equal(tfv1.PhaseFailed))
			g.Expect(getApp(g, ns, "shop").Status.CurrentRelease).To(Equal(int32(1)))
			g.Expect(podsByRelease(g, ns, "shop", "web")).To(Equal(map[string]int{"1": 2}))
			evs := &eventsv1.EventList{}
			g.Expect(cluster.Client.List(ctx(), evs, client.InNamespace(ns))).To(Succeed())
			g.Expect(evs.Items).To(ContainElement(HaveField("Reason", tfv1.ReasonRolledBack)))
		}, timeout).Should(Succeed())
	}
}

func testDeletingTheAppCollectsWhatItOwnedAndNothingElse(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: ns}, Data: map[string]string{"A": "1"}}
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "shop-secrets", Namespace: ns}, StringData: map[string]string{"B": "2"}}
	g.Expect(cluster.Client.Create(ctx(), cm)).To(Succeed())
	g.Expect(cluster.Client.Create(ctx(), sec)).To(Succeed())
	app := newApp(ns, "shop")
	app.Spec.Config.EnvFrom = []tfv1.EnvFromSource{{ConfigMapRef: &tfv1.LocalObjectReference{Name: "shop"}}, {SecretRef: &tfv1.LocalObjectReference{Name: "shop-secrets"}}}
	g.Expect(cluster.Client.Create(ctx(), app)).To(Succeed())
	waitReady(t, ns, "shop", 1)

	// The running release cannot be deleted by hand...
	g.Eventually(func(g Gomega) {
		rel := &tfv1.Release{}
		g.Expect(cluster.Client.Get(ctx(), client.ObjectKey{Namespace: ns, Name: "shop-v1"}, rel)).To(Succeed())
		err := cluster.Client.Delete(ctx(), rel, client.DryRunAll)
		g.Expect(err).To(HaveOccurred())
		g.Expect(err.Error()).To(ContainSubstring("is in use by app shop"))
	}, timeout).Should(Succeed())

	// ...but deleting the app lets the garbage collector remove everything it owned.
	g.Expect(cluster.Client.Delete(ctx(), getApp(g, ns, "shop"))).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(releaseNumbers(g, ns, "shop")).To(BeEmpty())
		pods := &corev1.PodList{}
		g.Expect(cluster.Client.List(ctx(), pods, client.InNamespace(ns))).To(Succeed())
		g.Expect(pods.Items).To(BeEmpty())
		secrets := &corev1.SecretList{}
		g.Expect(cluster.Client.List(ctx(), secrets, client.InNamespace(ns))).To(Succeed())
		g.Expect(secrets.Items).To(HaveLen(1), "only the user's Secret is left")
		g.Expect(secrets.Items[0].Name).To(Equal("shop-secrets"))
		svcs := &corev1.ServiceList{}
		g.Expect(cluster.Client.List(ctx(), svcs, client.InNamespace(ns))).To(Succeed())
		g.Expect(svcs.Items).To(BeEmpty())
	}, timeout).Should(Succeed())
	g.Expect(cluster.Client.Get(ctx(), client.ObjectKeyFromObject(cm), &corev1.ConfigMap{})).To(Succeed())
	g.Expect(apierrors.IsNotFound(cluster.Client.Get(ctx(), client.ObjectKey{Namespace: ns, Name: "shop-web"}, &corev1.Service{}))).To(BeTrue())
}

func testAdminRunSucceeds(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	g.Expect(cluster.Client.Create(ctx(), newApp(ns, "shop"))).To(Succeed())
	waitReady(t, ns, "shop", 1)
	run := &tfv1.AdminRun{ObjectMeta: metav1.ObjectMeta{Name: "seed", Namespace: ns},
		Spec: tfv1.AdminRunSpec{App: "shop", Command: []string{"rake", "db:seed"}, Serial: true}}
	g.Expect(cluster.Client.Create(ctx(), run)).To(Succeed())
	g.Eventually(func(g Gomega) {
		r := &tfv1.AdminRun{}
		g.Expect(cluster.Client.Get(ctx(), client.ObjectKeyFromObject(run), r)).To(Succeed())
		g.Expect(r.Status.Phase).To(Equal(tfv1.PhaseSucceeded))
		g.Expect(meta.IsStatusConditionTrue(r.Status.Conditions, tfv1.ConditionSucceeded)).To(BeTrue())
		g.Expect(r.Status.PodName).To(HavePrefix("seed-run-"))
		g.Expect(r.Status.Release).To(Equal(int32(1)))
	}, timeout).Should(Succeed())
}
