package controller_test

import (
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
	"github.com/twelvefactor/twelvefactor-operator/internal/testenv"
)

var databaseGVK = schema.GroupVersionKind{Group: "test.twelvefactor.dev", Version: "v1", Kind: "Database"}

// ensureDatabaseCRD installs a small Provisioned Service kind: an object whose
// status.binding.name names a binding Secret.
func ensureDatabaseCRD(g Gomega) {
	crd := &apiextv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "databases.test.twelvefactor.dev"},
		Spec: apiextv1.CustomResourceDefinitionSpec{
			Group: "test.twelvefactor.dev", Scope: apiextv1.NamespaceScoped,
			Names: apiextv1.CustomResourceDefinitionNames{Plural: "databases", Singular: "database", Kind: "Database", ListKind: "DatabaseList"},
			Versions: []apiextv1.CustomResourceDefinitionVersion{{
				Name: "v1", Served: true, Storage: true,
				Subresources: &apiextv1.CustomResourceSubresources{Status: &apiextv1.CustomResourceSubresourceStatus{}},
				Schema: &apiextv1.CustomResourceValidation{OpenAPIV3Schema: &apiextv1.JSONSchemaProps{
					Type: "object", XPreserveUnknownFields: ptr.To(true),
				}},
			}},
		},
	}
	err := env.Client.Create(ctx(), crd)
	if !apierrors.IsAlreadyExists(err) {
		g.Expect(err).NotTo(HaveOccurred())
	}
	g.Eventually(func(g Gomega) {
		l := &unstructured.UnstructuredList{}
		l.SetGroupVersionKind(databaseGVK.GroupVersion().WithKind("DatabaseList"))
		g.Expect(env.Client.List(ctx(), l)).To(Succeed())
	}, timeout).Should(Succeed())
}

func createDatabase(g Gomega, ns, name, bindingSecret string) {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(databaseGVK)
	u.SetNamespace(ns)
	u.SetName(name)
	g.Expect(env.Client.Create(ctx(), u)).To(Succeed())
	if bindingSecret != "" {
		g.Expect(unstructured.SetNestedField(u.Object, bindingSecret, "status", "binding", "name")).To(Succeed())
		g.Expect(env.Client.Status().Update(ctx(), u)).To(Succeed())
	}
}

func dbRef(name string) *tfv1.ServiceReference {
	return &tfv1.ServiceReference{APIVersion: databaseGVK.GroupVersion().String(), Kind: "Database", Name: name}
}

const canary = "canary-Zk3PqLx9-do-not-leak"

