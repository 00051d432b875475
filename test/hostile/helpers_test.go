package hostile

import (
	"context"
	"strconv"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
	"github.com/twelvefactor/twelvefactor-operator/internal/release"
	"github.com/twelvefactor/twelvefactor-operator/internal/testenv/installed"
)

// timeout bounds every wait. A name conflict clears on the operator's retry,
// which comes 30s after the conflict was seen; the machine is shared.
const timeout = 120 * time.Second

// Field managers of the neighbours that tamper with what the operator owns.
const (
	kubectlEdit  = "kubectl-edit"
	kubectlScale = "kubectl-scale"
	kubectlSet   = "kubectl-set"
	intruder     = "intruder"
)

func ctx() context.Context { return context.Background() }

// image returns a digest-pinned image reference; a marker in the repository
// selects a KWOK behaviour.
var image = installed.Image

// newNamespace makes a namespace for one test and lets the manager write
// Secrets in it.
func newNamespace(t *testing.T) string { return operator.NewNamespace(t, "hostile-") }

// newApp returns the suites' sample app (installed.App).
var newApp = installed.App

func objectMeta(ns, name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: ns, Name: name}
}

func objectKey(ns, name string) client.ObjectKey {
	return client.ObjectKey{Namespace: ns, Name: name}
}

func create(t *testing.T, objs ...client.Object) {
	t.Helper()
	for _, o := range objs {
		if err := cluster.Client.Create(ctx(), o); err != nil {
			t.Fatalf("creating %T %s: %v", o, o.GetName(), err)
		}
	}
}

func getApp(g Gomega, ns, name string) *tfv1.TwelveFactorApp {
	app := &tfv1.TwelveFactorApp{}
	g.Expect(cluster.Client.Get(ctx(), client.ObjectKey{Namespace: ns, Name: name}, app)).To(Succeed())
	return app
}

func update(t *testing.T, ns, name string, fn func(*tfv1.TwelveFactorApp)) {
	t.Helper()
	g := NewWithT(t)
	g.Eventually(func() error {
		app := getApp(g, ns, name)
		fn(app)
		return cluster.Client.Update(ctx(), app)
	}, 10*time.Second).Should(Succeed())
}

func deleteApp(t *testing.T, ns, name string) {
	t.Helper()
	g := NewWithT(t)
	g.Expect(cluster.Client.Delete(ctx(), &tfv1.TwelveFactorApp{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}},
		client.PropagationPolicy(metav1.DeletePropagationForeground))).To(Succeed())
	g.Eventually(func() bool {
		err := cluster.Client.Get(ctx(), client.ObjectKey{Namespace: ns, Name: name}, &tfv1.TwelveFactorApp{})
		return apierrors.IsNotFound(err)
	}, timeout).Should(BeTrue(), "app %s/%s is still there", ns, name)
}

func condition(app *tfv1.TwelveFactorApp, t string) string {
	c := meta.FindStatusCondition(app.Status.Conditions, t)
	if c == nil {
		return ""
	}
	return string(c.Status) + "/" + c.Reason
}

func message(app *tfv1.TwelveFactorApp, t string) string {
	if c := meta.FindStatusCondition(app.Status.Conditions, t); c != nil {
		return c.Message
	}
	return ""
}

// waitReady waits until the app is Ready at release n, with its status
// observed at its generation.
func waitReady(t *testing.T, ns, name string, n int32) *tfv1.TwelveFactorApp {
	t.Helper()
	var app *tfv1.TwelveFactorApp
	NewWithT(t).Eventually(func(g Gomega) {
		app = getApp(g, ns, name)
		g.Expect(app.Status.CurrentRelease).To(Equal(n))
		g.Expect(condition(app, tfv1.ConditionReady)).To(Equal("True/"+tfv1.ReasonReady),
			"Ready: %s", message(app, tfv1.ConditionReady))
		g.Expect(app.Status.ObservedGeneration).To(Equal(app.Generation))
		g.Expect(meta.FindStatusCondition(app.Status.Conditions, tfv1.ConditionStalled)).To(BeNil())
	}, timeout, 250*time.Millisecond).Should(Succeed())
	return app
}

