package devcluster_test

import (
	"context"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/twelvefactor/twelvefactor-operator/internal/devcluster"
)

func podSpec(image string, restart corev1.RestartPolicy) corev1.PodSpec {
	return corev1.PodSpec{
		RestartPolicy:                restart,
		AutomountServiceAccountToken: ptr.To(false),
		SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true),
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
		Containers: []corev1.Container{{Name: "c", Image: image, SecurityContext: &corev1.SecurityContext{
			AllowPrivilegeEscalation: ptr.To(false), Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}}}},
	}
}

func deployment(name, image string, replicas int32) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To(replicas), Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: podSpec(image, corev1.RestartPolicyAlways)}},
	}
}

func job(name, image string) *batchv1.Job {
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: batchv1.JobSpec{BackoffLimit: ptr.To[int32](0),
			Template: corev1.PodTemplateSpec{Spec: podSpec(image, corev1.RestartPolicyNever)}},
	}
}

func jobCondition(c client.Client, name string, t batchv1.JobConditionType) func() bool {
	return func() bool {
		j := &batchv1.Job{}
		if err := c.Get(context.Background(), client.ObjectKey{Namespace: "default", Name: name}, j); err != nil {
			return false
		}
		for _, cond := range j.Status.Conditions {
			if cond.Type == t && cond.Status == corev1.ConditionTrue {
				return true
			}
		}
		return false
	}
}

