package hostile

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
)

// TestSquatters: an object created, before the operator, under a name it
// will derive. The operator never writes, adopts or deletes it; the app says
// NameConflict, naming it; what does not need the name goes on.
func TestSquatters(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		fn   func(t *testing.T)
	}{
		{"SquattedEnvSecretBlocksTheRelease", testSquattedEnvSecretBlocksTheRelease},
		{"SquattedBindingSecretBlocksTheRelease", testSquattedBindingSecretBlocksTheRelease},
		{"SquattedNextReleaseSecretKeepsThePreviousReleaseServing", testSquattedNextReleaseSecretKeepsThePreviousReleaseServing},
		{"SquattedReleasePhaseJobIsNeverTakenAsTheReleasePhase", testSquattedReleasePhaseJobIsNeverTaken},
		{"SquattedServiceIsNeitherRewrittenNorDeleted", testSquattedServiceIsNeitherRewrittenNorDeleted},
		{"LeftoverJobOfANewAdminRunFailsTheRun", testLeftoverJobOfANewAdminRunFailsTheRun},
		{"ReleaseMadeBySomeoneElseBlocksTheRelease", testReleaseMadeBySomeoneElseBlocksTheRelease},
		{"UnlabelledDeploymentIsNotAdopted", testUnlabelledDeploymentIsNotAdopted},
		{"ImpostorDeploymentIsNotAdoptedNorCountedAsReady", testImpostorDeploymentIsNotAdopted},
		{"SquattedPodDisruptionBudgetIsNotAdopted", testSquattedPodDisruptionBudget},
		{"SquattedHorizontalPodAutoscalerIsNotAdopted", testSquattedHorizontalPodAutoscaler},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.fn(t)
		})
	}
}

// releaseSecretLabels are the labels the operator puts on release 1's
// Secrets, which a careful squatter copies.
func releaseSecretLabels(app, kind string) map[string]string {
	return map[string]string{tfv1.LabelApp: app, tfv1.LabelManagedBy: tfv1.ManagedByValue, tfv1.LabelRelease: "1",
		tfv1.LabelSecretKind: kind}
}

// testSquattedEnvSecretBlocksTheRelease: a Secret shop-v1-env made before
// the app: no Release, no Secret of the operator, no pod; the release is
// made once the Secret goes.
func testSquattedEnvSecretBlocksTheRelease(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	squat := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "shop-v1-env", Namespace: ns},
		StringData: map[string]string{"LOG_LEVEL": "debug", "DATABASE_URL": "postgres://evil"}}
	create(t, squat)
	held := freeze(t, squat)
	create(t, newApp(ns, "shop"))
	app := waitStalled(t, ns, "shop", tfv1.ReasonNameConflict)
	g.Expect(message(app, tfv1.ConditionReady)).To(ContainSubstring(`Secret "shop-v1-env"`))
	g.Expect(condition(app, tfv1.ConditionReleased)).To(Equal("False/" + tfv1.ReasonNameConflict))
	passAgain(t, ns, "shop", tfv1.ReasonNameConflict)
	g.Expect(releaseNumbers(g, ns, "shop")).To(BeEmpty())
	g.Expect(appPods(g, ns, "shop", nil)).To(BeEmpty())
	expectGone(g, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "shop-web"}})
	held.expectUntouched(g)

	g.Expect(cluster.Client.Delete(ctx(), squat)).To(Succeed())
	waitReady(t, ns, "shop", 1)
	g.Eventually(func(g Gomega) {
		expectServing(g, ns, "shop", "web", 1, 2)
		expectServing(g, ns, "shop", "worker", 1, 1)
	}, timeout).Should(Succeed())
	g.Expect(releaseNumbers(g, ns, "shop")).To(ConsistOf(int32(1)))
}

