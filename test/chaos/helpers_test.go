package chaos

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
	"github.com/twelvefactor/twelvefactor-operator/internal/devcluster"
)

func ctx() context.Context { return context.Background() }

func newNamespace(t *testing.T) string {
	t.Helper()
	ns := "chaos-" + rand.String(6)
	if err := cluster.EnsureNamespace(ctx(), ns, nil); err != nil {
		t.Fatal(err)
	}
	// A test's pods and Service IPs are freed for the next one (or the next
	// -count round): the fake nodes hold 750 pods in all.
	t.Cleanup(func() {
		if err := devcluster.DeleteNamespaces(ctx(), cluster.Client, 2*time.Minute, ns); err != nil {
			t.Log(err)
		}
	})
	return ns
}

func newApp(ns, name string) *tfv1.TwelveFactorApp {
	return &tfv1.TwelveFactorApp{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: tfv1.TwelveFactorAppSpec{
			Build:  tfv1.BuildSpec{Image: fmt.Sprintf("registry.example/shop@sha256:%064x", 1), Revision: "r1"},
			Config: tfv1.ConfigSpec{Env: []tfv1.EnvVar{{Name: "LOG_LEVEL", Value: "0"}}},
			Processes: []tfv1.ProcessSpec{
				{Name: "web", Command: []string{"puma"}, Port: ptr.To[int32](8080), Replicas: ptr.To[int32](1)},
				{Name: "worker", Command: []string{"sidekiq"}, Replicas: ptr.To[int32](1)},
			},
			Shutdown: &tfv1.ShutdownSpec{GracePeriodSeconds: ptr.To[int64](2), PreStopSleepSeconds: ptr.To[int64](1)},
		},
	}
}

func getApp(g Gomega, ns, name string) *tfv1.TwelveFactorApp {
	app := &tfv1.TwelveFactorApp{}
	g.Expect(cluster.Client.Get(ctx(), client.ObjectKey{Namespace: ns, Name: name}, app)).To(Succeed())
	return app
}

func setLogLevel(ns, name, v string) error {
	app := &tfv1.TwelveFactorApp{}
	if err := cluster.Client.Get(ctx(), client.ObjectKey{Namespace: ns, Name: name}, app); err != nil {
		return err
	}
	app.Spec.Config.Env[0].Value = v
	return cluster.Client.Update(ctx(), app)
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

func ready(app *tfv1.TwelveFactorApp) bool {
	return meta.IsStatusConditionTrue(app.Status.Conditions, tfv1.ConditionReady) &&
		app.Status.ObservedGeneration == app.Generation
}

// checkHistory asserts that an app's releases are numbered 1..N with no gap,
// that no two releases hold the same content, and that the latest release
// holds LOG_LEVEL=want and runs.
func checkHistory(g Gomega, ns, name, want string) {
	list := &tfv1.ReleaseList{}
	g.Expect(cluster.Client.List(ctx(), list, client.InNamespace(ns), client.MatchingLabels{tfv1.LabelApp: name})).To(Succeed())
	var nums []int
	hashes := map[string]int32{}
	for _, r := range list.Items {
		nums = append(nums, int(r.Spec.Number))
		other, dup := hashes[r.Spec.ContentHash]
		g.Expect(dup).To(BeFalse(), "%s/%s: v%d and v%d hold the same content", ns, name, other, r.Spec.Number)
		hashes[r.Spec.ContentHash] = r.Spec.Number
	}
	sort.Ints(nums)
	for i, n := range nums {
		g.Expect(n).To(Equal(i+1), "%s/%s: releases %v have a gap or a duplicate", ns, name, nums)
	}
	latest := int32(len(nums))
	sec := &corev1.Secret{}
	g.Expect(cluster.Client.Get(ctx(), client.ObjectKey{Namespace: ns, Name: fmt.Sprintf("%s-v%d-env", name, latest)}, sec)).To(Succeed())
	g.Expect(string(sec.Data["LOG_LEVEL"])).To(Equal(want))
	app := getApp(g, ns, name)
	g.Expect(app.Status.CurrentRelease).To(Equal(latest))
	g.Expect(ready(app)).To(BeTrue(), "%s/%s is not Ready: %v", ns, name, app.Status.Conditions)
}
