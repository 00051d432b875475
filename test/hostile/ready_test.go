package hostile

import (
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	admissionv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
)

// TestReadyDoesNotLie: Ready is what was observed. A write the API server
// refuses, a rollback to a release without a process, a Deployment deleted
// by hand and a pinned release whose ConfigMap went are each reported as
// they are.
func TestReadyDoesNotLie(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		fn   func(t *testing.T)
	}{
		{"RefusedDeploymentIsApplyFailed", testRefusedDeploymentIsApplyFailed},
		{"RefusedRolloutIsApplyFailedAndThePreviousReleaseServes", testRefusedRolloutIsApplyFailed},
		{"RefusedServiceIsApplyFailed", testRefusedServiceIsApplyFailed},
		{"RequestsAboveLimitsAreInvalidSpec", testRequestsAboveLimitsAreInvalidSpec},
		{"RollbackToAReleaseWithoutAProcessStopsIt", testRollbackToAReleaseWithoutAProcessStopsIt},
		{"DeploymentDeletedByHandIsRecreated", testDeploymentDeletedByHandIsRecreated},
		{"PinnedReleaseIsReadyWhenItsConfigMapIsDeleted", testPinnedReleaseIsReadyWhenItsConfigMapIsDeleted},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.fn(t)
		})
	}
}

// refuse installs a ValidatingAdmissionPolicy, bound to namespace ns only,
// that denies CREATE and UPDATE of resource (in group) where expression is
// false, with msg. It waits until the policy refuses probe (a dry-run
// write), and returns a function that removes it.
func refuse(t *testing.T, ns, group, resource, expression, msg string, probe func() error) func() {
	t.Helper()
	g := NewWithT(t)
	name := "hostile-" + ns
	vap := &admissionv1.ValidatingAdmissionPolicy{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: ptr.To(admissionv1.Fail),
			MatchConstraints: &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{{
				RuleWithOperations: admissionv1.RuleWithOperations{
					Operations: []admissionv1.OperationType{admissionv1.Create, admissionv1.Update},
					Rule:       admissionv1.Rule{APIGroups: []string{group}, APIVersions: []string{"*"}, Resources: []string{resource}},
				}}}},
			Validations: []admissionv1.Validation{{Expression: expression, Message: msg}},
		}}
	binding := &admissionv1.ValidatingAdmissionPolicyBinding{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionv1.ValidatingAdmissionPolicyBindingSpec{PolicyName: name,
			ValidationActions: []admissionv1.ValidationAction{admissionv1.Deny},
			MatchResources: &admissionv1.MatchResources{NamespaceSelector: &metav1.LabelSelector{
				MatchLabels: map[string]string{corev1.LabelMetadataName: ns}}}}}
	create(t, vap, binding)
	remove := func() {
		for _, o := range []client.Object{binding, vap} {
			g.Expect(client.IgnoreNotFound(cluster.Client.Delete(ctx(), o))).To(Succeed())
		}
	}
	t.Cleanup(remove)
	g.Eventually(func(g Gomega) {
		err := probe()
		g.Expect(err).To(HaveOccurred())
		g.Expect(err.Error()).To(ContainSubstring(msg))
	}, timeout, 250*time.Millisecond).Should(Succeed())
	return remove
}

// probeDeployment dry-runs the creation of a Deployment with the labels
// (on itself and its pods).
func probeDeployment(ns string, labels map[string]string) func() error {
	return func() error {
		d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "probe", Namespace: ns, Labels: labels},
			Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: podTemplate(labels)}}
		return cluster.Client.Create(ctx(), d, client.DryRunAll)
	}
}

// testRefusedDeploymentIsApplyFailed: the API server refuses the worker's
// Deployment. The app says so with the server's message; web runs; once the
// refusal goes, the worker runs and the app is Ready.
func testRefusedDeploymentIsApplyFailed(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	const msg = "hostile test refuses worker Deployments"
	allow := refuse(t, ns, "apps", "deployments",
		`!(has(object.metadata.labels) && 'twelvefactor.dev/process' in object.metadata.labels && object.metadata.labels['twelvefactor.dev/process'] == 'worker')`,
		msg, probeDeployment(ns, map[string]string{tfv1.LabelProcess: "worker"}))
	create(t, newApp(ns, "shop"))
	app := waitStalled(t, ns, "shop", tfv1.ReasonApplyFailed)
	g.Expect(message(app, tfv1.ConditionReady)).To(ContainSubstring(`The API server refused Deployment "shop-worker" of process worker`))
	g.Expect(message(app, tfv1.ConditionReady)).To(ContainSubstring(msg))
	g.Eventually(func(g Gomega) { expectServing(g, ns, "shop", "web", 1, 2) }, timeout).Should(Succeed())
	expectGone(g, &appsv1.Deployment{ObjectMeta: objectMeta(ns, "shop-worker")})
	g.Expect(appPods(g, ns, "shop", map[string]string{tfv1.LabelProcess: "worker"})).To(BeEmpty())

	allow()
	waitReady(t, ns, "shop", 1)
	g.Eventually(func(g Gomega) { expectServing(g, ns, "shop", "worker", 1, 1) }, timeout).Should(Succeed())
}