// testSquattedBindingSecretBlocksTheRelease: a Secret under release 1's
// binding Secret name, with the labels the operator would give it.
func testSquattedBindingSecretBlocksTheRelease(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	squat := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "shop-v1-binding-db", Namespace: ns,
		Labels: releaseSecretLabels("shop", "binding")}, Immutable: ptr.To(true),
		Type:       "servicebinding.io/postgresql",
		StringData: map[string]string{"type": "postgresql", "uri": "postgres://evil/steal"}}
	create(t, squat, dbSecret(ns))
	held := freeze(t, squat)
	create(t, withBinding(newApp(ns, "shop"), "db"))
	app := waitStalled(t, ns, "shop", tfv1.ReasonNameConflict)
	g.Expect(message(app, tfv1.ConditionReady)).To(ContainSubstring(`Secret "shop-v1-binding-db"`))
	passAgain(t, ns, "shop", tfv1.ReasonNameConflict)
	g.Expect(releaseNumbers(g, ns, "shop")).To(BeEmpty())
	g.Expect(appPods(g, ns, "shop", nil)).To(BeEmpty())
	expectGone(g, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "shop-v1-env"}})
	held.expectUntouched(g)
}

// testSquattedNextReleaseSecretKeepsThePreviousReleaseServing: the name of
// release 2's env Secret is taken while release 1 runs. Release 2 is not
// made, and release 1 keeps serving, from its own Secret.
func testSquattedNextReleaseSecretKeepsThePreviousReleaseServing(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	create(t, newApp(ns, "shop"))
	waitReady(t, ns, "shop", 1)
	squat := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "shop-v2-env", Namespace: ns},
		StringData: map[string]string{"LOG_LEVEL": "evil"}}
	create(t, squat)
	held := freeze(t, squat)
	before := podUIDs(g, ns, map[string]string{tfv1.LabelApp: "shop"})

	update(t, ns, "shop", func(a *tfv1.TwelveFactorApp) { a.Spec.Config.Env[0].Value = "debug" })
	app := waitStalled(t, ns, "shop", tfv1.ReasonNameConflict)
	g.Expect(message(app, tfv1.ConditionReady)).To(ContainSubstring(`Secret "shop-v2-env"`))
	g.Expect(app.Status.CurrentRelease).To(Equal(int32(1)))
	passAgain(t, ns, "shop", tfv1.ReasonNameConflict)
	g.Expect(releaseNumbers(g, ns, "shop")).To(ConsistOf(int32(1)))
	expectServing(g, ns, "shop", "web", 1, 2)
	expectServing(g, ns, "shop", "worker", 1, 1)
	g.Expect(podUIDs(g, ns, map[string]string{tfv1.LabelApp: "shop"})).To(Equal(before), "no pod was started")
	held.expectUntouched(g)
}

// testSquattedReleasePhaseJobIsNeverTaken: a Job shop-v1-release that
// someone else ran to success is not taken as release 1's release phase:
// nothing rolls out until it goes, then the operator runs its own.
func testSquattedReleasePhaseJobIsNeverTaken(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	tmpl := podTemplate(map[string]string{"squatter": "job"}, "true")
	tmpl.Spec.RestartPolicy = corev1.RestartPolicyNever
	squat := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "shop-v1-release", Namespace: ns},
		Spec: batchv1.JobSpec{BackoffLimit: ptr.To[int32](0), Template: tmpl}}
	create(t, squat)
	held := settledJob(t, squat)

	app := newApp(ns, "shop")
	app.Spec.Release = &tfv1.ReleasePhaseSpec{Command: []string{"bin/rails", "db:migrate"}}
	create(t, app)
	app = waitStalled(t, ns, "shop", tfv1.ReasonNameConflict)
	g.Expect(message(app, tfv1.ConditionReady)).To(ContainSubstring(`Job "shop-v1-release" exists`))
	passAgain(t, ns, "shop", tfv1.ReasonNameConflict)
	rel := getRelease(g, ns, "shop-v1")
	g.Expect(rel.Status.ReleasePhase).NotTo(Equal(tfv1.PhaseSucceeded))
	g.Expect(meta.IsStatusConditionTrue(rel.Status.Conditions, tfv1.ConditionReleasePhaseSucceeded)).To(BeFalse())
	g.Expect(appPods(g, ns, "shop", nil)).To(BeEmpty(), "nothing rolled out")
	expectGone(g, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "shop-web"}})
	held.expectUntouched(g)

	g.Expect(cluster.Client.Delete(ctx(), squat, client.PropagationPolicy(metav1.DeletePropagationForeground))).To(Succeed())
	waitReady(t, ns, "shop", 1)
	job := &batchv1.Job{}
	g.Expect(cluster.Client.Get(ctx(), client.ObjectKeyFromObject(squat), job)).To(Succeed())
	expectControlledBy(g, job, getRelease(g, ns, "shop-v1"))
	expectOperatorSecretsOnly(g, ns, "shop", job.Spec.Template.Spec)
	g.Expect(getRelease(g, ns, "shop-v1").Status.ReleasePhase).To(Equal(tfv1.PhaseSucceeded))
}