// waitStalled waits until the app reports Ready=False and Stalled=True, both
// with reason, at its generation, and returns it.
func waitStalled(t *testing.T, ns, name, reason string) *tfv1.TwelveFactorApp {
	t.Helper()
	var app *tfv1.TwelveFactorApp
	NewWithT(t).Eventually(func(g Gomega) {
		app = getApp(g, ns, name)
		g.Expect(condition(app, tfv1.ConditionReady)).To(Equal("False/"+reason), "Ready: %s", message(app, tfv1.ConditionReady))
		g.Expect(condition(app, tfv1.ConditionStalled)).To(Equal("True/" + reason))
		g.Expect(app.Status.ObservedGeneration).To(Equal(app.Generation))
	}, timeout, 250*time.Millisecond).Should(Succeed())
	return app
}

// passAgain changes the app's generation without changing its content (the
// history limit) and waits for a pass to observe it with the same reason,
// so that an assertion made after it covers a second pass over the same
// hostile state.
func passAgain(t *testing.T, ns, name, reason string) *tfv1.TwelveFactorApp {
	t.Helper()
	update(t, ns, name, func(a *tfv1.TwelveFactorApp) {
		if a.Spec.Release == nil {
			a.Spec.Release = &tfv1.ReleasePhaseSpec{}
		}
		limit := int32(tfv1.DefaultHistoryLimit)
		if a.Spec.Release.HistoryLimit != nil {
			limit = *a.Spec.Release.HistoryLimit
		}
		a.Spec.Release.HistoryLimit = ptr.To(limit - 1)
	})
	return waitStalled(t, ns, name, reason)
}

// foreign is a snapshot of an object the operator must never write.
type foreign struct {
	obj    client.Object
	uid    types.UID
	rv     string
	owners []metav1.OwnerReference
	labels map[string]string
}

// freeze records an object that exists now.
func freeze(t *testing.T, obj client.Object) foreign {
	t.Helper()
	if err := cluster.Client.Get(ctx(), client.ObjectKeyFromObject(obj), obj); err != nil {
		t.Fatalf("reading %T %s: %v", obj, obj.GetName(), err)
	}
	return foreign{obj: obj.DeepCopyObject().(client.Object), uid: obj.GetUID(), rv: obj.GetResourceVersion(),
		owners: obj.GetOwnerReferences(), labels: obj.GetLabels()}
}

// expectUntouched asserts that the object is the same object, not written
// since it was frozen: the same UID and resourceVersion (so the same
// managedFields), owner references and labels.
func (f foreign) expectUntouched(g Gomega) client.Object {
	now := f.obj.DeepCopyObject().(client.Object)
	g.Expect(cluster.Client.Get(ctx(), client.ObjectKeyFromObject(f.obj), now)).To(Succeed(), "%T %s is gone", f.obj, f.obj.GetName())
	g.Expect(now.GetUID()).To(Equal(f.uid), "%T %s was replaced", f.obj, f.obj.GetName())
	g.Expect(now.GetResourceVersion()).To(Equal(f.rv), "%T %s was written", f.obj, f.obj.GetName())
	g.Expect(now.GetOwnerReferences()).To(Equal(f.owners))
	g.Expect(now.GetLabels()).To(Equal(f.labels))
	return now
}

// expectNotOperators asserts that no field manager of the operator's has
// fields in the object.
func expectNotOperators(g Gomega, obj client.Object) {
	for _, mf := range obj.GetManagedFields() {
		g.Expect(mf.Manager).NotTo(BeElementOf(tfv1.FieldManager, tfv1.AdminRunFieldManager),
			"%T %s has fields of the operator", obj, obj.GetName())
	}
}

// settledDeployment waits until the Deployment controller is done with a
// Deployment (every replica updated and available, progress complete), so
// that its status, and so its resourceVersion, no longer changes.
func settledDeployment(t *testing.T, ns, name string) *appsv1.Deployment {
	t.Helper()
	var d *appsv1.Deployment
	NewWithT(t).Eventually(func(g Gomega) {
		d = deployment(g, ns, name)
		want := ptr.Deref(d.Spec.Replicas, 1)
		st := d.Status
		g.Expect(st.ObservedGeneration).To(Equal(d.Generation))
		g.Expect([]int32{st.Replicas, st.UpdatedReplicas, st.ReadyReplicas, st.AvailableReplicas}).To(HaveEach(want))
		var progressing string
		for _, c := range st.Conditions {
			if c.Type == appsv1.DeploymentProgressing {
				progressing = c.Reason
			}
		}
		g.Expect(progressing).To(Equal("NewReplicaSetAvailable"))
	}, timeout, 250*time.Millisecond).Should(Succeed())
	return d
}

