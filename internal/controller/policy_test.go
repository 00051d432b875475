package controller_test

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
	"github.com/twelvefactor/twelvefactor-operator/internal/testenv"
)

func factor(app *tfv1.TwelveFactorApp, f string) tfv1.FactorResult {
	for _, r := range app.Status.Factors {
		if r.Factor == f {
			return r
		}
	}
	return tfv1.FactorResult{}
}

func TestEnforceModeBlocksAFailingChangeAndKeepsServing(t *testing.T) {
	testenv.SkipIfShort(t)
	g := NewWithT(t)
	ns := newNamespace(t, map[string]string{tfv1.LabelPolicy: tfv1.PolicyEnforce})
	g.Expect(env.Client.Create(ctx(), newApp(ns, "shop"))).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(deploymentRelease(g, ns, "shop-web")).To(Equal("1"))
		app := getApp(g, ns, "shop")
		g.Expect(app.Status.Factors).To(HaveLen(12))
		c := condition(g, ns, "shop", tfv1.ConditionTwelveFactorCompliant)
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.Status).To(Equal(metav1.ConditionTrue))
	}, timeout).Should(Succeed())

	update(t, ns, "shop", func(a *tfv1.TwelveFactorApp) {
		a.Spec.Config.Env = append(a.Spec.Config.Env, tfv1.EnvVar{Name: "DB_PASSWORD", Value: "hunter2"})
	})
	g.Eventually(func(g Gomega) {
		c := condition(g, ns, "shop", tfv1.ConditionStalled)
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.Reason).To(Equal(factor(getApp(g, ns, "shop"), "III").Reason))
		g.Expect(c.Message).To(ContainSubstring("DB_PASSWORD"))
		g.Expect(c.Message).NotTo(ContainSubstring("hunter2"))
		g.Expect(factor(getApp(g, ns, "shop"), "III").Status).To(Equal(tfv1.FactorFail))
		g.Expect(condition(g, ns, "shop", tfv1.ConditionTwelveFactorCompliant).Status).To(Equal(metav1.ConditionFalse))
	}, timeout).Should(Succeed())
	g.Consistently(func(g Gomega) []int32 { return releaseNumbers(g, ns, "shop") }, time.Second).Should(ConsistOf(int32(1)))
	g.Expect(deploymentRelease(g, ns, "shop-web")).To(Equal("1"))
}

func TestWarnModeReleasesAndReportsTheFailure(t *testing.T) {
	testenv.SkipIfShort(t)
	g := NewWithT(t)
	ns := newNamespace(t, map[string]string{tfv1.LabelPolicy: tfv1.PolicyWarn})
	app := newApp(ns, "shop")
	app.Spec.Config.Env = append(app.Spec.Config.Env, tfv1.EnvVar{Name: "DB_PASSWORD", Value: "hunter2"})
	g.Expect(env.Client.Create(ctx(), app)).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(deploymentRelease(g, ns, "shop-web")).To(Equal("1"))
		a := getApp(g, ns, "shop")
		g.Expect(factor(a, "III").Status).To(Equal(tfv1.FactorFail))
		g.Expect(condition(g, ns, "shop", tfv1.ConditionStalled)).To(BeNil())
		g.Expect(condition(g, ns, "shop", tfv1.ConditionTwelveFactorCompliant).Status).To(Equal(metav1.ConditionFalse))
	}, timeout).Should(Succeed())
	assertNoLeak(t, ns, "hunter2")
}
