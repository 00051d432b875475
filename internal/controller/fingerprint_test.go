package controller

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
)

func fingerprintApp() *tfv1.TwelveFactorApp {
	return &tfv1.TwelveFactorApp{
		ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: "ns"},
		Spec: tfv1.TwelveFactorAppSpec{
			Build: tfv1.BuildSpec{Image: "registry.example/shop:1"},
			Config: tfv1.ConfigSpec{
				Env:     []tfv1.EnvVar{{Name: "LOG_LEVEL", Value: "info"}},
				EnvFrom: []tfv1.EnvFromSource{{ConfigMapRef: &tfv1.LocalObjectReference{Name: "cfg"}}},
			},
			Processes: []tfv1.ProcessSpec{{Name: "web", Command: []string{"puma"}, Replicas: ptr.To[int32](2)}},
			Services:  []tfv1.BackingService{{Name: "db", SecretRef: &tfv1.LocalObjectReference{Name: "db"}}},
		},
	}
}

// TestSourcesFingerprint checks that the fingerprint that lets a pass skip
// reading config changes with everything content is resolved from, and only
// with that.
func TestSourcesFingerprint(t *testing.T) {
	ctx := context.Background()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cfg", Namespace: "ns"}, Data: map[string]string{"A": "1"}}
	db := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "ns"}, Data: map[string][]byte{"type": []byte("postgresql")}}
	c := fake.NewClientBuilder().WithScheme(testScheme(t)).WithObjects(cm, db).Build()
	cr := contentResolver{reader: c, meta: c}
	fp := func(app *tfv1.TwelveFactorApp) string {
		t.Helper()
		v, ok := cr.cachedVersions(ctx, app)
		if !ok {
			t.Fatalf("a source is missing")
		}
		return sourcesFingerprint(app, v)
	}

	// What a full resolve records equals what the cache gives.
	var read []string
	if _, _, b, err := cr.resolveEnv(ctx, fingerprintApp(), &read); err != nil || b != nil {
		t.Fatal(err, b)
	}
	if _, b, err := cr.resolveBindings(ctx, fingerprintApp(), &read); err != nil || b != nil {
		t.Fatal(err, b)
	}
	base := fp(fingerprintApp())
	if got := sourcesFingerprint(fingerprintApp(), read); got != base {
		t.Fatalf("full resolve fingerprint %s, cached %s", got, base)
	}

	// Formation is not content.
	scaled := fingerprintApp()
	scaled.Spec.Processes[0].Replicas = ptr.To[int32](5)
	scaled.Spec.RollbackTo = ptr.To[int32](1)
	if fp(scaled) != base {
		t.Errorf("scaling or pinning changed the fingerprint")
	}

	changes := map[string]func(*tfv1.TwelveFactorApp){
		"inline env": func(a *tfv1.TwelveFactorApp) { a.Spec.Config.Env[0].Value = "debug" },
		"image":      func(a *tfv1.TwelveFactorApp) { a.Spec.Build.Image = "registry.example/shop:2" },
		"command":    func(a *tfv1.TwelveFactorApp) { a.Spec.Processes[0].Command = []string{"unicorn"} },
		"release":    func(a *tfv1.TwelveFactorApp) { a.Spec.Release = &tfv1.ReleasePhaseSpec{Command: []string{"migrate"}} },
		"binding":    func(a *tfv1.TwelveFactorApp) { a.Spec.Services[0].Type = "mysql" },
	}
	for name, change := range changes {
		a := fingerprintApp()
		change(a)
		if fp(a) == base {
			t.Errorf("changing the %s did not change the fingerprint", name)
		}
	}

	// A changed source (new resourceVersion) changes it; a missing one is not
	// served from the cache.
	for _, o := range []client.Object{cm, db} {
		if err := c.Get(ctx, client.ObjectKeyFromObject(o), o); err != nil {
			t.Fatal(err)
		}
		o.SetAnnotations(map[string]string{"touched": "yes"})
		if err := c.Update(ctx, o); err != nil {
			t.Fatal(err)
		}
		if now := fp(fingerprintApp()); now == base {
			t.Errorf("updating %s did not change the fingerprint", o.GetName())
		} else {
			base = now
		}
	}
	if err := c.Delete(ctx, db); err != nil {
		t.Fatal(err)
	}
	if _, ok := cr.cachedVersions(ctx, fingerprintApp()); ok {
		t.Errorf("a missing binding Secret was served from the cache")
	}
}

func testScheme(t *testing.T) *runtime.Scheme {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	if err := tfv1.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	return s
}
