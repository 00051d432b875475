package e2e

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
	"github.com/twelvefactor/twelvefactor-operator/internal/testenv/installed"
)

const timeout = 90 * time.Second

func ctx() context.Context { return context.Background() }

// image returns a digest-pinned image reference; a marker in the repository
// selects a KWOK behaviour.
var image = installed.Image

// newNamespace makes a namespace for one test and lets the manager write
// Secrets in it.
func newNamespace(t *testing.T) string { return operator.NewNamespace(t, "e2e-") }

// newApp returns the suites' sample app (installed.App).
var newApp = installed.App

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

func conditionReason(g Gomega, ns, name, t string) string {
	c := meta.FindStatusCondition(getApp(g, ns, name).Status.Conditions, t)
	if c == nil {
		return ""
	}
	return string(c.Status) + "/" + c.Reason
}

// waitReady waits until the app is Ready at release n.
func waitReady(t *testing.T, ns, name string, n int32) {
	t.Helper()
	NewWithT(t).Eventually(func(g Gomega) {
		app := getApp(g, ns, name)
		g.Expect(app.Status.CurrentRelease).To(Equal(n))
		g.Expect(meta.IsStatusConditionTrue(app.Status.Conditions, tfv1.ConditionReady)).To(BeTrue(),
			"Ready: %v", meta.FindStatusCondition(app.Status.Conditions, tfv1.ConditionReady))
	}, timeout, 250*time.Millisecond).Should(Succeed())
}

// pods lists the running pods of one process type, keyed by release label.
func podsByRelease(g Gomega, ns, app, process string) map[string]int {
	pods := &corev1.PodList{}
	g.Expect(cluster.Client.List(ctx(), pods, client.InNamespace(ns),
		client.MatchingLabels{tfv1.LabelApp: app, tfv1.LabelProcess: process})).To(Succeed())
	out := map[string]int{}
	for _, p := range pods.Items {
		if p.DeletionTimestamp != nil {
			continue
		}
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

func deployment(g Gomega, ns, name string) *appsv1.Deployment {
	d := &appsv1.Deployment{}
	g.Expect(cluster.Client.Get(ctx(), client.ObjectKey{Namespace: ns, Name: name}, d)).To(Succeed())
	return d
}

func releaseNumbers(g Gomega, ns, app string) []int32 {
	list := &tfv1.ReleaseList{}
	g.Expect(cluster.Client.List(ctx(), list, client.InNamespace(ns), client.MatchingLabels{tfv1.LabelApp: app})).To(Succeed())
	var out []int32
	for _, r := range list.Items {
		out = append(out, r.Spec.Number)
	}
	return out
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
