package controller_test

import (
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
	"github.com/twelvefactor/twelvefactor-operator/internal/testenv"
)

// markAvailable writes a Deployment's status as the Deployment controller
// would once every replica is updated and available (envtest runs no
// controllers; the simulated-cluster tests do this for real).
func markAvailable(g Gomega, ns, name string) {
	d := getDeployment(g, ns, name)
	n := ptr.Deref(d.Spec.Replicas, 1)
	d.Status = appsv1.DeploymentStatus{ObservedGeneration: d.Generation, Replicas: n, UpdatedReplicas: n, ReadyReplicas: n, AvailableReplicas: n,
		Conditions: []appsv1.DeploymentCondition{{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, Reason: "MinimumReplicasAvailable"}}}
	g.Expect(env.Client.Status().Update(ctx(), d)).To(Succeed())
}

// markStuck writes the status of a rollout that exceeded its progress deadline.
func markStuck(g Gomega, ns, name string) {
	d := getDeployment(g, ns, name)
	d.Status = appsv1.DeploymentStatus{ObservedGeneration: d.Generation, Replicas: 2, UpdatedReplicas: 1, ReadyReplicas: 1, AvailableReplicas: 1,
		Conditions: []appsv1.DeploymentCondition{{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionFalse, Reason: "ProgressDeadlineExceeded"}}}
	g.Expect(env.Client.Status().Update(ctx(), d)).To(Succeed())
}

func kstatus(g Gomega, ns, name string) status.Status {
	app := getApp(g, ns, name)
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(app)
	g.Expect(err).NotTo(HaveOccurred())
	res, err := status.Compute(&unstructuredObj{Object: u})
	g.Expect(err).NotTo(HaveOccurred())
	return res.Status
}

func TestReadyAndKstatusFollowTheRollout(t *testing.T) {
	testenv.SkipIfShort(t)
	g := NewWithT(t)
	ns := newNamespace(t, nil)
	g.Expect(env.Client.Create(ctx(), newApp(ns, "shop"))).To(Succeed())
	g.Eventually(func(g Gomega) { g.Expect(deploymentRelease(g, ns, "shop-worker")).To(Equal("1")) }, timeout).Should(Succeed())

	// Rolling out: InProgress for Flux and Helm's kstatus.
	g.Eventually(func(g Gomega) {
		g.Expect(reason(g, ns, "shop", tfv1.ConditionReconciling)).To(Equal(tfv1.ReasonRollingOut))
		g.Expect(kstatus(g, ns, "shop")).To(Equal(status.InProgressStatus))
	}, timeout).Should(Succeed())

	markAvailable(g, ns, "shop-web")
	markAvailable(g, ns, "shop-worker")
	g.Eventually(func(g Gomega) {
		ready := condition(g, ns, "shop", tfv1.ConditionReady)
		g.Expect(ready).NotTo(BeNil())
		g.Expect(ready.Status).To(Equal(metav1.ConditionTrue))
		g.Expect(kstatus(g, ns, "shop")).To(Equal(status.CurrentStatus))
		g.Expect(getRelease(g, ns, "shop-v1").Status.Rollout).To(Equal(tfv1.PhaseSucceeded))
		app := getApp(g, ns, "shop")
		g.Expect(app.Status.Processes).To(ContainElement(tfv1.ProcessStatus{Name: "web", Replicas: 2, ReadyReplicas: 2, UpdatedReplicas: 2, Release: 1}))
	}, timeout).Should(Succeed())

	// Stalled: Failed.
	update(t, ns, "shop", func(a *tfv1.TwelveFactorApp) { a.Spec.RollbackTo = ptr.To[int32](42) })
	g.Eventually(func(g Gomega) { g.Expect(kstatus(g, ns, "shop")).To(Equal(status.FailedStatus)) }, timeout).Should(Succeed())
}

func TestAutoRollbackReturnsToTheLastGoodRelease(t *testing.T) {
	testenv.SkipIfShort(t)
	g := NewWithT(t)
	ns := newNamespace(t, nil)
	app := newApp(ns, "shop")
	app.Spec.Rollout = &tfv1.RolloutSpec{AutoRollback: true, ProgressDeadlineSeconds: ptr.To[int32](30)}
	g.Expect(env.Client.Create(ctx(), app)).To(Succeed())
	g.Eventually(func(g Gomega) { g.Expect(deploymentRelease(g, ns, "shop-worker")).To(Equal("1")) }, timeout).Should(Succeed())
	g.Expect(getDeployment(g, ns, "shop-web").Spec.ProgressDeadlineSeconds).To(Equal(ptr.To[int32](30)))
	markAvailable(g, ns, "shop-web")
	markAvailable(g, ns, "shop-worker")
	g.Eventually(func(g Gomega) { g.Expect(getRelease(g, ns, "shop-v1").Status.Rollout).To(Equal(tfv1.PhaseSucceeded)) }, timeout).Should(Succeed())

	update(t, ns, "shop", func(a *tfv1.TwelveFactorApp) { a.Spec.Config.Env[0].Value = "broken" })
	g.Eventually(func(g Gomega) { g.Expect(deploymentRelease(g, ns, "shop-web")).To(Equal("2")) }, timeout).Should(Succeed())
	markStuck(g, ns, "shop-web")
	g.Eventually(func(g Gomega) {
		g.Expect(getRelease(g, ns, "shop-v2").Status.Rollout).To(Equal(tfv1.PhaseFailed))
		g.Expect(deploymentRelease(g, ns, "shop-web")).To(Equal("1"))
		g.Expect(deploymentRelease(g, ns, "shop-worker")).To(Equal("1"))
		g.Expect(reason(g, ns, "shop", tfv1.ConditionStalled)).To(Equal(tfv1.ReasonRolloutFailed))
		g.Expect(reason(g, ns, "shop", tfv1.ConditionReady)).To(Equal(tfv1.ReasonRolloutFailed))
		evs := &eventsv1.EventList{}
		g.Expect(env.Client.List(ctx(), evs, client.InNamespace(ns))).To(Succeed())
		g.Expect(evs.Items).To(ContainElement(HaveField("Reason", tfv1.ReasonRolledBack)))
		g.Expect(getApp(g, ns, "shop").Status.CurrentRelease).To(Equal(int32(1)))
	}, timeout).Should(Succeed())
}
