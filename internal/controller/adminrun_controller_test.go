package controller_test

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
	"github.com/twelvefactor/twelvefactor-operator/internal/testenv"
)

func newRun(ns, name, app string, serial bool) *tfv1.AdminRun {
	return &tfv1.AdminRun{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec:       tfv1.AdminRunSpec{App: app, Command: []string{"rake", "db:seed"}, Serial: serial, TTLSecondsAfterFinished: ptr.To[int32](3)},
	}
}

func getRun(g Gomega, ns, name string) *tfv1.AdminRun {
	r := &tfv1.AdminRun{}
	g.Expect(env.Client.Get(ctx(), client.ObjectKey{Namespace: ns, Name: name}, r)).To(Succeed())
	return r
}

func TestAdminRunRunsFromTheReleaseAndSerialRunsWait(t *testing.T) {
	testenv.SkipIfShort(t)
	g := NewWithT(t)
	ensureDatabaseCRD(g)
	ns := newNamespace(t, nil)
	createSecret(g, ns, "shop-db", map[string]string{"type": "postgresql", "uri": "postgres://db"})
	app := newApp(ns, "shop")
	app.Spec.Services = []tfv1.BackingService{{Name: "db", SecretRef: &tfv1.LocalObjectReference{Name: "shop-db"}, Env: []tfv1.BindingEnv{{Name: "DATABASE_URL", Key: "uri"}}}}
	g.Expect(env.Client.Create(ctx(), app)).To(Succeed())
	g.Eventually(func(g Gomega) { g.Expect(getApp(g, ns, "shop").Status.CurrentRelease).To(Equal(int32(1))) }, timeout).Should(Succeed())

	g.Expect(env.Client.Create(ctx(), newRun(ns, "seed-1", "shop", true))).To(Succeed())
	g.Eventually(func(g Gomega) { getJob(g, ns, "seed-1-run") }, timeout).Should(Succeed())
	job := getJob(g, ns, "seed-1-run")
	c := job.Spec.Template.Spec.Containers[0]
	g.Expect(c.Image).To(Equal(digestImage))
	g.Expect(c.Command).To(Equal([]string{"rake", "db:seed"}))
	g.Expect(c.EnvFrom[0].SecretRef.Name).To(Equal("shop-v1-env"))
	g.Expect(c.VolumeMounts).To(ContainElement(HaveField("MountPath", "/bindings/db")))
	g.Expect(job.OwnerReferences[0].Kind).To(Equal("AdminRun"))
	g.Eventually(func(g Gomega) {
		r := getRun(g, ns, "seed-1")
		g.Expect(r.Status.Release).To(Equal(int32(1)))
		g.Expect(r.Status.JobName).To(Equal("seed-1-run"))
		g.Expect(meta.IsStatusConditionTrue(r.Status.Conditions, tfv1.ConditionRunning)).To(BeTrue())
	}, timeout).Should(Succeed())

	// A second serial run waits for the first.
	g.Expect(env.Client.Create(ctx(), newRun(ns, "seed-2", "shop", true))).To(Succeed())
	g.Eventually(func(g Gomega) {
		r := getRun(g, ns, "seed-2")
		w := meta.FindStatusCondition(r.Status.Conditions, tfv1.ConditionWaiting)
		g.Expect(w).NotTo(BeNil())
		g.Expect(w.Reason).To(Equal(tfv1.ReasonWaitingForSerialRun))
		g.Expect(w.Message).To(ContainSubstring("seed-1"))
	}, timeout).Should(Succeed())
	g.Consistently(func() bool {
		return apierrors.IsNotFound(env.Client.Get(ctx(), client.ObjectKey{Namespace: ns, Name: "seed-2-run"}, &batchJob{}))
	}, time.Second).Should(BeTrue())

	completeJob(g, ns, "seed-1-run", true)
	g.Eventually(func(g Gomega) {
		r := getRun(g, ns, "seed-1")
		g.Expect(r.Status.Phase).To(Equal(tfv1.PhaseSucceeded))
		g.Expect(meta.IsStatusConditionTrue(r.Status.Conditions, tfv1.ConditionSucceeded)).To(BeTrue())
		g.Expect(r.Status.CompletionTime).NotTo(BeNil())
	}, timeout).Should(Succeed())
	g.Eventually(func(g Gomega) { getJob(g, ns, "seed-2-run") }, timeout).Should(Succeed())

	// Finished runs are deleted after their TTL.
	g.Eventually(func() bool {
		return apierrors.IsNotFound(env.Client.Get(ctx(), client.ObjectKey{Namespace: ns, Name: "seed-1"}, &tfv1.AdminRun{}))
	}, timeout).Should(BeTrue())

	completeJob(g, ns, "seed-2-run", false)
	g.Eventually(func(g Gomega) {
		g.Expect(getRun(g, ns, "seed-2").Status.Phase).To(Equal(tfv1.PhaseFailed))
	}, timeout).Should(Succeed())
}

func TestAdminRunForMissingReleaseOrAppFails(t *testing.T) {
	testenv.SkipIfShort(t)
	g := NewWithT(t)
	ns := newNamespace(t, nil)
	g.Expect(env.Client.Create(ctx(), newApp(ns, "shop"))).To(Succeed())
	g.Eventually(func(g Gomega) { g.Expect(getApp(g, ns, "shop").Status.CurrentRelease).To(Equal(int32(1))) }, timeout).Should(Succeed())

	run := newRun(ns, "old", "shop", false)
	run.Spec.Release = ptr.To[int32](99)
	run.Spec.TTLSecondsAfterFinished = ptr.To[int32](3600)
	g.Expect(env.Client.Create(ctx(), run)).To(Succeed())
	noApp := newRun(ns, "orphan", "nope", false)
	noApp.Spec.TTLSecondsAfterFinished = ptr.To[int32](3600)
	g.Expect(env.Client.Create(ctx(), noApp)).To(Succeed())
	g.Eventually(func(g Gomega) {
		r := getRun(g, ns, "old")
		g.Expect(r.Status.Phase).To(Equal(tfv1.PhaseFailed))
		f := meta.FindStatusCondition(r.Status.Conditions, tfv1.ConditionFailed)
		g.Expect(f).NotTo(BeNil())
		g.Expect(f.Reason).To(Equal(tfv1.ReasonReleaseNotFound))
		g.Expect(f.Message).To(ContainSubstring("Release v99 of app \"shop\" does not exist"))
		o := getRun(g, ns, "orphan")
		of := meta.FindStatusCondition(o.Status.Conditions, tfv1.ConditionFailed)
		g.Expect(of).NotTo(BeNil())
		g.Expect(of.Reason).To(Equal(tfv1.ReasonAppNotFound))
	}, timeout).Should(Succeed())
	g.Expect(apierrors.IsNotFound(env.Client.Get(ctx(), client.ObjectKey{Namespace: ns, Name: "old-run"}, &batchJob{}))).To(BeTrue())
	g.Expect(apierrors.IsNotFound(env.Client.Get(ctx(), client.ObjectKey{Namespace: ns, Name: "orphan-run"}, &batchJob{}))).To(BeTrue())
}
