package controller_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
	"github.com/twelvefactor/twelvefactor-operator/internal/registry/registrytest"
	"github.com/twelvefactor/twelvefactor-operator/internal/testenv"
)

func TestTagIsResolvedToDigestWithRevisionLabel(t *testing.T) {
	testenv.SkipIfShort(t)
	g := NewWithT(t)
	srv := httptest.NewServer(registrytest.New())
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	digest := registrytest.Push(t, host+"/acme/shop:1.4.2", "abc1234")

	ns := newNamespace(t, nil)
	app := newApp(ns, "shop")
	app.Spec.Build = tfv1.BuildSpec{Image: host + "/acme/shop:1.4.2"}
	g.Expect(env.Client.Create(ctx(), app)).To(Succeed())
	g.Eventually(func(g Gomega) { g.Expect(deploymentRelease(g, ns, "shop-web")).To(Equal("1")) }, timeout).Should(Succeed())

	rel := &tfv1.Release{}
	g.Expect(env.Client.Get(ctx(), client.ObjectKey{Namespace: ns, Name: "shop-v1"}, rel)).To(Succeed())
	g.Expect(rel.Spec.Image).To(Equal(host + "/acme/shop@" + digest))
	g.Expect(rel.Spec.Revision).To(Equal("abc1234"))
	g.Expect(rel.Spec.Description).To(Equal("Deploy abc1234"))
	g.Expect(getDeployment(g, ns, "shop-web").Spec.Template.Spec.Containers[0].Image).To(Equal(host + "/acme/shop@" + digest))

	// A new tag that cannot be resolved leaves v1 serving and says why.
	srv.Close()
	update(t, ns, "shop", func(a *tfv1.TwelveFactorApp) { a.Spec.Build.Image = host + "/acme/shop:1.4.3" })
	g.Eventually(func(g Gomega) {
		c := condition(g, ns, "shop", tfv1.ConditionReconciling)
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.Status).To(Equal(metav1.ConditionTrue))
		g.Expect(c.Reason).To(Equal(tfv1.ReasonImageResolveFailed))
		g.Expect(condition(g, ns, "shop", tfv1.ConditionStalled)).To(BeNil())
	}, timeout).Should(Succeed())
	g.Expect(releaseNumbers(g, ns, "shop")).To(ConsistOf(int32(1)))
	g.Expect(deploymentRelease(g, ns, "shop-web")).To(Equal("1"))
}