// settledJob waits until a Job completed and freezes it.
func settledJob(t *testing.T, job *batchv1.Job) foreign {
	t.Helper()
	NewWithT(t).Eventually(func(g Gomega) {
		j := &batchv1.Job{}
		g.Expect(cluster.Client.Get(ctx(), client.ObjectKeyFromObject(job), j)).To(Succeed())
		g.Expect(j.Status.CompletionTime).NotTo(BeNil())
		g.Expect(j.Status.Succeeded).To(Equal(int32(1)))
		g.Expect(j.Status.UncountedTerminatedPods).To(Or(BeNil(), Equal(&batchv1.UncountedTerminatedPods{})))
	}, timeout, 250*time.Millisecond).Should(Succeed())
	return freeze(t, job)
}

// testSquattedServiceIsNeitherRewrittenNorDeleted: a Service shop-web that
// selects other pods. Its selector and owners stay; the app's processes run;
// deleting the app leaves the Service.
func testSquattedServiceIsNeitherRewrittenNorDeleted(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	squat := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "shop-web", Namespace: ns},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "legacy"},
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(9000)}}}}
	create(t, squat)
	held := freeze(t, squat)
	create(t, newApp(ns, "shop"))
	app := waitStalled(t, ns, "shop", tfv1.ReasonNameConflict)
	g.Expect(message(app, tfv1.ConditionReady)).To(ContainSubstring(`Service "shop-web" exists`))
	g.Expect(message(app, tfv1.ConditionReady)).To(ContainSubstring("no controller"))
	g.Eventually(func(g Gomega) {
		expectServing(g, ns, "shop", "web", 1, 2)
		expectServing(g, ns, "shop", "worker", 1, 1)
	}, timeout).Should(Succeed())
	passAgain(t, ns, "shop", tfv1.ReasonNameConflict)
	svc := held.expectUntouched(g).(*corev1.Service)
	g.Expect(svc.Spec.Selector).To(Equal(map[string]string{"app": "legacy"}))
	g.Expect(svc.OwnerReferences).To(BeEmpty())

	deleteApp(t, ns, "shop")
	g.Eventually(func(g Gomega) {
		g.Expect(appPods(g, ns, "shop", nil)).To(BeEmpty())
		expectGone(g, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "shop-web"}})
	}, timeout).Should(Succeed())
	held.expectUntouched(g)
}

