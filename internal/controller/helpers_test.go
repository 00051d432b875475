package controller_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
)

const digestImage = "registry.example/shop@sha256:1111111111111111111111111111111111111111111111111111111111111111"

func newApp(ns, name string) *tfv1.TwelveFactorApp {
	return &tfv1.TwelveFactorApp{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: tfv1.TwelveFactorAppSpec{
			Build:  tfv1.BuildSpec{Image: digestImage, Revision: "3f2c1a9"},
			Config: tfv1.ConfigSpec{Env: []tfv1.EnvVar{{Name: "LOG_LEVEL", Value: "info"}}},
			Processes: []tfv1.ProcessSpec{
				{Name: "web", Command: []string{"bundle", "exec", "puma"}, Port: ptr.To[int32](8080), Replicas: ptr.To[int32](2)},
				{Name: "worker", Command: []string{"bundle", "exec", "sidekiq"}, Replicas: ptr.To[int32](1)},
			},
		},
	}
}

func ctx() context.Context { return context.Background() }

func releases(g Gomega, ns, app string) []tfv1.Release {
	list := &tfv1.ReleaseList{}
	g.Expect(env.Client.List(ctx(), list, client.InNamespace(ns), client.MatchingLabels{tfv1.LabelApp: app})).To(Succeed())
	return list.Items
}

func releaseNumbers(g Gomega, ns, app string) []int32 {
	var out []int32
	for _, r := range releases(g, ns, app) {
		out = append(out, r.Spec.Number)
	}
	return out
}

func getApp(g Gomega, ns, name string) *tfv1.TwelveFactorApp {
	app := &tfv1.TwelveFactorApp{}
	g.Expect(env.Client.Get(ctx(), client.ObjectKey{Namespace: ns, Name: name}, app)).To(Succeed())
	return app
}

func getDeployment(g Gomega, ns, name string) *appsv1.Deployment {
	d := &appsv1.Deployment{}
	g.Expect(env.Client.Get(ctx(), client.ObjectKey{Namespace: ns, Name: name}, d)).To(Succeed())
	return d
}

func deploymentRelease(g Gomega, ns, name string) string {
	d := &appsv1.Deployment{}
	if err := env.Client.Get(ctx(), client.ObjectKey{Namespace: ns, Name: name}, d); err != nil {
		return ""
	}
	return d.Spec.Template.Labels[tfv1.LabelRelease]
}

func condition(g Gomega, ns, name, t string) *metav1.Condition {
	return meta.FindStatusCondition(getApp(g, ns, name).Status.Conditions, t)
}

// update re-reads the app and applies fn until the update succeeds.
func update(t *testing.T, ns, name string, fn func(*tfv1.TwelveFactorApp)) {
	t.Helper()
	g := NewWithT(t)
	g.Eventually(func() error {
		app := getApp(g, ns, name)
		fn(app)
		return env.Client.Update(ctx(), app)
	}, 10*time.Second).Should(Succeed())
}

func createSecret(g Gomega, ns, name string, data map[string]string) {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, StringData: data}
	g.Expect(env.Client.Create(ctx(), s)).To(Succeed())
}

const timeout = 20 * time.Second

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// reason returns a condition's reason, or "" when the condition is absent.
func reason(g Gomega, ns, name, t string) string {
	if c := condition(g, ns, name, t); c != nil {
		return c.Reason
	}
	return ""
}

type unstructuredObj = unstructured.Unstructured
