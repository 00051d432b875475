package e2e

import (
	"testing"

	. "github.com/onsi/gomega"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
	"github.com/twelvefactor/twelvefactor-operator/internal/devcluster"
)

func factor(app *tfv1.TwelveFactorApp, f string) tfv1.FactorResult {
	for _, r := range app.Status.Factors {
		if r.Factor == f {
			return r
		}
	}
	return tfv1.FactorResult{}
}

func testStartupTimeIsRecordedAndSlowStartWarns(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	g.Expect(cluster.Client.Create(ctx(), newApp(ns, "fast"))).To(Succeed())
	slow := newApp(ns, "slow")
	slow.Spec.Build.Image = image(devcluster.SlowStartMarker+"/shop", 1)
	g.Expect(cluster.Client.Create(ctx(), slow)).To(Succeed())
	waitReady(t, ns, "fast", 1)
	waitReady(t, ns, "slow", 1)

	g.Eventually(func(g Gomega) {
		app := getApp(g, ns, "slow")
		g.Expect(app.Status.Processes).To(HaveLen(2))
		for _, p := range app.Status.Processes {
			g.Expect(p.StartupSeconds).NotTo(BeNil())
			g.Expect(*p.StartupSeconds).To(BeNumerically(">=", 3))
		}
		ix := factor(app, "IX")
		g.Expect(ix.Status).To(Equal(tfv1.FactorWarn))
		g.Expect(ix.Reason).To(Equal("SlowStartup"))
	}, timeout).Should(Succeed())
	g.Eventually(func(g Gomega) {
		app := getApp(g, ns, "fast")
		for _, p := range app.Status.Processes {
			g.Expect(p.StartupSeconds).NotTo(BeNil())
			g.Expect(*p.StartupSeconds).To(BeNumerically("<=", 2))
		}
		g.Expect(factor(app, "IX").Status).To(Equal(tfv1.FactorPass))
	}, timeout).Should(Succeed())
}