func TestBackingServicesAreAttachedRotatedAndRolledBack(t *testing.T) {
	testenv.SkipIfShort(t)
	g := NewWithT(t)
	ensureDatabaseCRD(g)
	ns := newNamespace(t, nil)
	g.Expect(env.Client.Create(ctx(), newApp(ns, "shop"))).To(Succeed())
	g.Eventually(func(g Gomega) { g.Expect(deploymentRelease(g, ns, "shop-web")).To(Equal("1")) }, timeout).Should(Succeed())

	createSecret(g, ns, "shop-db", map[string]string{"type": "postgresql", "uri": "postgres://shop:" + canary + "@db:5432/shop", "password": canary})
	createSecret(g, ns, "cache-binding", map[string]string{"type": "redis", "host": "cache"})
	createDatabase(g, ns, "cache", "cache-binding")
	update(t, ns, "shop", func(a *tfv1.TwelveFactorApp) {
		a.Spec.Services = []tfv1.BackingService{
			{Name: "db", SecretRef: &tfv1.LocalObjectReference{Name: "shop-db"}, Env: []tfv1.BindingEnv{{Name: "DATABASE_URL", Key: "uri"}}},
			{Name: "cache", ServiceRef: dbRef("cache"), Provider: "acme"},
		}
	})
	g.Eventually(func(g Gomega) {
		// Both: a pass applies web, then worker.
		g.Expect(deploymentRelease(g, ns, "shop-web")).To(Equal("2"))
		g.Expect(deploymentRelease(g, ns, "shop-worker")).To(Equal("2"))
	}, timeout).Should(Succeed())
	rel := &tfv1.Release{}
	g.Expect(env.Client.Get(ctx(), client.ObjectKey{Namespace: ns, Name: "shop-v2"}, rel)).To(Succeed())
	g.Expect(rel.Spec.Description).To(Equal("Attach cache; Attach db"))

	for _, proc := range []string{"shop-web", "shop-worker"} {
		pod := getDeployment(g, ns, proc).Spec.Template.Spec
		c := pod.Containers[0]
		g.Expect(c.VolumeMounts).To(ContainElements(
			corev1.VolumeMount{Name: "binding-db", MountPath: "/bindings/db", ReadOnly: true},
			corev1.VolumeMount{Name: "binding-cache", MountPath: "/bindings/cache", ReadOnly: true},
		))
		g.Expect(c.Env).To(ContainElement(corev1.EnvVar{Name: "SERVICE_BINDING_ROOT", Value: "/bindings"}))
		g.Expect(c.Env).To(ContainElement(corev1.EnvVar{Name: "DATABASE_URL", ValueFrom: &corev1.EnvVarSource{
			SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "shop-v2-binding-db"}, Key: "uri"}}}))
		for _, v := range pod.Volumes {
			if v.Secret != nil {
				g.Expect(v.Secret.SecretName).To(HavePrefix("shop-v2-binding-"))
			}
		}
	}
	cacheSnap := &corev1.Secret{}
	g.Expect(env.Client.Get(ctx(), client.ObjectKey{Namespace: ns, Name: "shop-v2-binding-cache"}, cacheSnap)).To(Succeed())
	g.Expect(string(cacheSnap.Data["type"])).To(Equal("redis"))
	g.Expect(string(cacheSnap.Data["provider"])).To(Equal("acme"))
	g.Expect(*cacheSnap.Immutable).To(BeTrue())

	// Rotating the password makes v3.
	src := &corev1.Secret{}
	g.Expect(env.Client.Get(ctx(), client.ObjectKey{Namespace: ns, Name: "shop-db"}, src)).To(Succeed())
	src.Data["password"] = []byte("rotated-" + canary)
	g.Expect(env.Client.Update(ctx(), src)).To(Succeed())
	g.Eventually(func(g Gomega) { g.Expect(deploymentRelease(g, ns, "shop-web")).To(Equal("3")) }, timeout).Should(Succeed())
	g.Expect(env.Client.Get(ctx(), client.ObjectKey{Namespace: ns, Name: "shop-v3"}, rel)).To(Succeed())
	g.Expect(rel.Spec.Description).To(Equal("Update db binding"))

	// A Provisioned Service that points at a new Secret also makes a release
	// (its status is watched).
	createSecret(g, ns, "cache-binding-2", map[string]string{"type": "redis", "host": "cache-2"})
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(databaseGVK)
	g.Expect(env.Client.Get(ctx(), client.ObjectKey{Namespace: ns, Name: "cache"}, u)).To(Succeed())
	g.Expect(unstructured.SetNestedField(u.Object, "cache-binding-2", "status", "binding", "name")).To(Succeed())
	g.Expect(env.Client.Status().Update(ctx(), u)).To(Succeed())
	g.Eventually(func(g Gomega) { g.Expect(deploymentRelease(g, ns, "shop-web")).To(Equal("4")) }, timeout).Should(Succeed())

	// Pinning v2 mounts v2's snapshot, which still holds the old password.
	update(t, ns, "shop", func(a *tfv1.TwelveFactorApp) { a.Spec.RollbackTo = ptr.To[int32](2) })
	g.Eventually(func(g Gomega) {
		for _, v := range getDeployment(g, ns, "shop-web").Spec.Template.Spec.Volumes {
			if v.Name == "binding-db" {
				g.Expect(v.Secret.SecretName).To(Equal("shop-v2-binding-db"))
			}
		}
	}, timeout).Should(Succeed())
	snap := &corev1.Secret{}
	g.Expect(env.Client.Get(ctx(), client.ObjectKey{Namespace: ns, Name: "shop-v2-binding-db"}, snap)).To(Succeed())
	g.Expect(string(snap.Data["password"])).To(Equal(canary))

	assertNoLeak(t, ns, canary)
}

func TestTwoAttachmentsOfOneKindAreDistinct(t *testing.T) {
	testenv.SkipIfShort(t)
	g := NewWithT(t)
	ensureDatabaseCRD(g)
	ns := newNamespace(t, nil)
	createSecret(g, ns, "s1", map[string]string{"type": "postgresql", "host": "shard-1"})
	createSecret(g, ns, "s2", map[string]string{"type": "postgresql", "host": "shard-2"})
	createDatabase(g, ns, "shard-1", "s1")
	createDatabase(g, ns, "shard-2", "s2")
	app := newApp(ns, "shop")
	app.Spec.Services = []tfv1.BackingService{{Name: "shard-1", ServiceRef: dbRef("shard-1")}, {Name: "shard-2", ServiceRef: dbRef("shard-2")}}
	g.Expect(env.Client.Create(ctx(), app)).To(Succeed())
	g.Eventually(func(g Gomega) { g.Expect(deploymentRelease(g, ns, "shop-web")).To(Equal("1")) }, timeout).Should(Succeed())
	a, b := &corev1.Secret{}, &corev1.Secret{}
	g.Expect(env.Client.Get(ctx(), client.ObjectKey{Namespace: ns, Name: "shop-v1-binding-shard-1"}, a)).To(Succeed())
	g.Expect(env.Client.Get(ctx(), client.ObjectKey{Namespace: ns, Name: "shop-v1-binding-shard-2"}, b)).To(Succeed())
	g.Expect(string(a.Data["host"])).To(Equal("shard-1"))
	g.Expect(string(b.Data["host"])).To(Equal("shard-2"))
}

