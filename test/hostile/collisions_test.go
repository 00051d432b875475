package hostile

import (
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
)

// TestNameCollisionsBetweenApps: two apps of one namespace whose derived
// names come out equal. The first keeps its objects; the second is told
// NameConflict, naming the object and its controller, and never writes it.
func TestNameCollisionsBetweenApps(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		fn   func(t *testing.T)
	}{
		{"ProcessNamesOfTwoAppsCollide", testProcessNamesOfTwoAppsCollide},
		{"BindingSecretHoldsAnotherAppsEnvSecretName", testBindingSecretHoldsAnotherAppsEnvSecretName},
		{"EnvSecretHoldsAnotherAppsBindingSecretName", testEnvSecretHoldsAnotherAppsBindingSecretName},
		{"BindingSecretsOfTwoAppsCollide", testBindingSecretsOfTwoAppsCollide},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.fn(t)
		})
	}
}

// testProcessNamesOfTwoAppsCollide: app a, process b-c, and app a-b, process
// c, both derive Deployment, Service and PDB a-b-c. a made them first; a-b
// reports the conflict, runs its other process, and takes the names once a
// is deleted.
func testProcessNamesOfTwoAppsCollide(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	first := newApp(ns, "a")
	first.Spec.Processes[0].Name = "b-c"
	create(t, first)
	waitReady(t, ns, "a", 1)
	// Their status settles before they are frozen.
	settledDeployment(t, ns, "a-b-c")
	settledPDB(t, ns, "a-b-c", 2)
	objs := []foreign{
		freeze(t, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "a-b-c"}}),
		freeze(t, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "a-b-c"}}),
		freeze(t, &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "a-b-c"}}),
	}

	second := newApp(ns, "a-b")
	second.Spec.Processes[0].Name = "c"
	create(t, second)
	app := waitStalled(t, ns, "a-b", tfv1.ReasonNameConflict)
	g.Expect(message(app, tfv1.ConditionReady)).To(ContainSubstring(`Deployment "a-b-c" exists`))
	g.Expect(message(app, tfv1.ConditionReady)).To(ContainSubstring(`controller TwelveFactorApp "a"`))
	// a-b's other process runs; its process c has no pod.
	g.Eventually(func(g Gomega) { expectServing(g, ns, "a-b", "worker", 1, 1) }, timeout).Should(Succeed())
	g.Expect(appPods(g, ns, "a-b", map[string]string{tfv1.LabelProcess: "c"})).To(BeEmpty())
	passAgain(t, ns, "a-b", tfv1.ReasonNameConflict)
	for _, o := range objs {
		o.expectUntouched(g)
	}
	// a is not disturbed.
	waitReady(t, ns, "a", 1)
	g.Eventually(func(g Gomega) { expectServing(g, ns, "a", "b-c", 1, 2) }, timeout).Should(Succeed())

	// Once a is gone, the names are free and a-b takes them by itself.
	deleteApp(t, ns, "a")
	waitReady(t, ns, "a-b", 1)
	g.Eventually(func(g Gomega) {
		expectServing(g, ns, "a-b", "c", 1, 2)
		g.Expect(service(g, ns, "a-b-c").Spec.Selector).To(Equal(map[string]string{tfv1.LabelApp: "a-b", tfv1.LabelProcess: "c"}))
	}, timeout).Should(Succeed())
}

// dbSecret is a user's binding Secret.
func dbSecret(ns string) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: ns},
		StringData: map[string]string{"type": "postgresql", "uri": "postgres://db/shop"}}
}

func withBinding(app *tfv1.TwelveFactorApp, name string) *tfv1.TwelveFactorApp {
	app.Spec.Services = append(app.Spec.Services, tfv1.BackingService{Name: name,
		SecretRef: &tfv1.LocalObjectReference{Name: "db"},
		Env:       []tfv1.BindingEnv{{Name: "DATABASE_URL", Key: "uri"}}})
	return app
}

