package controller_test

import (
	"testing"

	. "github.com/onsi/gomega"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
	"github.com/twelvefactor/twelvefactor-operator/internal/testenv"
)

// Another field manager's change to a PodDisruptionBudget or an HPA the
// operator owns is put back: the values it sets, and a selector key added.
func TestPDBAndHPADriftIsReverted(t *testing.T) {
	testenv.SkipIfShort(t)
	g := NewWithT(t)
	ns := newNamespace(t, nil)
	app := newApp(ns, "shop")
	app.Spec.Processes = append(app.Spec.Processes, tfv1.ProcessSpec{Name: "api", Command: []string{"api"},
		Port: ptr.To[int32](9090), Autoscaling: &tfv1.AutoscalingSpec{MinReplicas: ptr.To[int32](2), MaxReplicas: 4}})
	g.Expect(env.Client.Create(ctx(), app)).To(Succeed())
	pdbKey := client.ObjectKey{Namespace: ns, Name: "shop-web"}
	hpaKey := client.ObjectKey{Namespace: ns, Name: "shop-api"}
	g.Eventually(func(g Gomega) {
		g.Expect(env.Client.Get(ctx(), pdbKey, &policyv1.PodDisruptionBudget{})).To(Succeed())
		g.Expect(env.Client.Get(ctx(), hpaKey, &autoscalingv2.HorizontalPodAutoscaler{})).To(Succeed())
	}, timeout).Should(Succeed())

	g.Eventually(func() error {
		pdb := &policyv1.PodDisruptionBudget{}
		if err := env.Client.Get(ctx(), pdbKey, pdb); err != nil {
			return err
		}
		pdb.Spec.MaxUnavailable = ptr.To(intstr.FromInt32(5))
		pdb.Spec.Selector.MatchLabels["hijack"] = "yes"
		return env.Client.Update(ctx(), pdb, client.FieldOwner("kubectl-edit"))
	}, timeout).Should(Succeed())
	g.Eventually(func() error {
		hpa := &autoscalingv2.HorizontalPodAutoscaler{}
		if err := env.Client.Get(ctx(), hpaKey, hpa); err != nil {
			return err
		}
		hpa.Spec.MaxReplicas = 40
		return env.Client.Update(ctx(), hpa, client.FieldOwner("kubectl-edit"))
	}, timeout).Should(Succeed())

	g.Eventually(func(g Gomega) {
		pdb := &policyv1.PodDisruptionBudget{}
		g.Expect(env.Client.Get(ctx(), pdbKey, pdb)).To(Succeed())
		g.Expect(pdb.Spec.MaxUnavailable).To(Equal(ptr.To(intstr.FromInt32(1))))
		g.Expect(pdb.Spec.Selector.MatchLabels).To(Equal(map[string]string{tfv1.LabelApp: "shop", tfv1.LabelProcess: "web"}))
		hpa := &autoscalingv2.HorizontalPodAutoscaler{}
		g.Expect(env.Client.Get(ctx(), hpaKey, hpa)).To(Succeed())
		g.Expect(hpa.Spec.MaxReplicas).To(Equal(int32(4)))
	}, timeout).Should(Succeed())
}
