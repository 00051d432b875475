package controller_test

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	batchv1 "k8s.io/api/batch/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
	"github.com/twelvefactor/twelvefactor-operator/internal/testenv"
)

func getJob(g Gomega, ns, name string) *batchv1.Job {
	j := &batchv1.Job{}
	g.Expect(env.Client.Get(ctx(), client.ObjectKey{Namespace: ns, Name: name}, j)).To(Succeed())
	return j
}

func getRelease(g Gomega, ns, name string) *tfv1.Release {
	r := &tfv1.Release{}
	g.Expect(env.Client.Get(ctx(), client.ObjectKey{Namespace: ns, Name: name}, r)).To(Succeed())
	return r
}

func TestReleasePhaseGatesTheRollout(t *testing.T) {
	testenv.SkipIfShort(t)
	g := NewWithT(t)
	ns := newNamespace(t, nil)
	app := newApp(ns, "shop")
	app.Spec.Release = &tfv1.ReleasePhaseSpec{Command: []string{"bin/rails", "db:migrate"}, BackoffLimit: ptr.To[int32](1), ActiveDeadlineSeconds: ptr.To[int64](120)}
	g.Expect(env.Client.Create(ctx(), app)).To(Succeed())

	// v1's Job runs first; no Deployment exists until it succeeds.
	g.Eventually(func(g Gomega) { getJob(g, ns, "shop-v1-release") }, timeout).Should(Succeed())
	job := getJob(g, ns, "shop-v1-release")
	g.Expect(*job.Spec.BackoffLimit).To(Equal(int32(1)))
	g.Expect(*job.Spec.ActiveDeadlineSeconds).To(Equal(int64(120)))
	g.Expect(job.Spec.TTLSecondsAfterFinished).NotTo(BeNil())
	c := job.Spec.Template.Spec.Containers[0]
	g.Expect(c.Image).To(Equal(digestImage))
	g.Expect(c.Command).To(Equal([]string{"bin/rails", "db:migrate"}))
	g.Expect(c.EnvFrom[0].SecretRef.Name).To(Equal("shop-v1-env"))
	g.Expect(job.OwnerReferences[0].Name).To(Equal("shop-v1"))
	g.Consistently(func() string { return deploymentRelease(g, ns, "shop-web") }, time.Second).Should(BeEmpty())
	g.Eventually(func(g Gomega) string { return reason(g, ns, "shop", tfv1.ConditionReconciling) }, timeout).Should(Equal(tfv1.ReasonReleasePhaseRunning))

	completeJob(g, ns, "shop-v1-release", true)
	g.Eventually(func(g Gomega) { g.Expect(deploymentRelease(g, ns, "shop-web")).To(Equal("1")) }, timeout).Should(Succeed())
	g.Expect(getRelease(g, ns, "shop-v1").Status.ReleasePhase).To(Equal(tfv1.PhaseSucceeded))

	// v2's release phase fails: v1 keeps serving.
	update(t, ns, "shop", func(a *tfv1.TwelveFactorApp) { a.Spec.Config.Env[0].Value = "debug" })
	g.Eventually(func(g Gomega) { getJob(g, ns, "shop-v2-release") }, timeout).Should(Succeed())
	g.Consistently(func() string { return deploymentRelease(g, ns, "shop-web") }, time.Second).Should(Equal("1"))
	completeJob(g, ns, "shop-v2-release", false)
	g.Eventually(func(g Gomega) {
		g.Expect(getRelease(g, ns, "shop-v2").Status.ReleasePhase).To(Equal(tfv1.PhaseFailed))
		ready := condition(g, ns, "shop", tfv1.ConditionReady)
		g.Expect(ready).NotTo(BeNil())
		g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(ready.Reason).To(Equal(tfv1.ReasonReleasePhaseFailed))
		g.Expect(reason(g, ns, "shop", tfv1.ConditionStalled)).To(Equal(tfv1.ReasonReleasePhaseFailed))
	}, timeout).Should(Succeed())
	g.Expect(deploymentRelease(g, ns, "shop-web")).To(Equal("1"))
	g.Expect(deploymentRelease(g, ns, "shop-worker")).To(Equal("1"))
	g.Eventually(func(g Gomega) {
		evs := &eventsv1.EventList{}
		g.Expect(env.Client.List(ctx(), evs, client.InNamespace(ns))).To(Succeed())
		g.Expect(evs.Items).To(ContainElement(HaveField("Reason", tfv1.ReasonReleasePhaseFailed)))
	}, timeout).Should(Succeed())

	// A later change is a new release and a new attempt.
	update(t, ns, "shop", func(a *tfv1.TwelveFactorApp) { a.Spec.Config.Env[0].Value = "warn" })
	g.Eventually(func(g Gomega) { getJob(g, ns, "shop-v3-release") }, timeout).Should(Succeed())
	completeJob(g, ns, "shop-v3-release", true)
	g.Eventually(func(g Gomega) { g.Expect(deploymentRelease(g, ns, "shop-web")).To(Equal("3")) }, timeout).Should(Succeed())

	// Pinning v1 does not run its release phase again.
	update(t, ns, "shop", func(a *tfv1.TwelveFactorApp) { a.Spec.RollbackTo = ptr.To[int32](1) })
	g.Eventually(func(g Gomega) { g.Expect(deploymentRelease(g, ns, "shop-web")).To(Equal("1")) }, timeout).Should(Succeed())
	jobs := &batchv1.JobList{}
	g.Expect(env.Client.List(ctx(), jobs, client.InNamespace(ns))).To(Succeed())
	g.Expect(jobs.Items).To(HaveLen(3))
	g.Expect(getJob(g, ns, "shop-v1-release").Generation).To(Equal(job.Generation))
}