// testLeftoverJobOfANewAdminRunFailsTheRun: a Job seed-run left from an
// earlier run of that name (labelled like the operator's, ownerless, and
// Succeeded) is not taken for the new AdminRun seed, which fails.
func testLeftoverJobOfANewAdminRunFailsTheRun(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	create(t, newApp(ns, "shop"))
	waitReady(t, ns, "shop", 1)
	tmpl := podTemplate(map[string]string{"squatter": "job"}, "true")
	tmpl.Spec.RestartPolicy = corev1.RestartPolicyNever
	leftover := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "seed-run", Namespace: ns,
		Labels: map[string]string{tfv1.LabelApp: "shop", tfv1.LabelManagedBy: tfv1.ManagedByValue,
			tfv1.LabelRelease: "1", tfv1.LabelComponent: "run", "twelvefactor.dev/adminrun": "seed"}},
		Spec: batchv1.JobSpec{BackoffLimit: ptr.To[int32](0), Template: tmpl}}
	create(t, leftover)
	held := settledJob(t, leftover)

	run := &tfv1.AdminRun{ObjectMeta: metav1.ObjectMeta{Name: "seed", Namespace: ns},
		Spec: tfv1.AdminRunSpec{App: "shop", Command: []string{"rake", "db:seed"}}}
	create(t, run)
	g.Eventually(func(g Gomega) {
		r := getRun(g, ns, "seed")
		g.Expect(r.Status.Phase).To(Equal(tfv1.PhaseFailed))
		c := meta.FindStatusCondition(r.Status.Conditions, tfv1.ConditionFailed)
		g.Expect(c).NotTo(BeNil())
		g.Expect(string(c.Status) + "/" + c.Reason).To(Equal("True/" + tfv1.ReasonNameConflict))
		g.Expect(c.Message).To(ContainSubstring(`Job "seed-run" exists`))
	}, timeout).Should(Succeed())
	g.Consistently(func(g Gomega) {
		r := getRun(g, ns, "seed")
		g.Expect(r.Status.Phase).To(Equal(tfv1.PhaseFailed))
		g.Expect(meta.FindStatusCondition(r.Status.Conditions, tfv1.ConditionSucceeded)).To(BeNil())
	}, 3*time.Second, 250*time.Millisecond).Should(Succeed())
	g.Expect(appPods(g, ns, "shop", map[string]string{tfv1.LabelProcess: "run"})).To(BeEmpty())
	held.expectUntouched(g)
}

func getRun(g Gomega, ns, name string) *tfv1.AdminRun {
	r := &tfv1.AdminRun{}
	g.Expect(cluster.Client.Get(ctx(), client.ObjectKey{Namespace: ns, Name: name}, r)).To(Succeed())
	return r
}

// testReleaseMadeBySomeoneElseBlocksTheRelease: a Release shop-v1 that the
// app does not control, labelled as the operator labels its releases. It is
// not taken as the app's release 1: no Secret, no Deployment, no pod, and
// it is never labelled in use or given a status.
func testReleaseMadeBySomeoneElseBlocksTheRelease(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	squat := &tfv1.Release{ObjectMeta: metav1.ObjectMeta{Name: "shop-v1", Namespace: ns,
		Labels: map[string]string{tfv1.LabelApp: "shop", tfv1.LabelManagedBy: tfv1.ManagedByValue, tfv1.LabelRelease: "1"}},
		Spec: tfv1.ReleaseSpec{App: "shop", Number: 1, Image: image("evil", 1), EnvSecretName: "shop-v1-env",
			ContentHash: "0000", Processes: []tfv1.ReleaseProcess{{Name: "web", Command: []string{"evil"}}}}}
	create(t, squat)
	held := freeze(t, squat)
	create(t, newApp(ns, "shop"))
	app := waitStalled(t, ns, "shop", tfv1.ReasonNameConflict)
	g.Expect(message(app, tfv1.ConditionReady)).To(ContainSubstring(`Release "shop-v1" exists`))
	g.Expect(app.Status.CurrentRelease).To(BeZero())
	passAgain(t, ns, "shop", tfv1.ReasonNameConflict)
	g.Expect(releaseNumbers(g, ns, "shop")).To(BeEmpty())
	expectGone(g, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "shop-v1-env"}})
	expectGone(g, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "shop-web"}})
	g.Expect(appPods(g, ns, "shop", nil)).To(BeEmpty())
	rel := held.expectUntouched(g).(*tfv1.Release)
	g.Expect(rel.Labels).NotTo(HaveKey(tfv1.LabelInUse))
	g.Expect(rel.Status.Conditions).To(BeEmpty())
}