func TestBadBindingsGiveAConditionAndNoRelease(t *testing.T) {
	testenv.SkipIfShort(t)
	g := NewWithT(t)
	ensureDatabaseCRD(g)
	cases := []struct {
		name    string
		setup   func(g Gomega, ns string)
		service tfv1.BackingService
		want    string
	}{
		{"missing Secret", func(Gomega, string) {}, tfv1.BackingService{Name: "db", SecretRef: &tfv1.LocalObjectReference{Name: "nope"}},
			`backing service "db" (spec.services[0]): binding Secret "nope" does not exist`},
		{"Provisioned Service without status.binding", func(g Gomega, ns string) { createDatabase(g, ns, "pending", "") },
			tfv1.BackingService{Name: "db", ServiceRef: dbRef("pending")}, `Database "pending" has no status.binding.name yet`},
		{"Provisioned Service kind without a CRD", func(Gomega, string) {},
			tfv1.BackingService{Name: "db", ServiceRef: &tfv1.ServiceReference{APIVersion: "missing.twelvefactor.dev/v1", Kind: "Widget", Name: "w"}},
			`backing service "db" (spec.services[0]): Widget "w" does not exist`},
		{"binding without type", func(g Gomega, ns string) { createSecret(g, ns, "notype", map[string]string{"host": "x"}) },
			tfv1.BackingService{Name: "db", SecretRef: &tfv1.LocalObjectReference{Name: "notype"}}, `has no type entry`},
		{"env key not in the Secret", func(g Gomega, ns string) {
			createSecret(g, ns, "nouri", map[string]string{"type": "postgresql", "host": "x"})
		}, tfv1.BackingService{Name: "db", SecretRef: &tfv1.LocalObjectReference{Name: "nouri"}, Env: []tfv1.BindingEnv{{Name: "DATABASE_URL", Key: "uri"}}},
			`key "uri" is not in binding Secret "nouri"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			ns := newNamespace(t, nil)
			g.Expect(env.Client.Create(ctx(), newApp(ns, "shop"))).To(Succeed())
			g.Eventually(func(g Gomega) { g.Expect(deploymentRelease(g, ns, "shop-web")).To(Equal("1")) }, timeout).Should(Succeed())
			tc.setup(g, ns)
			update(t, ns, "shop", func(a *tfv1.TwelveFactorApp) { a.Spec.Services = []tfv1.BackingService{tc.service} })
			g.Eventually(func(g Gomega) {
				c := condition(g, ns, "shop", tfv1.ConditionReleased)
				g.Expect(c).NotTo(BeNil())
				g.Expect(c.Reason).To(Equal(tfv1.ReasonBindingNotReady))
				g.Expect(c.Message).To(ContainSubstring(tc.want))
			}, timeout).Should(Succeed())
			g.Expect(releaseNumbers(g, ns, "shop")).To(ConsistOf(int32(1)))
			g.Expect(deploymentRelease(g, ns, "shop-web")).To(Equal("1"))
		})
	}
}

// assertNoLeak scans events, the app's status, release descriptions and the
// manager's logs for a secret value.
func assertNoLeak(t *testing.T, ns, secret string) {
	t.Helper()
	g := NewWithT(t)
	evs := &eventsv1.EventList{}
	g.Expect(env.Client.List(ctx(), evs, client.InNamespace(ns))).To(Succeed())
	g.Expect(evs.Items).NotTo(BeEmpty())
	for _, e := range evs.Items {
		g.Expect(e.Note).NotTo(ContainSubstring(secret))
	}
	apps := &tfv1.TwelveFactorAppList{}
	g.Expect(env.Client.List(ctx(), apps, client.InNamespace(ns))).To(Succeed())
	for _, a := range apps.Items {
		g.Expect(strings.Contains(toJSON(a.Status), secret)).To(BeFalse())
	}
	rels := &tfv1.ReleaseList{}
	g.Expect(env.Client.List(ctx(), rels, client.InNamespace(ns))).To(Succeed())
	for _, r := range rels.Items {
		g.Expect(toJSON(r.Spec)).NotTo(ContainSubstring(secret))
		g.Expect(toJSON(r.Status)).NotTo(ContainSubstring(secret))
	}
	g.Expect(logs.String()).NotTo(BeEmpty())
	g.Expect(logs.String()).NotTo(ContainSubstring(secret))
}