// checkGone asserts that an object does not exist.
func expectGone(g Gomega, obj client.Object) {
	err := cluster.Client.Get(ctx(), client.ObjectKeyFromObject(obj), obj)
	g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "%T %s exists: %v", obj, obj.GetName(), err)
}

func deployment(g Gomega, ns, name string) *appsv1.Deployment {
	d := &appsv1.Deployment{}
	g.Expect(cluster.Client.Get(ctx(), client.ObjectKey{Namespace: ns, Name: name}, d)).To(Succeed())
	return d
}

func service(g Gomega, ns, name string) *corev1.Service {
	s := &corev1.Service{}
	g.Expect(cluster.Client.Get(ctx(), client.ObjectKey{Namespace: ns, Name: name}, s)).To(Succeed())
	return s
}

func secret(g Gomega, ns, name string) *corev1.Secret {
	s := &corev1.Secret{}
	g.Expect(cluster.Client.Get(ctx(), client.ObjectKey{Namespace: ns, Name: name}, s)).To(Succeed())
	return s
}

func getRelease(g Gomega, ns, name string) *tfv1.Release {
	r := &tfv1.Release{}
	g.Expect(cluster.Client.Get(ctx(), client.ObjectKey{Namespace: ns, Name: name}, r)).To(Succeed())
	return r
}

// releaseNumbers lists the numbers of the Releases the app controls.
func releaseNumbers(g Gomega, ns, app string) []int32 {
	owner := getApp(g, ns, app)
	list := &tfv1.ReleaseList{}
	g.Expect(cluster.Client.List(ctx(), list, client.InNamespace(ns))).To(Succeed())
	out := []int32{}
	for _, r := range list.Items {
		if ref := metav1.GetControllerOf(&r); ref != nil && ref.UID == owner.UID {
			out = append(out, r.Spec.Number)
		}
	}
	return out
}

// controlledBy asserts that obj's controller is owner.
func expectControlledBy(g Gomega, obj, owner client.Object) {
	ref := metav1.GetControllerOf(obj)
	g.Expect(ref).NotTo(BeNil(), "%T %s has no controller", obj, obj.GetName())
	g.Expect(ref.UID).To(Equal(owner.GetUID()), "%T %s is controlled by %s %s", obj, obj.GetName(), ref.Kind, ref.Name)
}

// appPods lists the app's pods that are not being deleted, with a label
// selector on top of the app's.
func appPods(g Gomega, ns, app string, extra map[string]string) []corev1.Pod {
	sel := client.MatchingLabels{tfv1.LabelApp: app}
	for k, v := range extra {
		sel[k] = v
	}
	pods := &corev1.PodList{}
	g.Expect(cluster.Client.List(ctx(), pods, client.InNamespace(ns), sel)).To(Succeed())
	var out []corev1.Pod
	for _, p := range pods.Items {
		if p.DeletionTimestamp == nil {
			out = append(out, p)
		}
	}
	return out
}

// podsByRelease counts the Ready pods of a process type by release label
// (not Ready ones under "<n>-notready").
func podsByRelease(g Gomega, ns, app, process string) map[string]int {
	out := map[string]int{}
	for _, p := range appPods(g, ns, app, map[string]string{tfv1.LabelProcess: process}) {
		ready := false
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
				ready = true
			}
		}
		key := p.Labels[tfv1.LabelRelease]
		if !ready {
			key += "-notready"
		}
		out[key]++
	}
	return out
}

// podUIDs returns the UIDs of every pod (also those being deleted) that
// carries the labels.
func podUIDs(g Gomega, ns string, labels map[string]string) map[types.UID]bool {
	pods := &corev1.PodList{}
	g.Expect(cluster.Client.List(ctx(), pods, client.InNamespace(ns), client.MatchingLabels(labels))).To(Succeed())
	out := map[types.UID]bool{}
	for _, p := range pods.Items {
		out[p.UID] = true
	}
	return out
}