// legacyDeployment is a user's Deployment with one pod, labelled app=legacy.
func legacyDeployment(ns, name string, labels map[string]string) *appsv1.Deployment {
	sel := map[string]string{"app": "legacy"}
	return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](1), Selector: &metav1.LabelSelector{MatchLabels: sel},
			Template: podTemplate(sel, "legacy")}}
}

// testUnlabelledDeploymentIsNotAdopted: a user's Deployment shop-web without
// labels. It and its pods stay as they are; the app's worker runs; deleting
// the app leaves it.
func testUnlabelledDeploymentIsNotAdopted(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	squat := legacyDeployment(ns, "shop-web", nil)
	create(t, squat)
	settledDeployment(t, ns, "shop-web")
	held := freeze(t, squat)
	pods := podUIDs(g, ns, map[string]string{"app": "legacy"})
	g.Expect(pods).To(HaveLen(1))

	create(t, newApp(ns, "shop"))
	app := waitStalled(t, ns, "shop", tfv1.ReasonNameConflict)
	g.Expect(message(app, tfv1.ConditionReady)).To(ContainSubstring(`Deployment "shop-web" exists`))
	g.Eventually(func(g Gomega) { expectServing(g, ns, "shop", "worker", 1, 1) }, timeout).Should(Succeed())
	passAgain(t, ns, "shop", tfv1.ReasonNameConflict)
	g.Expect(appPods(g, ns, "shop", map[string]string{tfv1.LabelProcess: "web"})).To(BeEmpty())
	d := held.expectUntouched(g).(*appsv1.Deployment)
	expectNotOperators(g, d)
	g.Expect(podUIDs(g, ns, map[string]string{"app": "legacy"})).To(Equal(pods))

	deleteApp(t, ns, "shop")
	held.expectUntouched(g)
	g.Expect(podUIDs(g, ns, map[string]string{"app": "legacy"})).To(Equal(pods))
}

// testImpostorDeploymentIsNotAdopted: a Deployment shop-web with the
// operator's labels and selector and a non-controller owner reference to the
// app, whose Ready pods carry the labels of release 2, the release that
// adding web to the app makes. It is not adopted, and its pods do not make
// the app Ready.
func testImpostorDeploymentIsNotAdopted(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	app := newApp(ns, "shop")
	web := app.Spec.Processes[0]
	app.Spec.Processes = app.Spec.Processes[1:]
	create(t, app)
	waitReady(t, ns, "shop", 1)

	labels := map[string]string{tfv1.LabelApp: "shop", tfv1.LabelProcess: "web", tfv1.LabelManagedBy: tfv1.ManagedByValue}
	podLabels := map[string]string{tfv1.LabelApp: "shop", tfv1.LabelProcess: "web", tfv1.LabelRelease: "2"}
	owner := getApp(g, ns, "shop")
	impostor := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "shop-web", Namespace: ns, Labels: labels,
		OwnerReferences: []metav1.OwnerReference{{APIVersion: tfv1.GroupVersion.String(), Kind: "TwelveFactorApp",
			Name: "shop", UID: owner.UID, Controller: ptr.To(false)}}},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](2),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{tfv1.LabelApp: "shop", tfv1.LabelProcess: "web"}},
			Template: podTemplate(podLabels, "impostor")}}
	create(t, impostor)
	settledDeployment(t, ns, "shop-web")
	held := freeze(t, impostor)

	update(t, ns, "shop", func(a *tfv1.TwelveFactorApp) { a.Spec.Processes = append(a.Spec.Processes, web) })
	got := waitStalled(t, ns, "shop", tfv1.ReasonNameConflict)
	g.Expect(message(got, tfv1.ConditionReady)).To(ContainSubstring(`Deployment "shop-web" exists`))
	g.Expect(message(got, tfv1.ConditionReady)).To(ContainSubstring("no controller"))
	g.Expect(got.Status.LatestRelease).To(Equal(int32(2)))
	passAgain(t, ns, "shop", tfv1.ReasonNameConflict)
	held.expectUntouched(g)
	g.Expect(getApp(g, ns, "shop").Status.Processes).NotTo(ContainElement(HaveField("Name", "web")))
	g.Eventually(func(g Gomega) { expectServing(g, ns, "shop", "worker", 2, 1) }, timeout).Should(Succeed())
	g.Expect(podsByRelease(g, ns, "shop", "web")).To(Equal(map[string]int{"2": 2}), "only the impostor's pods")
	g.Expect(condition(getApp(g, ns, "shop"), tfv1.ConditionReady)).To(Equal("False/" + tfv1.ReasonNameConflict))
}