func TestSimulatedClusterRunsDeploymentsJobsAndGarbageCollection(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the control plane")
	}
	g := NewWithT(t)
	ctx := context.Background()
	c, err := devcluster.Start(ctx, devcluster.Options{Progress: os.Stdout})
	g.Expect(err).NotTo(HaveOccurred())
	stopped := false
	defer func() {
		if !stopped {
			_ = c.Stop()
		}
	}()
	cl := c.Client

	g.Expect(cl.Create(ctx, deployment("web", "registry.example/web:1", 3))).To(Succeed())
	g.Expect(cl.Create(ctx, deployment("stuck", "registry.example/"+devcluster.NeverReadyMarker+":1", 1))).To(Succeed())
	g.Expect(cl.Create(ctx, job("ok", "registry.example/job:1"))).To(Succeed())
	g.Expect(cl.Create(ctx, job("bad", "registry.example/"+devcluster.FailMarker+":1"))).To(Succeed())
	hang := job("hang", "registry.example/"+devcluster.NeverCompleteMarker+":1")
	hang.Spec.ActiveDeadlineSeconds = ptr.To[int64](2)
	g.Expect(cl.Create(ctx, hang)).To(Succeed())

	g.Eventually(func(g Gomega) {
		d := &appsv1.Deployment{}
		g.Expect(cl.Get(ctx, client.ObjectKey{Namespace: "default", Name: "web"}, d)).To(Succeed())
		g.Expect(d.Status.AvailableReplicas).To(Equal(int32(3)))
	}, 60*time.Second, 200*time.Millisecond).Should(Succeed())
	g.Eventually(jobCondition(cl, "ok", batchv1.JobComplete), 60*time.Second).Should(BeTrue())
	g.Eventually(jobCondition(cl, "bad", batchv1.JobFailed), 60*time.Second).Should(BeTrue())
	// A never-completing Job pod runs until the Job's deadline ends it.
	g.Eventually(func(g Gomega) {
		j := &batchv1.Job{}
		g.Expect(cl.Get(ctx, client.ObjectKey{Namespace: "default", Name: "hang"}, j)).To(Succeed())
		g.Expect(j.Status.Succeeded).To(BeZero())
		g.Expect(j.Status.Conditions).To(ContainElement(And(HaveField("Type", batchv1.JobFailed),
			HaveField("Status", corev1.ConditionTrue), HaveField("Reason", batchv1.JobReasonDeadlineExceeded))))
	}, 60*time.Second).Should(Succeed())

	// A never-ready pod runs but is not Ready.
	g.Eventually(func(g Gomega) {
		pods := &corev1.PodList{}
		g.Expect(cl.List(ctx, pods, client.InNamespace("default"), client.MatchingLabels{"app": "stuck"})).To(Succeed())
		g.Expect(pods.Items).To(HaveLen(1))
		g.Expect(pods.Items[0].Status.Phase).To(Equal(corev1.PodRunning))
	}, 60*time.Second).Should(Succeed())
	d := &appsv1.Deployment{}
	g.Expect(cl.Get(ctx, client.ObjectKey{Namespace: "default", Name: "stuck"}, d)).To(Succeed())
	g.Expect(d.Status.ReadyReplicas).To(BeZero())

	// Deleting a Deployment garbage-collects its ReplicaSet and pods.
	g.Expect(cl.Delete(ctx, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"}})).To(Succeed())
	g.Eventually(func(g Gomega) {
		rs := &appsv1.ReplicaSetList{}
		g.Expect(cl.List(ctx, rs, client.InNamespace("default"), client.MatchingLabels{"app": "web"})).To(Succeed())
		g.Expect(rs.Items).To(BeEmpty())
		pods := &corev1.PodList{}
		g.Expect(cl.List(ctx, pods, client.InNamespace("default"), client.MatchingLabels{"app": "web"})).To(Succeed())
		g.Expect(pods.Items).To(BeEmpty())
	}, 60*time.Second).Should(Succeed())
	g.Expect(apierrors.IsNotFound(cl.Get(ctx, client.ObjectKey{Namespace: "default", Name: "web"}, &appsv1.Deployment{}))).To(BeTrue())

	// Services get addresses from a range far larger than envtest's /24.
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"}, Ports: []corev1.ServicePort{{Port: 80}}}}
	g.Expect(cl.Create(ctx, svc)).To(Succeed())
	_, svcRange, err := net.ParseCIDR(devcluster.ServiceCIDR)
	g.Expect(err).NotTo(HaveOccurred())
	ones, _ := svcRange.Mask.Size()
	g.Expect(ones).To(BeNumerically("<=", 16))
	g.Expect(svcRange.Contains(net.ParseIP(svc.Spec.ClusterIP))).To(BeTrue(), "ClusterIP %s is outside %s", svc.Spec.ClusterIP, svcRange)

	// DeleteNamespaces returns once the namespace controller has removed them.
	g.Expect(c.EnsureNamespace(ctx, "scratch", nil)).To(Succeed())
	g.Expect(cl.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "c", Namespace: "scratch"}})).To(Succeed())
	g.Expect(devcluster.DeleteNamespaces(ctx, cl, time.Minute, "scratch")).To(Succeed())
	g.Expect(apierrors.IsNotFound(cl.Get(ctx, client.ObjectKey{Name: "scratch"}, &corev1.Namespace{}))).To(BeTrue())

	// kube-controller-manager runs as kubeadm runs it: its own user may not
	// delete pods or namespaces' content (RBAC's system:kube-controller-manager
	// role), so the collection and deletion above were done by the controllers
	// as the ServiceAccounts it made for them; and it publishes the API
	// server's CA from --root-ca-file.
	sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User: "system:kube-controller-manager", Groups: []string{"system:authenticated"},
		ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: "delete", Resource: "pods", Namespace: "default"}}}
	g.Expect(cl.Create(ctx, sar)).To(Succeed())
	g.Expect(sar.Status.Allowed).To(BeFalse(), "the controller-manager's own user may delete pods")
	for _, sa := range []string{"namespace-controller", "generic-garbage-collector", "deployment-controller", "job-controller"} {
		g.Expect(cl.Get(ctx, client.ObjectKey{Namespace: "kube-system", Name: sa}, &corev1.ServiceAccount{})).To(Succeed(), sa)
	}
	g.Eventually(func(g Gomega) {
		cm := &corev1.ConfigMap{}
		g.Expect(cl.Get(ctx, client.ObjectKey{Namespace: "default", Name: "kube-root-ca.crt"}, cm)).To(Succeed())
		g.Expect(cm.Data).To(HaveKeyWithValue("ca.crt", string(c.Config.CAData)))
	}, 60*time.Second).Should(Succeed())

	pids := c.PIDs()
	g.Expect(pids).To(HaveLen(3))
	g.Expect(c.Stop()).To(Succeed())
	stopped = true
	for _, pid := range pids {
		g.Expect(syscall.Kill(pid, 0)).To(MatchError(syscall.ESRCH), "process %d is left behind", pid)
	}
}

func TestKwokConfigHasEveryStage(t *testing.T) {
	g := NewWithT(t)
	cfg := devcluster.KwokConfigForTest()
	for _, name := range []string{"node-initialize", "pod-ready", "pod-complete", "pod-delete", "pod-never-ready", "pod-fail", "pod-ready-slow"} {
		g.Expect(cfg).To(ContainSubstring("name: " + name + "\n"))
	}
	g.Expect(cfg).To(ContainSubstring("durationMilliseconds: 3000\n  next:"))
	g.Expect(cfg).To(ContainSubstring(`contains("` + devcluster.NeverCompleteMarker + `")'
      operator: 'NotIn'`))
}
