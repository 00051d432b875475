package controller_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
	"github.com/twelvefactor/twelvefactor-operator/internal/testenv"
)

func TestFirstApplyCreatesReleaseEnvSecretAndDeployments(t *testing.T) {
	testenv.SkipIfShort(t)
	g := NewWithT(t)
	ns := newNamespace(t, nil)
	g.Expect(env.Client.Create(ctx(), newApp(ns, "shop"))).To(Succeed())

	g.Eventually(func(g Gomega) {
		g.Expect(deploymentRelease(g, ns, "shop-web")).To(Equal("1"))
		g.Expect(deploymentRelease(g, ns, "shop-worker")).To(Equal("1"))
	}, timeout).Should(Succeed())

	rel := &tfv1.Release{}
	g.Expect(env.Client.Get(ctx(), client.ObjectKey{Namespace: ns, Name: "shop-v1"}, rel)).To(Succeed())
	g.Expect(rel.Spec.Number).To(Equal(int32(1)))
	g.Expect(rel.Spec.Image).To(Equal(digestImage))
	g.Expect(rel.Spec.Description).To(Equal("Deploy 3f2c1a9"))
	g.Expect(rel.Spec.ConfigKeys).To(Equal([]string{"LOG_LEVEL"}))
	g.Expect(rel.OwnerReferences).To(HaveLen(1))
	g.Expect(rel.OwnerReferences[0].Kind).To(Equal("TwelveFactorApp"))

	sec := &corev1.Secret{}
	g.Expect(env.Client.Get(ctx(), client.ObjectKey{Namespace: ns, Name: "shop-v1-env"}, sec)).To(Succeed())
	g.Expect(sec.Immutable).To(Equal(ptr.To(true)))
	g.Expect(string(sec.Data["LOG_LEVEL"])).To(Equal("info"))
	g.Expect(sec.OwnerReferences[0].Name).To(Equal("shop-v1"))

	web := getDeployment(g, ns, "shop-web")
	g.Expect(web.Spec.Replicas).To(Equal(ptr.To[int32](2)))
	g.Expect(web.Spec.Strategy.RollingUpdate.MaxUnavailable.IntValue()).To(Equal(0))
	g.Expect(web.ManagedFields).To(ContainElement(HaveField("Manager", tfv1.FieldManager)))
	pod := web.Spec.Template.Spec
	g.Expect(*pod.AutomountServiceAccountToken).To(BeFalse())
	g.Expect(*pod.SecurityContext.RunAsNonRoot).To(BeTrue())
	g.Expect(pod.SecurityContext.SeccompProfile.Type).To(Equal(corev1.SeccompProfileTypeRuntimeDefault))
	g.Expect(*pod.TerminationGracePeriodSeconds).To(Equal(int64(30)))
	c := pod.Containers[0]
	g.Expect(c.Image).To(Equal(digestImage))
	g.Expect(c.Command).To(Equal([]string{"bundle", "exec", "puma"}))
	g.Expect(*c.SecurityContext.ReadOnlyRootFilesystem).To(BeTrue())
	g.Expect(*c.SecurityContext.AllowPrivilegeEscalation).To(BeFalse())
	g.Expect(c.SecurityContext.Capabilities.Drop).To(ConsistOf(corev1.Capability("ALL")))
	g.Expect(c.VolumeMounts).To(ContainElement(HaveField("MountPath", "/tmp")))
	g.Expect(c.EnvFrom[0].SecretRef.Name).To(Equal("shop-v1-env"))
	g.Expect(c.Env).To(ContainElements(
		corev1.EnvVar{Name: "PORT", Value: "8080"},
		corev1.EnvVar{Name: "RELEASE_VERSION", Value: "v1"},
		corev1.EnvVar{Name: "APP_NAME", Value: "shop"},
		corev1.EnvVar{Name: "PROCESS_TYPE", Value: "web"},
		corev1.EnvVar{Name: "OTEL_SERVICE_NAME", Value: "shop"},
	))
	g.Expect(c.ReadinessProbe.TCPSocket).NotTo(BeNil())
	g.Expect(c.Ports[0].ContainerPort).To(Equal(int32(8080)))
	g.Expect(c.Lifecycle.PreStop.Sleep.Seconds).To(Equal(int64(5)))
	g.Expect(web.Spec.Template.Labels).To(HaveKeyWithValue(tfv1.LabelVersion, "v1"))
	g.Expect(web.Spec.Template.Labels).To(HaveKeyWithValue(tfv1.LabelManagedBy, tfv1.ManagedByValue))

	svc := &corev1.Service{}
	g.Expect(env.Client.Get(ctx(), client.ObjectKey{Namespace: ns, Name: "shop-web"}, svc)).To(Succeed())
	g.Expect(svc.Spec.Type).To(Equal(corev1.ServiceTypeClusterIP))
	g.Expect(svc.Spec.SessionAffinity).To(Equal(corev1.ServiceAffinityNone))
	g.Expect(env.Client.Get(ctx(), client.ObjectKey{Namespace: ns, Name: "shop-worker"}, &corev1.Service{})).
		To(Satisfy(apierrors.IsNotFound), "a process without a port gets no Service")
	g.Expect(env.Client.Get(ctx(), client.ObjectKey{Namespace: ns, Name: "shop-web"}, &policyv1.PodDisruptionBudget{})).To(Succeed())
	g.Expect(env.Client.Get(ctx(), client.ObjectKey{Namespace: ns, Name: "shop-worker"}, &policyv1.PodDisruptionBudget{})).
		To(Satisfy(apierrors.IsNotFound), "a single replica gets no PDB")

	g.Eventually(func(g Gomega) {
		app := getApp(g, ns, "shop")
		g.Expect(app.Status.LatestRelease).To(Equal(int32(1)))
		g.Expect(app.Status.CurrentRelease).To(Equal(int32(1)))
	}, timeout).Should(Succeed())
}