// testRefusedRolloutIsApplyFailed: the API server refuses release 2's pod
// template. The app is not Ready at release 2, and release 1 keeps serving.
func testRefusedRolloutIsApplyFailed(t *testing.T) {
	g := NewWithT(t)
	ns := deployed(t)
	const msg = "hostile test refuses release 2"
	refuse(t, ns, "apps", "deployments",
		`!('twelvefactor.dev/release' in object.spec.template.metadata.labels && object.spec.template.metadata.labels['twelvefactor.dev/release'] == '2')`,
		msg, probeDeployment(ns, map[string]string{tfv1.LabelRelease: "2"}))
	before := podUIDs(g, ns, map[string]string{tfv1.LabelApp: "shop"})

	update(t, ns, "shop", func(a *tfv1.TwelveFactorApp) { a.Spec.Config.Env[0].Value = "debug" })
	app := waitStalled(t, ns, "shop", tfv1.ReasonApplyFailed)
	g.Expect(message(app, tfv1.ConditionReady)).To(ContainSubstring(`The API server refused Deployment "shop-web" of process web`))
	g.Expect(message(app, tfv1.ConditionReady)).To(ContainSubstring(msg))
	g.Expect(app.Status.LatestRelease).To(Equal(int32(2)))
	g.Consistently(func(g Gomega) {
		expectServing(g, ns, "shop", "web", 1, 2)
		expectServing(g, ns, "shop", "worker", 1, 1)
		g.Expect(podUIDs(g, ns, map[string]string{tfv1.LabelApp: "shop"})).To(Equal(before))
		g.Expect(getApp(g, ns, "shop").Status.Processes).To(HaveEach(HaveField("Release", int32(1))))
	}, 3*time.Second, 250*time.Millisecond).Should(Succeed())
}

// testRefusedServiceIsApplyFailed: the API server refuses the web Service.
func testRefusedServiceIsApplyFailed(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	const msg = "hostile test refuses Services"
	refuse(t, ns, "", "services", "false", msg, func() error {
		s := &corev1.Service{ObjectMeta: objectMeta(ns, "probe"), Spec: corev1.ServiceSpec{
			Ports: []corev1.ServicePort{{Port: 80}}}}
		return cluster.Client.Create(ctx(), s, client.DryRunAll)
	})
	create(t, newApp(ns, "shop"))
	app := waitStalled(t, ns, "shop", tfv1.ReasonApplyFailed)
	g.Expect(message(app, tfv1.ConditionReady)).To(ContainSubstring(`The API server refused Service "shop-web" of process web`))
	g.Expect(message(app, tfv1.ConditionReady)).To(ContainSubstring(msg))
	g.Eventually(func(g Gomega) {
		expectServing(g, ns, "shop", "web", 1, 2)
		expectServing(g, ns, "shop", "worker", 1, 1)
	}, timeout).Should(Succeed())
	expectGone(g, &corev1.Service{ObjectMeta: objectMeta(ns, "shop-web")})
}

// testRequestsAboveLimitsAreInvalidSpec: the app's admission cannot check
// that a process's requests fit its limits (CEL cannot price quantities
// within its budget); the API server would refuse the Deployment. The
// reconciler says so before anything is made, naming the field; fixed, the
// app is released.
func testRequestsAboveLimitsAreInvalidSpec(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	app := newApp(ns, "shop")
	app.Spec.Processes[1].Resources = &corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")},
		Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}}
	create(t, app)
	got := waitStalled(t, ns, "shop", tfv1.ReasonInvalidSpec)
	g.Expect(message(got, tfv1.ConditionStalled)).To(Equal(
		"spec.processes[worker].resources: requests.cpu (2) exceeds limits.cpu (1): lower the request or raise the limit"))
	g.Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
	g.Expect(releaseNumbers(g, ns, "shop")).To(BeEmpty(), "nothing half-made")
	expectGone(g, &appsv1.Deployment{ObjectMeta: objectMeta(ns, "shop-worker")})
	expectGone(g, &appsv1.Deployment{ObjectMeta: objectMeta(ns, "shop-web")})

	update(t, ns, "shop", func(a *tfv1.TwelveFactorApp) {
		a.Spec.Processes[1].Resources.Limits[corev1.ResourceCPU] = resource.MustParse("2")
	})
	g.Eventually(func(g Gomega) {
		expectServing(g, ns, "shop", "web", 1, 2)
		expectServing(g, ns, "shop", "worker", 1, 1)
	}, timeout).Should(Succeed())
}