// The binding q-v1-env of app x is snapshotted as x-v1-binding-q-v1-env,
// which is the env Secret of release 1 of app x-v1-binding-q.
const (
	collidingApp     = "x-v1-binding-q"
	collidingBinding = "q-v1-env"
	collidingSecret  = "x-v1-binding-q-v1-env"
)

// testBindingSecretHoldsAnotherAppsEnvSecretName: app x's binding Secret
// exists first; app x-v1-binding-q makes no release, so no pod of it reads
// x's binding data as its environment.
func testBindingSecretHoldsAnotherAppsEnvSecretName(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	create(t, dbSecret(ns), withBinding(newApp(ns, "x"), collidingBinding))
	waitReady(t, ns, "x", 1)
	held := freeze(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: collidingSecret}})

	create(t, newApp(ns, collidingApp))
	app := waitStalled(t, ns, collidingApp, tfv1.ReasonNameConflict)
	g.Expect(message(app, tfv1.ConditionReady)).To(ContainSubstring(`Secret "` + collidingSecret + `"`))
	passAgain(t, ns, collidingApp, tfv1.ReasonNameConflict)
	g.Expect(releaseNumbers(g, ns, collidingApp)).To(BeEmpty())
	g.Expect(appPods(g, ns, collidingApp, nil)).To(BeEmpty())
	expectGone(g, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: collidingApp + "-web"}})
	held.expectUntouched(g)
	waitReady(t, ns, "x", 1)
	g.Eventually(func(g Gomega) { expectServing(g, ns, "x", "web", 1, 2) }, timeout).Should(Succeed())
}

// testEnvSecretHoldsAnotherAppsBindingSecretName: the same names, the other
// way round: x-v1-binding-q's env Secret exists first, and x makes no release.
func testEnvSecretHoldsAnotherAppsBindingSecretName(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	create(t, newApp(ns, collidingApp))
	waitReady(t, ns, collidingApp, 1)
	held := freeze(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: collidingSecret}})

	create(t, dbSecret(ns), withBinding(newApp(ns, "x"), collidingBinding))
	app := waitStalled(t, ns, "x", tfv1.ReasonNameConflict)
	g.Expect(message(app, tfv1.ConditionReady)).To(ContainSubstring(`Secret "` + collidingSecret + `"`))
	passAgain(t, ns, "x", tfv1.ReasonNameConflict)
	g.Expect(releaseNumbers(g, ns, "x")).To(BeEmpty())
	g.Expect(appPods(g, ns, "x", nil)).To(BeEmpty())
	held.expectUntouched(g)
	waitReady(t, ns, collidingApp, 1)
	g.Eventually(func(g Gomega) { expectServing(g, ns, collidingApp, "web", 1, 2) }, timeout).Should(Succeed())
}

// testBindingSecretsOfTwoAppsCollide: binding q-v1-binding-r of app x and
// binding r of app x-v1-binding-q are both snapshotted as
// x-v1-binding-q-v1-binding-r.
func testBindingSecretsOfTwoAppsCollide(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	const name = "x-v1-binding-q-v1-binding-r"
	create(t, dbSecret(ns), withBinding(newApp(ns, "x"), "q-v1-binding-r"))
	waitReady(t, ns, "x", 1)
	held := freeze(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}})

	second := withBinding(newApp(ns, collidingApp), "r")
	second.Spec.Processes[1].Replicas = ptr.To[int32](2)
	create(t, second)
	app := waitStalled(t, ns, collidingApp, tfv1.ReasonNameConflict)
	g.Expect(message(app, tfv1.ConditionReady)).To(ContainSubstring(`Secret "` + name + `"`))
	passAgain(t, ns, collidingApp, tfv1.ReasonNameConflict)
	g.Expect(releaseNumbers(g, ns, collidingApp)).To(BeEmpty())
	g.Expect(appPods(g, ns, collidingApp, nil)).To(BeEmpty())
	held.expectUntouched(g)
	g.Eventually(func(g Gomega) { expectServing(g, ns, "x", "web", 1, 2) }, timeout).Should(Succeed())
}