func TestRenderedPodsPassPodSecurityRestricted(t *testing.T) {
	testenv.SkipIfShort(t)
	g := NewWithT(t)
	ns := newNamespace(t, map[string]string{"pod-security.kubernetes.io/enforce": "restricted"})
	app := newApp(ns, "secure")
	app.Spec.Release = &tfv1.ReleasePhaseSpec{Command: []string{"migrate"}}
	g.Expect(env.Client.Create(ctx(), app)).To(Succeed())
	// The release phase gates the Deployments; its Job's pod template is checked too.
	g.Eventually(func(g Gomega) {
		g.Expect(env.Client.Get(ctx(), client.ObjectKey{Namespace: ns, Name: "secure-v1-release"}, &batchJob{})).To(Succeed())
	}, timeout).Should(Succeed())
	job := &batchJob{}
	g.Expect(env.Client.Get(ctx(), client.ObjectKey{Namespace: ns, Name: "secure-v1-release"}, job)).To(Succeed())
	assertAdmitted(g, ns, "job", job.Spec.Template)

	completeJob(g, ns, "secure-v1-release", true)
	g.Eventually(func(g Gomega) {
		g.Expect(deploymentRelease(g, ns, "secure-web")).To(Equal("1"))
		g.Expect(deploymentRelease(g, ns, "secure-worker")).To(Equal("1"))
	}, timeout).Should(Succeed())
	for _, name := range []string{"secure-web", "secure-worker"} {
		assertAdmitted(g, ns, name, getDeployment(g, ns, name).Spec.Template)
	}
}

func assertAdmitted(g Gomega, ns, name string, tmpl corev1.PodTemplateSpec) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name + "-dryrun", Namespace: ns, Labels: tmpl.Labels}, Spec: tmpl.Spec}
	warnings := env.Client.Create(ctx(), pod, client.DryRunAll)
	g.Expect(warnings).To(Succeed(), "pod template of %s must pass Pod Security restricted", name)
}