// testSquattedPodDisruptionBudget: a user's PDB shop-web. The app's web and
// worker run; the PDB stays as it is.
func testSquattedPodDisruptionBudget(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	squat := &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: "shop-web", Namespace: ns},
		Spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: ptr.To(intstr.FromInt32(0)),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "legacy"}}}}
	create(t, squat)
	settledPDB(t, ns, "shop-web", 0)
	held := freeze(t, squat)
	create(t, newApp(ns, "shop"))
	app := waitStalled(t, ns, "shop", tfv1.ReasonNameConflict)
	g.Expect(message(app, tfv1.ConditionReady)).To(ContainSubstring(`PodDisruptionBudget "shop-web" exists`))
	g.Eventually(func(g Gomega) {
		expectServing(g, ns, "shop", "web", 1, 2)
		expectServing(g, ns, "shop", "worker", 1, 1)
	}, timeout).Should(Succeed())
	passAgain(t, ns, "shop", tfv1.ReasonNameConflict)
	pdb := held.expectUntouched(g).(*policyv1.PodDisruptionBudget)
	g.Expect(pdb.Spec.Selector.MatchLabels).To(Equal(map[string]string{"app": "legacy"}))
}

// testSquattedHorizontalPodAutoscaler: a user's HPA shop-api, for another
// Deployment, under the name of an autoscaled process's HPA.
func testSquattedHorizontalPodAutoscaler(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	squat := &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Name: "shop-api", Namespace: ns},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{MinReplicas: ptr.To[int32](1), MaxReplicas: 2,
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "legacy"}}}
	create(t, squat)
	// The HPA controller records once that it cannot scale its target.
	g.Eventually(func(g Gomega) {
		h := &autoscalingv2.HorizontalPodAutoscaler{}
		g.Expect(cluster.Client.Get(ctx(), client.ObjectKeyFromObject(squat), h)).To(Succeed())
		g.Expect(h.Status.Conditions).NotTo(BeEmpty())
	}, timeout).Should(Succeed())
	held := freeze(t, squat)

	app := newApp(ns, "shop")
	app.Spec.Processes = append(app.Spec.Processes, tfv1.ProcessSpec{Name: "api", Command: []string{"api"},
		Autoscaling: &tfv1.AutoscalingSpec{MinReplicas: ptr.To[int32](1), MaxReplicas: 3}})
	create(t, app)
	got := waitStalled(t, ns, "shop", tfv1.ReasonNameConflict)
	g.Expect(message(got, tfv1.ConditionReady)).To(ContainSubstring(`HorizontalPodAutoscaler "shop-api" exists`))
	passAgain(t, ns, "shop", tfv1.ReasonNameConflict)
	h := held.expectUntouched(g).(*autoscalingv2.HorizontalPodAutoscaler)
	g.Expect(h.Spec.ScaleTargetRef.Name).To(Equal("legacy"))
	g.Eventually(func(g Gomega) { expectServing(g, ns, "shop", "web", 1, 2) }, timeout).Should(Succeed())
}