// secretsOf lists the Secrets a pod spec reads: envFrom, env valueFrom and volumes.
func secretsOf(spec corev1.PodSpec) []string {
	var out []string
	for _, c := range append(spec.InitContainers, spec.Containers...) {
		for _, e := range c.EnvFrom {
			if e.SecretRef != nil {
				out = append(out, e.SecretRef.Name)
			}
		}
		for _, e := range c.Env {
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
				out = append(out, e.ValueFrom.SecretKeyRef.Name)
			}
		}
	}
	for _, v := range spec.Volumes {
		if v.Secret != nil {
			out = append(out, v.Secret.SecretName)
		}
	}
	return out
}

// expectOperatorSecretsOnly asserts that every Secret the pod spec reads is
// one the operator made for a Release of the app: controlled by that
// Release, immutable, and holding the data whose hash the Release recorded.
func expectOperatorSecretsOnly(g Gomega, ns, appName string, spec corev1.PodSpec) {
	app := getApp(g, ns, appName)
	names := secretsOf(spec)
	g.Expect(names).NotTo(BeEmpty())
	for _, name := range names {
		s := secret(g, ns, name)
		ref := metav1.GetControllerOf(s)
		g.Expect(ref).NotTo(BeNil(), "Secret %s has no controller", name)
		g.Expect(ref.Kind).To(Equal("Release"), "Secret %s", name)
		rel := getRelease(g, ns, ref.Name)
		g.Expect(rel.UID).To(Equal(ref.UID), "Secret %s names a Release that is not its controller", name)
		expectControlledBy(g, rel, app)
		g.Expect(s.Immutable).To(Equal(ptr.To(true)), "Secret %s", name)
		want := rel.Spec.EnvSecretHash
		for _, b := range rel.Spec.Bindings {
			if b.SecretName == name {
				want = b.SecretHash
			}
		}
		g.Expect(want).NotTo(BeEmpty())
		g.Expect(release.DataHash(s.Data)).To(Equal(want), "Secret %s does not hold its release's data", name)
		g.Expect(s.Annotations).To(HaveKeyWithValue(tfv1.AnnotationDataHash, want))
	}
}

// expectServing asserts that the process runs n Ready pods of release rel,
// from a Deployment the app controls whose pods read only the operator's
// Secrets.
func expectServing(g Gomega, ns, app, process string, rel int32, n int) {
	g.Expect(podsByRelease(g, ns, app, process)).To(Equal(map[string]int{strconv.Itoa(int(rel)): n}))
	d := deployment(g, ns, release.ProcessName(app, process))
	expectControlledBy(g, d, getApp(g, ns, app))
	expectOperatorSecretsOnly(g, ns, app, d.Spec.Template.Spec)
	for _, p := range appPods(g, ns, app, map[string]string{tfv1.LabelProcess: process}) {
		expectOperatorSecretsOnly(g, ns, app, p.Spec)
	}
}

// settledPDB waits until the disruption controller has counted a PDB's
// healthy pods, so that its status no longer changes.
func settledPDB(t *testing.T, ns, name string, healthy int32) {
	t.Helper()
	NewWithT(t).Eventually(func(g Gomega) {
		p := &policyv1.PodDisruptionBudget{}
		g.Expect(cluster.Client.Get(ctx(), client.ObjectKey{Namespace: ns, Name: name}, p)).To(Succeed())
		g.Expect(p.Status.ObservedGeneration).To(Equal(p.Generation))
		g.Expect(p.Status.CurrentHealthy).To(Equal(healthy))
		g.Expect(p.Status.ExpectedPods).To(Equal(healthy))
	}, timeout, 250*time.Millisecond).Should(Succeed())
}

// podTemplate returns a minimal pod template for objects the neighbours make.
func podTemplate(labels map[string]string, command ...string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: labels},
		Spec: corev1.PodSpec{
			RestartPolicy:                corev1.RestartPolicyAlways,
			AutomountServiceAccountToken: ptr.To(false),
			Containers:                   []corev1.Container{{Name: "main", Image: image("neighbour", 9), Command: command}},
		},
	}
}