func TestConfigMapChangeCreatesNewRelease(t *testing.T) {
	testenv.SkipIfShort(t)
	g := NewWithT(t)
	ns := newNamespace(t, nil)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: ns}, Data: map[string]string{"CURRENCY": "EUR"}}
	g.Expect(env.Client.Create(ctx(), cm)).To(Succeed())
	app := newApp(ns, "shop")
	app.Spec.Config.EnvFrom = []tfv1.EnvFromSource{{ConfigMapRef: &tfv1.LocalObjectReference{Name: "shop"}}}
	g.Expect(env.Client.Create(ctx(), app)).To(Succeed())
	g.Eventually(func(g Gomega) { g.Expect(deploymentRelease(g, ns, "shop-web")).To(Equal("1")) }, timeout).Should(Succeed())

	cm.Data["CURRENCY"] = "USD"
	cm.Data["FEATURE_X"] = "on"
	g.Expect(env.Client.Update(ctx(), cm)).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(deploymentRelease(g, ns, "shop-web")).To(Equal("2"))
		g.Expect(deploymentRelease(g, ns, "shop-worker")).To(Equal("2"))
	}, timeout).Should(Succeed())
	rel := &tfv1.Release{}
	g.Expect(env.Client.Get(ctx(), client.ObjectKey{Namespace: ns, Name: "shop-v2"}, rel)).To(Succeed())
	g.Expect(rel.Spec.Description).To(Equal("Set CURRENCY, FEATURE_X config"))
	g.Expect(rel.Spec.Description).NotTo(ContainSubstring("USD"))
	sec := &corev1.Secret{}
	g.Expect(env.Client.Get(ctx(), client.ObjectKey{Namespace: ns, Name: "shop-v2-env"}, sec)).To(Succeed())
	g.Expect(string(sec.Data["CURRENCY"])).To(Equal("USD"))

	// Scaling is formation, not content: no release.
	update(t, ns, "shop", func(a *tfv1.TwelveFactorApp) { a.Spec.Processes[0].Replicas = ptr.To[int32](5) })
	g.Eventually(func(g Gomega) {
		g.Expect(getDeployment(g, ns, "shop-web").Spec.Replicas).To(Equal(ptr.To[int32](5)))
	}, timeout).Should(Succeed())
	// Re-applying an identical spec makes no release either.
	update(t, ns, "shop", func(a *tfv1.TwelveFactorApp) { a.Spec.Config.Env = []tfv1.EnvVar{{Name: "LOG_LEVEL", Value: "info"}} })
	g.Consistently(func(g Gomega) []int32 { return releaseNumbers(g, ns, "shop") }, 2*time.Second).Should(ConsistOf(int32(1), int32(2)))
}

func TestRollbackPinsAndUnpins(t *testing.T) {
	testenv.SkipIfShort(t)
	g := NewWithT(t)
	ns := newNamespace(t, nil)
	g.Expect(env.Client.Create(ctx(), newApp(ns, "shop"))).To(Succeed())
	g.Eventually(func(g Gomega) { g.Expect(deploymentRelease(g, ns, "shop-web")).To(Equal("1")) }, timeout).Should(Succeed())
	v1 := getDeployment(g, ns, "shop-web").Spec.Template.Spec.Containers[0]

	newImage := "registry.example/shop@sha256:2222222222222222222222222222222222222222222222222222222222222222"
	update(t, ns, "shop", func(a *tfv1.TwelveFactorApp) {
		a.Spec.Build = tfv1.BuildSpec{Image: newImage, Revision: "9e8d7c6"}
		a.Spec.Config.Env[0].Value = "debug"
	})
	g.Eventually(func(g Gomega) { g.Expect(deploymentRelease(g, ns, "shop-web")).To(Equal("2")) }, timeout).Should(Succeed())
	g.Expect(getDeployment(g, ns, "shop-web").Spec.Template.Spec.Containers[0].Image).To(Equal(newImage))

	update(t, ns, "shop", func(a *tfv1.TwelveFactorApp) { a.Spec.RollbackTo = ptr.To[int32](1) })
	g.Eventually(func(g Gomega) {
		c := getDeployment(g, ns, "shop-web").Spec.Template.Spec.Containers[0]
		g.Expect(c.Image).To(Equal(v1.Image))
		g.Expect(c.EnvFrom).To(Equal(v1.EnvFrom))
		g.Expect(deploymentRelease(g, ns, "shop-worker")).To(Equal("1"))
		app := getApp(g, ns, "shop")
		g.Expect(app.Status.Pinned).To(BeTrue())
		g.Expect(app.Status.CurrentRelease).To(Equal(int32(1)))
		g.Expect(app.Status.LatestRelease).To(Equal(int32(2)))
	}, timeout).Should(Succeed())
	g.Expect(releaseNumbers(g, ns, "shop")).To(ConsistOf(int32(1), int32(2)), "a pin makes no release")

	update(t, ns, "shop", func(a *tfv1.TwelveFactorApp) { a.Spec.RollbackTo = nil })
	g.Eventually(func(g Gomega) {
		g.Expect(getDeployment(g, ns, "shop-web").Spec.Template.Spec.Containers[0].Image).To(Equal(newImage))
		g.Expect(getApp(g, ns, "shop").Status.Pinned).To(BeFalse())
	}, timeout).Should(Succeed())
}