// testRollbackToAReleaseWithoutAProcessStopsIt: release 1 has web only;
// release 2 adds worker. Pinning release 1 removes the worker's Deployment
// and its pods, and Ready says why.
func testRollbackToAReleaseWithoutAProcessStopsIt(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	app := newApp(ns, "shop")
	worker := app.Spec.Processes[1]
	worker.Replicas = ptr.To[int32](2) // a PDB too
	app.Spec.Processes = app.Spec.Processes[:1]
	create(t, app)
	waitReady(t, ns, "shop", 1)
	update(t, ns, "shop", func(a *tfv1.TwelveFactorApp) { a.Spec.Processes = append(a.Spec.Processes, worker) })
	waitReady(t, ns, "shop", 2)
	g.Eventually(func(g Gomega) { expectServing(g, ns, "shop", "worker", 2, 2) }, timeout).Should(Succeed())

	update(t, ns, "shop", func(a *tfv1.TwelveFactorApp) { a.Spec.RollbackTo = ptr.To[int32](1) })
	got := waitReady(t, ns, "shop", 1)
	g.Expect(message(got, tfv1.ConditionReady)).To(ContainSubstring("worker not in v1, so not running"))
	g.Expect(got.Status.Pinned).To(BeTrue())
	g.Eventually(func(g Gomega) {
		expectGone(g, &appsv1.Deployment{ObjectMeta: objectMeta(ns, "shop-worker")})
		expectGone(g, &policyv1.PodDisruptionBudget{ObjectMeta: objectMeta(ns, "shop-worker")})
		g.Expect(appPods(g, ns, "shop", map[string]string{tfv1.LabelProcess: "worker"})).To(BeEmpty())
		expectServing(g, ns, "shop", "web", 1, 2)
		g.Expect(getApp(g, ns, "shop").Status.Processes).NotTo(ContainElement(HaveField("Name", "worker")))
	}, timeout).Should(Succeed())
}

// testDeploymentDeletedByHandIsRecreated: the worker's Deployment deleted by
// hand comes back, controlled by the app, and the app is Ready again.
func testDeploymentDeletedByHandIsRecreated(t *testing.T) {
	g := NewWithT(t)
	ns := deployed(t)
	old := deployment(g, ns, "shop-worker")
	g.Expect(cluster.Client.Delete(ctx(), old, client.PropagationPolicy(metav1.DeletePropagationBackground))).To(Succeed())
	g.Eventually(func(g Gomega) {
		d := deployment(g, ns, "shop-worker")
		g.Expect(d.UID).NotTo(Equal(old.UID))
		expectControlledBy(g, d, getApp(g, ns, "shop"))
		expectServing(g, ns, "shop", "worker", 1, 1)
	}, timeout).Should(Succeed())
	waitReady(t, ns, "shop", 1)
}

// testPinnedReleaseIsReadyWhenItsConfigMapIsDeleted: release 1 is pinned and
// Available. Its ConfigMap goes: that blocks a new release (Released), not
// what runs (Ready), and a later change of the spec is observed.
func testPinnedReleaseIsReadyWhenItsConfigMapIsDeleted(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	cm := &corev1.ConfigMap{ObjectMeta: objectMeta(ns, "shop-config"), Data: map[string]string{"FEATURE": "on"}}
	app := newApp(ns, "shop")
	app.Spec.Config.EnvFrom = []tfv1.EnvFromSource{{ConfigMapRef: &tfv1.LocalObjectReference{Name: "shop-config"}}}
	create(t, cm, app)
	waitReady(t, ns, "shop", 1)
	update(t, ns, "shop", func(a *tfv1.TwelveFactorApp) { a.Spec.Config.Env[0].Value = "debug" })
	waitReady(t, ns, "shop", 2)
	update(t, ns, "shop", func(a *tfv1.TwelveFactorApp) { a.Spec.RollbackTo = ptr.To[int32](1) })
	waitReady(t, ns, "shop", 1)

	g.Expect(cluster.Client.Delete(ctx(), cm)).To(Succeed())
	pinnedReady := func(g Gomega) {
		a := getApp(g, ns, "shop")
		g.Expect(condition(a, tfv1.ConditionReleased)).To(Equal("False/" + tfv1.ReasonConfigNotFound))
		g.Expect(condition(a, tfv1.ConditionReady)).To(Equal("True/" + tfv1.ReasonReady))
		g.Expect(strings.Contains(message(a, tfv1.ConditionReady), "pinned")).To(BeTrue())
		g.Expect(a.Status.ObservedGeneration).To(Equal(a.Generation))
		g.Expect(a.Status.CurrentRelease).To(Equal(int32(1)))
	}
	g.Eventually(pinnedReady, timeout).Should(Succeed())
	update(t, ns, "shop", func(a *tfv1.TwelveFactorApp) { a.Spec.Processes[0].Replicas = ptr.To[int32](3) })
	g.Eventually(func(g Gomega) {
		pinnedReady(g)
		expectServing(g, ns, "shop", "web", 1, 3)
	}, timeout).Should(Succeed())
}
