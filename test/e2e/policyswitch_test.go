package e2e

import (
	"fmt"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
	"github.com/twelvefactor/twelvefactor-operator/internal/policy"
)

func setPolicyMode(g Gomega, ns, mode string) {
	patch := fmt.Sprintf(`{"metadata":{"labels":{%q:%q}}}`, tfv1.LabelPolicy, mode)
	g.Expect(cluster.Client.Patch(ctx(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}},
		client.RawPatch(types.MergePatchType, []byte(patch)))).To(Succeed())
}

// testSwitchingANamespaceToWarnReleasesAStalledApp runs an app that fails a
// static rule in a warn namespace, switches the namespace to enforce, sees
// its next change blocked, and switches back: the change is released at once.
func testSwitchingANamespaceToWarnReleasesAStalledApp(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	setPolicyMode(g, ns, tfv1.PolicyWarn)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cfg", Namespace: ns}, Data: map[string]string{"A": "1"}}
	g.Expect(cluster.Client.Create(ctx(), cm)).To(Succeed())
	app := newApp(ns, "shop")
	envFromConfigMaps(app, "cfg")
	// XI LogToFile fails; admission only warns in a warn namespace.
	app.Spec.Config.Env = append(app.Spec.Config.Env, tfv1.EnvVar{Name: "LOG_FILE", Value: "/var/log/shop.log"})
	g.Expect(cluster.Client.Create(ctx(), app)).To(Succeed())
	waitReady(t, ns, "shop", 1)
	g.Expect(factor(getApp(g, ns, "shop"), "XI").Status).To(Equal(tfv1.FactorFail))

	setPolicyMode(g, ns, tfv1.PolicyEnforce)
	// Admission enforces now (a spec change is denied)...
	g.Eventually(func(g Gomega) {
		a := getApp(g, ns, "shop")
		a.Spec.Config.Env[0].Value = "debug"
		err := cluster.Client.Update(ctx(), a, client.DryRunAll)
		g.Expect(err).To(HaveOccurred())
		g.Expect(err.Error()).To(ContainSubstring("spec.config.env writes logs to files"))
	}, timeout).Should(Succeed())
	// ...and the operator blocks the next change, a ConfigMap's.
	g.Expect(cluster.Client.Get(ctx(), client.ObjectKeyFromObject(cm), cm)).To(Succeed())
	cm.Data["A"] = "2"
	g.Expect(cluster.Client.Update(ctx(), cm)).To(Succeed())
	g.Eventually(func(g Gomega) {
		a := getApp(g, ns, "shop")
		stalled := meta.FindStatusCondition(a.Status.Conditions, tfv1.ConditionStalled)
		g.Expect(stalled).NotTo(BeNil())
		g.Expect(stalled.Reason).To(Equal(policy.ReasonLogToFile))
		g.Expect(stalled.Message).To(ContainSubstring("namespace " + ns + " enforces the twelve factors"))
		g.Expect(conditionReason(g, ns, "shop", tfv1.ConditionReleased)).To(Equal("False/" + policy.ReasonLogToFile))
		g.Expect(a.Status.CurrentRelease).To(Equal(int32(1)))
	}, timeout).Should(Succeed())
	g.Expect(releaseNumbers(g, ns, "shop")).To(ConsistOf(int32(1)))

	// Back to warn: the blocked change is released without any other event.
	setPolicyMode(g, ns, tfv1.PolicyWarn)
	waitReady(t, ns, "shop", 2)
	g.Expect(appCondition(g, ns, "shop", tfv1.ConditionStalled)).To(BeNil())
	g.Expect(conditionReason(g, ns, "shop", tfv1.ConditionReleased)).To(Equal("True/" + tfv1.ReasonUpToDate))
}