func TestPinToMissingReleaseStalls(t *testing.T) {
	testenv.SkipIfShort(t)
	g := NewWithT(t)
	ns := newNamespace(t, nil)
	g.Expect(env.Client.Create(ctx(), newApp(ns, "shop"))).To(Succeed())
	g.Eventually(func(g Gomega) { g.Expect(deploymentRelease(g, ns, "shop-web")).To(Equal("1")) }, timeout).Should(Succeed())
	before := getDeployment(g, ns, "shop-web")

	update(t, ns, "shop", func(a *tfv1.TwelveFactorApp) { a.Spec.RollbackTo = ptr.To[int32](99) })
	g.Eventually(func(g Gomega) {
		c := condition(g, ns, "shop", tfv1.ConditionStalled)
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.Status).To(Equal(metav1.ConditionTrue))
		g.Expect(c.Reason).To(Equal(tfv1.ReasonReleaseNotFound))
		g.Expect(c.Message).To(ContainSubstring("v99"))
		g.Expect(c.Message).To(ContainSubstring("available releases: v1"))
		app := getApp(g, ns, "shop")
		g.Expect(app.Status.ObservedGeneration).To(Equal(app.Generation))
	}, timeout).Should(Succeed())
	after := getDeployment(g, ns, "shop-web")
	g.Expect(after.ResourceVersion).To(Equal(before.ResourceVersion), "nothing running changes")
}

func TestHistoryIsPrunedButNotThePinnedRelease(t *testing.T) {
	testenv.SkipIfShort(t)
	g := NewWithT(t)
	ns := newNamespace(t, nil)
	app := newApp(ns, "shop")
	app.Spec.Release = &tfv1.ReleasePhaseSpec{HistoryLimit: ptr.To[int32](2)}
	g.Expect(env.Client.Create(ctx(), app)).To(Succeed())
	g.Eventually(func(g Gomega) { g.Expect(deploymentRelease(g, ns, "shop-web")).To(Equal("1")) }, timeout).Should(Succeed())
	update(t, ns, "shop", func(a *tfv1.TwelveFactorApp) { a.Spec.RollbackTo = ptr.To[int32](1) })
	g.Eventually(func(g Gomega) { g.Expect(getApp(g, ns, "shop").Status.Pinned).To(BeTrue()) }, timeout).Should(Succeed())
	for _, v := range []string{"a", "b", "c", "d"} {
		update(t, ns, "shop", func(a *tfv1.TwelveFactorApp) { a.Spec.Config.Env[0].Value = v })
		want := int32(2 + strings.Index("abcd", v))
		g.Eventually(func(g Gomega) { g.Expect(getApp(g, ns, "shop").Status.LatestRelease).To(Equal(want)) }, timeout).Should(Succeed())
	}
	g.Eventually(func(g Gomega) []int32 { return releaseNumbers(g, ns, "shop") }, timeout).
		Should(ConsistOf(int32(1), int32(4), int32(5)))
	g.Expect(deploymentRelease(g, ns, "shop-web")).To(Equal("1"))
}

func TestRemovingAProcessDeletesOnlyItsObjects(t *testing.T) {
	testenv.SkipIfShort(t)
	g := NewWithT(t)
	ns := newNamespace(t, nil)
	app := newApp(ns, "shop")
	app.Spec.Processes = append(app.Spec.Processes, tfv1.ProcessSpec{Name: "api", Port: ptr.To[int32](9090),
		Autoscaling: &tfv1.AutoscalingSpec{MinReplicas: ptr.To[int32](2), MaxReplicas: 4}})
	g.Expect(env.Client.Create(ctx(), app)).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(env.Client.Get(ctx(), client.ObjectKey{Namespace: ns, Name: "shop-api"}, &autoscalingv2.HorizontalPodAutoscaler{})).To(Succeed())
		g.Expect(env.Client.Get(ctx(), client.ObjectKey{Namespace: ns, Name: "shop-api"}, &policyv1.PodDisruptionBudget{})).To(Succeed())
		g.Expect(env.Client.Get(ctx(), client.ObjectKey{Namespace: ns, Name: "shop-api"}, &corev1.Service{})).To(Succeed())
	}, timeout).Should(Succeed())
	for _, mf := range getDeployment(g, ns, "shop-api").ManagedFields {
		if mf.Manager == tfv1.FieldManager {
			g.Expect(mf.FieldsV1.GetRawString()).NotTo(ContainSubstring(`"f:replicas"`), "the HPA owns replicas")
		}
	}
	web := getDeployment(g, ns, "shop-web")

	update(t, ns, "shop", func(a *tfv1.TwelveFactorApp) { a.Spec.Processes = a.Spec.Processes[:2] })
	g.Eventually(func(g Gomega) {
		g.Expect(env.Client.Get(ctx(), client.ObjectKey{Namespace: ns, Name: "shop-api"}, &appsv1.Deployment{})).To(Satisfy(apierrors.IsNotFound))
		g.Expect(env.Client.Get(ctx(), client.ObjectKey{Namespace: ns, Name: "shop-api"}, &corev1.Service{})).To(Satisfy(apierrors.IsNotFound))
		g.Expect(env.Client.Get(ctx(), client.ObjectKey{Namespace: ns, Name: "shop-api"}, &policyv1.PodDisruptionBudget{})).To(Satisfy(apierrors.IsNotFound))
		g.Expect(env.Client.Get(ctx(), client.ObjectKey{Namespace: ns, Name: "shop-api"}, &autoscalingv2.HorizontalPodAutoscaler{})).To(Satisfy(apierrors.IsNotFound))
	}, timeout).Should(Succeed())
	// Removing a process changes the release content (the process set), so web
	// and worker move to v2, but their Services and PDBs stay.
	g.Eventually(func(g Gomega) { g.Expect(deploymentRelease(g, ns, "shop-web")).To(Equal("2")) }, timeout).Should(Succeed())
	g.Expect(getDeployment(g, ns, "shop-web").UID).To(Equal(web.UID))
	g.Expect(env.Client.Get(ctx(), client.ObjectKey{Namespace: ns, Name: "shop-web"}, &corev1.Service{})).To(Succeed())
}

func TestMissingSecretReportsConditionAndKeepsServing(t *testing.T) {
	testenv.SkipIfShort(t)
	g := NewWithT(t)
	ns := newNamespace(t, nil)
	g.Expect(env.Client.Create(ctx(), newApp(ns, "shop"))).To(Succeed())
	g.Eventually(func(g Gomega) { g.Expect(deploymentRelease(g, ns, "shop-web")).To(Equal("1")) }, timeout).Should(Succeed())

	update(t, ns, "shop", func(a *tfv1.TwelveFactorApp) {
		a.Spec.Config.EnvFrom = []tfv1.EnvFromSource{{SecretRef: &tfv1.LocalObjectReference{Name: "shop-secrets"}}}
	})
	g.Eventually(func(g Gomega) {
		c := condition(g, ns, "shop", tfv1.ConditionReleased)
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(c.Reason).To(Equal(tfv1.ReasonConfigNotFound))
		g.Expect(c.Message).To(ContainSubstring(`Secret "shop-secrets"`))
		r := condition(g, ns, "shop", tfv1.ConditionReconciling)
		g.Expect(r).NotTo(BeNil())
		g.Expect(r.Reason).To(Equal(tfv1.ReasonConfigNotFound))
	}, timeout).Should(Succeed())
	g.Expect(releaseNumbers(g, ns, "shop")).To(ConsistOf(int32(1)))
	g.Expect(deploymentRelease(g, ns, "shop-web")).To(Equal("1"))

	// Creating the Secret unblocks the release (the Secret is watched).
	createSecret(g, ns, "shop-secrets", map[string]string{"API_TOKEN": "s3cr3t"})
	g.Eventually(func(g Gomega) { g.Expect(deploymentRelease(g, ns, "shop-web")).To(Equal("2")) }, timeout).Should(Succeed())
}

func TestSteadyStateMakesNoWrites(t *testing.T) {
	testenv.SkipIfShort(t)
	g := NewWithT(t)
	ns := newNamespace(t, nil)
	app := newApp(ns, "shop")
	app.Spec.Config.EnvFrom = []tfv1.EnvFromSource{{ConfigMapRef: &tfv1.LocalObjectReference{Name: "cfg"}}}
	g.Expect(env.Client.Create(ctx(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cfg", Namespace: ns}, Data: map[string]string{"A": "1"}})).To(Succeed())
	g.Expect(env.Client.Create(ctx(), app)).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(deploymentRelease(g, ns, "shop-worker")).To(Equal("1"))
		g.Expect(getApp(g, ns, "shop").Status.Processes).To(HaveLen(2))
	}, timeout).Should(Succeed())
	snapshot := func(g Gomega) map[string]string {
		out := map[string]string{}
		a := getApp(g, ns, "shop")
		out["app"] = a.ResourceVersion
		for _, list := range []client.ObjectList{&tfv1.ReleaseList{}, &appsv1.DeploymentList{}, &corev1.ServiceList{},
			&policyv1.PodDisruptionBudgetList{}, &corev1.SecretList{}} {
			g.Expect(env.Client.List(ctx(), list, client.InNamespace(ns))).To(Succeed())
			raw, _ := json.Marshal(list)
			var items struct {
				Items []metav1.PartialObjectMetadata `json:"items"`
			}
			g.Expect(json.Unmarshal(raw, &items)).To(Succeed())
			for _, it := range items.Items {
				out[it.Name+"/"+strings.TrimSuffix(list.GetObjectKind().GroupVersionKind().Kind, "List")] = it.ResourceVersion
			}
		}
		return out
	}
	// The first passes have settled when nothing changes for a second.
	var before map[string]string
	g.Eventually(func(g Gomega) {
		before = snapshot(g)
		g.Consistently(snapshot, time.Second).Should(Equal(before))
	}, timeout).Should(Succeed())
	// Touching the ConfigMap without changing its data triggers reconciles of
	// the app; so does a label change on the app itself.
	cm := &corev1.ConfigMap{}
	g.Expect(env.Client.Get(ctx(), client.ObjectKey{Namespace: ns, Name: "cfg"}, cm)).To(Succeed())
	cm.Annotations = map[string]string{"touched": "yes"}
	g.Expect(env.Client.Update(ctx(), cm)).To(Succeed())
	g.Consistently(snapshot, 2*time.Second).Should(Equal(before))
}

func TestReleasesAreCreatedExactlyOnceUnderRepeatedReconciles(t *testing.T) {
	testenv.SkipIfShort(t)
	g := NewWithT(t)
	ns := newNamespace(t, nil)
	g.Expect(env.Client.Create(ctx(), newApp(ns, "shop"))).To(Succeed())
	g.Eventually(func(g Gomega) { g.Expect(deploymentRelease(g, ns, "shop-web")).To(Equal("1")) }, timeout).Should(Succeed())
	update(t, ns, "shop", func(a *tfv1.TwelveFactorApp) { a.Spec.Config.Env[0].Value = "warn" })
	// Hammer the app with reconciles while v2 is being made: bump a label
	// repeatedly (each label change triggers a pass).
	for i := range 20 {
		update(t, ns, "shop", func(a *tfv1.TwelveFactorApp) {
			if a.Labels == nil {
				a.Labels = map[string]string{}
			}
			a.Labels["poke"] = strings.Repeat("x", i+1)
		})
	}
	g.Eventually(func(g Gomega) { g.Expect(deploymentRelease(g, ns, "shop-web")).To(Equal("2")) }, timeout).Should(Succeed())
	g.Consistently(func(g Gomega) []int32 { return releaseNumbers(g, ns, "shop") }, 2*time.Second).Should(ConsistOf(int32(1), int32(2)))
}
