package cluster_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/twelvefactor/twelvefactor-operator/test/cluster"
)

const (
	timeout  = 30 * time.Second
	interval = 100 * time.Millisecond
)

// restrictedPod is a pod spec that passes Pod Security "restricted".
func restrictedPod(restart corev1.RestartPolicy) corev1.PodSpec {
	return corev1.PodSpec{
		RestartPolicy:                restart,
		AutomountServiceAccountToken: ptr.To(false),
		SecurityContext: &corev1.PodSecurityContext{
			RunAsNonRoot:   ptr.To(true),
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
		Containers: []corev1.Container{{
			Name:  "app",
			Image: "registry.example/app:1",
			SecurityContext: &corev1.SecurityContext{
				AllowPrivilegeEscalation: ptr.To(false),
				Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			},
		}},
	}
}

func deployment(ns, name string, replicas int32, behaviour string) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	template := map[string]string{"app": name}
	if behaviour != "" {
		template[cluster.BehaviourLabel] = behaviour
	}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: template},
				Spec:       restrictedPod(corev1.RestartPolicyAlways),
			},
		},
	}
}

func job(ns, name, behaviour string) *batchv1.Job {
	var labels map[string]string
	if behaviour != "" {
		labels = map[string]string{cluster.BehaviourLabel: behaviour}
	}
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: batchv1.JobSpec{
			BackoffLimit: ptr.To[int32](0),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       restrictedPod(corev1.RestartPolicyNever),
			},
		},
	}
}

func hasJobCondition(j *batchv1.Job, t batchv1.JobConditionType) bool {
	for _, c := range j.Status.Conditions {
		if c.Type == t && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// children returns the processes whose parent is this test binary, by PID,
// with the base name of their executable.
func children(t *testing.T) map[int]string {
	t.Helper()
	return childrenOf(t, os.Getpid())
}

// childrenOf returns the processes whose parent is ppid, except zombies.
func childrenOf(t *testing.T, ppid int) map[int]string {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	out := map[int]string{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...; comm may hold spaces.
		fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(fields) < 2 || fields[1] != strconv.Itoa(ppid) || fields[0] == "Z" {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		out[pid] = filepath.Base(strings.SplitN(string(cmdline), "\x00", 2)[0])
	}
	return out
}

func TestSimulatedCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a simulated cluster")
	}
	g := NewWithT(t)
	ctx := t.Context()
	before := children(t)
	g.Expect(before).To(BeEmpty(), "this test must start with no child processes")

	begin := time.Now()
	c, err := cluster.Start(ctx, cluster.Options{Pods: true, Stdout: os.Stdout})
	g.Expect(err).NotTo(HaveOccurred())
	t.Cleanup(func() { _ = c.Stop() })
	t.Logf("The cluster started in %s", time.Since(begin).Round(10*time.Millisecond))
	cl := c.Client

	nodes := &corev1.NodeList{}
	g.Expect(cl.List(ctx, nodes)).To(Succeed())
	g.Expect(nodes.Items).To(HaveLen(cluster.DefaultNodes))
	g.Expect(c.KubeconfigPath).To(BeAnExistingFile())

	restricted := map[string]string{"pod-security.kubernetes.io/enforce": "restricted"}
	namespace := func(t *testing.T) string {
		ns := strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()))
		ns = ns[len("testsimulatedcluster-behaviours-"):]
		NewWithT(t).Expect(c.EnsureNamespace(ctx, ns, restricted)).To(Succeed())
		return ns
	}

	t.Run("behaviours", func(t *testing.T) {
		t.Run("a_deployment_becomes_available", func(t *testing.T) {
			t.Parallel()
			g, ns := NewWithT(t), namespace(t)
			g.Expect(cl.Create(ctx, deployment(ns, "web", 3, ""))).To(Succeed())
			g.Eventually(func(g Gomega) {
				d := &appsv1.Deployment{}
				g.Expect(cl.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, d)).To(Succeed())
				g.Expect(d.Status.ReadyReplicas).To(BeEquivalentTo(3))
				g.Expect(d.Status.AvailableReplicas).To(BeEquivalentTo(3))
				g.Expect(d.Status.Conditions).To(ContainElement(And(
					HaveField("Type", appsv1.DeploymentAvailable), HaveField("Status", corev1.ConditionTrue))))
			}, timeout, interval).Should(Succeed())
		})

		t.Run("a_job_succeeds", func(t *testing.T) {
			t.Parallel()
			g, ns := NewWithT(t), namespace(t)
			g.Expect(cl.Create(ctx, job(ns, "migrate", ""))).To(Succeed())
			g.Eventually(func(g Gomega) {
				j := &batchv1.Job{}
				g.Expect(cl.Get(ctx, client.ObjectKey{Namespace: ns, Name: "migrate"}, j)).To(Succeed())
				g.Expect(hasJobCondition(j, batchv1.JobComplete)).To(BeTrue())
				g.Expect(j.Status.Succeeded).To(BeEquivalentTo(1))
			}, timeout, interval).Should(Succeed())
		})

		t.Run("a_pod_that_is_not_restarted_succeeds_without_a_job", func(t *testing.T) {
			t.Parallel()
			g, ns := NewWithT(t), namespace(t)
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "once", Namespace: ns}, Spec: restrictedPod(corev1.RestartPolicyNever)}
			g.Expect(cl.Create(ctx, pod)).To(Succeed())
			g.Eventually(func(g Gomega) {
				g.Expect(cl.Get(ctx, client.ObjectKeyFromObject(pod), pod)).To(Succeed())
				g.Expect(pod.Status.Phase).To(Equal(corev1.PodSucceeded))
			}, timeout, interval).Should(Succeed())
		})

		t.Run("a_job_labelled_fail_fails", func(t *testing.T) {
			t.Parallel()
			g, ns := NewWithT(t), namespace(t)
			g.Expect(cl.Create(ctx, job(ns, "migrate", cluster.BehaviourFail))).To(Succeed())
			g.Eventually(func(g Gomega) {
				j := &batchv1.Job{}
				g.Expect(cl.Get(ctx, client.ObjectKey{Namespace: ns, Name: "migrate"}, j)).To(Succeed())
				g.Expect(hasJobCondition(j, batchv1.JobFailed)).To(BeTrue())
				g.Expect(hasJobCondition(j, batchv1.JobComplete)).To(BeFalse())
			}, timeout, interval).Should(Succeed())
			pods := &corev1.PodList{}
			g.Expect(cl.List(ctx, pods, client.InNamespace(ns))).To(Succeed())
			g.Expect(pods.Items).To(HaveLen(1))
			g.Expect(pods.Items[0].Status.Phase).To(Equal(corev1.PodFailed))
			g.Expect(pods.Items[0].Status.ContainerStatuses).To(HaveLen(1))
			g.Expect(pods.Items[0].Status.ContainerStatuses[0].State.Terminated).NotTo(BeNil())
			g.Expect(pods.Items[0].Status.ContainerStatuses[0].State.Terminated.ExitCode).To(BeEquivalentTo(1))
		})

		t.Run("a_deployment_labelled_never_ready_runs_but_is_never_ready", func(t *testing.T) {
			t.Parallel()
			g, ns := NewWithT(t), namespace(t)
			g.Expect(cl.Create(ctx, deployment(ns, "stuck", 2, cluster.BehaviourNeverReady))).To(Succeed())
			g.Eventually(func(g Gomega) {
				pods := &corev1.PodList{}
				g.Expect(cl.List(ctx, pods, client.InNamespace(ns))).To(Succeed())
				g.Expect(pods.Items).To(HaveLen(2))
				for _, p := range pods.Items {
					g.Expect(p.Status.Phase).To(Equal(corev1.PodRunning))
					g.Expect(p.Status.PodIP).NotTo(BeEmpty())
				}
			}, timeout, interval).Should(Succeed())
			g.Consistently(func(g Gomega) {
				d := &appsv1.Deployment{}
				g.Expect(cl.Get(ctx, client.ObjectKey{Namespace: ns, Name: "stuck"}, d)).To(Succeed())
				g.Expect(d.Status.ReadyReplicas).To(BeZero())
				pods := &corev1.PodList{}
				g.Expect(cl.List(ctx, pods, client.InNamespace(ns))).To(Succeed())
				for _, p := range pods.Items {
					g.Expect(p.Status.Phase).To(Equal(corev1.PodRunning))
					g.Expect(podReady(&p)).To(BeFalse())
				}
			}, 3*time.Second, 250*time.Millisecond).Should(Succeed())
		})

		t.Run("a_deployment_labelled_fail_crash_loops", func(t *testing.T) {
			t.Parallel()
			g, ns := NewWithT(t), namespace(t)
			g.Expect(cl.Create(ctx, deployment(ns, "crash", 1, cluster.BehaviourFail))).To(Succeed())
			g.Eventually(func(g Gomega) {
				pods := &corev1.PodList{}
				g.Expect(cl.List(ctx, pods, client.InNamespace(ns))).To(Succeed())
				g.Expect(pods.Items).To(HaveLen(1))
				p := pods.Items[0]
				g.Expect(p.Status.Phase).To(Equal(corev1.PodRunning))
				g.Expect(podReady(&p)).To(BeFalse())
				g.Expect(p.Status.ContainerStatuses).To(HaveLen(1))
				cs := p.Status.ContainerStatuses[0]
				g.Expect(cs.State.Waiting).NotTo(BeNil())
				g.Expect(cs.State.Waiting.Reason).To(Equal("CrashLoopBackOff"))
				g.Expect(cs.LastTerminationState.Terminated).NotTo(BeNil())
				g.Expect(cs.LastTerminationState.Terminated.ExitCode).To(BeEquivalentTo(1))
			}, timeout, interval).Should(Succeed())
		})

		t.Run("a_pod_labelled_slow_start_becomes_ready_late", func(t *testing.T) {
			t.Parallel()
			g, ns := NewWithT(t), namespace(t)
			g.Expect(cl.Create(ctx, deployment(ns, "slow", 1, cluster.BehaviourSlowStart))).To(Succeed())
			var pod corev1.Pod
			g.Eventually(func(g Gomega) {
				pods := &corev1.PodList{}
				g.Expect(cl.List(ctx, pods, client.InNamespace(ns))).To(Succeed())
				g.Expect(pods.Items).To(HaveLen(1))
				pod = pods.Items[0]
				g.Expect(podReady(&pod)).To(BeTrue())
			}, timeout, interval).Should(Succeed())
			// A lower bound only: a slow machine makes it later, never earlier.
			g.Expect(pod.Status.StartTime.Sub(pod.CreationTimestamp.Time)).To(BeNumerically(">=", cluster.SlowStart-time.Second))
		})

		t.Run("a_pod_needs_no_service_account", func(t *testing.T) {
			t.Parallel()
			g := NewWithT(t)
			ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "no-service-account", Labels: restricted}}
			g.Expect(cl.Create(ctx, ns)).To(Succeed())
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns.Name}, Spec: restrictedPod(corev1.RestartPolicyAlways)}
			g.Expect(cl.Create(ctx, pod)).To(Succeed())
			g.Eventually(func(g Gomega) {
				g.Expect(cl.Get(ctx, client.ObjectKeyFromObject(pod), pod)).To(Succeed())
				g.Expect(podReady(pod)).To(BeTrue())
			}, timeout, interval).Should(Succeed())
		})

		t.Run("deleting_a_deployment_collects_its_replicaset_and_pods", func(t *testing.T) {
			t.Parallel()
			g, ns := NewWithT(t), namespace(t)
			d := deployment(ns, "web", 2, "")
			g.Expect(cl.Create(ctx, d)).To(Succeed())
			g.Eventually(func(g Gomega) {
				g.Expect(cl.Get(ctx, client.ObjectKeyFromObject(d), d)).To(Succeed())
				g.Expect(d.Status.ReadyReplicas).To(BeEquivalentTo(2))
			}, timeout, interval).Should(Succeed())
			// Orphan-free background deletion leaves the dependents to the
			// garbage collector of kube-controller-manager.
			g.Expect(cl.Delete(ctx, d, client.PropagationPolicy(metav1.DeletePropagationBackground))).To(Succeed())
			g.Eventually(func(g Gomega) {
				g.Expect(apierrors.IsNotFound(cl.Get(ctx, client.ObjectKeyFromObject(d), &appsv1.Deployment{}))).To(BeTrue())
				rs := &appsv1.ReplicaSetList{}
				g.Expect(cl.List(ctx, rs, client.InNamespace(ns))).To(Succeed())
				g.Expect(rs.Items).To(BeEmpty())
				pods := &corev1.PodList{}
				g.Expect(cl.List(ctx, pods, client.InNamespace(ns))).To(Succeed())
				g.Expect(pods.Items).To(BeEmpty())
			}, timeout, interval).Should(Succeed())
		})
	})
	if t.Failed() {
		t.Logf("Logs are in %s", c.LogDir)
		return
	}

	t.Run("the_api_server_restarts_and_the_cluster_recovers", func(t *testing.T) {
		g := NewWithT(t)
		g.Expect(c.RestartAPIServer(ctx)).To(Succeed())
		ns := "after-restart"
		g.Expect(c.EnsureNamespace(ctx, ns, restricted)).To(Succeed())
		g.Expect(cl.Create(ctx, deployment(ns, "web", 2, ""))).To(Succeed())
		g.Eventually(func(g Gomega) {
			d := &appsv1.Deployment{}
			g.Expect(cl.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, d)).To(Succeed())
			g.Expect(d.Status.AvailableReplicas).To(BeEquivalentTo(2))
		}, timeout, interval).Should(Succeed())
	})

	// Every process the cluster started is a child of this test; Stop ends
	// them all, and a second Stop is harmless.
	running := children(t)
	names := map[string]bool{}
	for _, name := range running {
		names[name] = true
	}
	g.Expect(names).To(HaveKey("etcd"))
	g.Expect(names).To(HaveKey("kube-apiserver"))
	own := c.PIDs()
	g.Expect(own).To(HaveLen(3))
	for name, pid := range own {
		g.Expect(running).To(HaveKeyWithValue(pid, name))
	}

	// As from a test's Cleanup and a signal handler at once.
	stop := time.Now()
	errs := make(chan error, 2)
	for range 2 {
		go func() { errs <- c.Stop() }()
	}
	g.Expect(<-errs).To(Succeed())
	g.Expect(<-errs).To(Succeed())
	t.Logf("The cluster stopped in %s", time.Since(stop).Round(10*time.Millisecond))
	g.Expect(c.Stop()).To(Succeed())
	g.Expect(children(t)).To(BeEmpty())
	for pid, name := range running {
		g.Expect(gone(pid)).To(BeTrue(), fmt.Sprintf("%s (pid %d) is left behind", name, pid))
	}
}

// gone reports whether a process has ended: it does not exist, or it is a
// zombie waiting for its parent to reap it.
func gone(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	return len(fields) > 0 && fields[0] == "Z"
}

func TestProcessesDieWithTheirParent(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a simulated cluster")
	}
	g := NewWithT(t)
	// A process that starts a cluster, then dies without calling Stop, as a
	// test binary killed at its timeout does.
	helper := exec.Command(os.Args[0])
	helper.Env = append(os.Environ(), helperEnv+"="+t.TempDir())
	helper.Stderr = os.Stderr
	out, err := helper.StdoutPipe()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(helper.Start()).To(Succeed())
	t.Cleanup(func() { _ = helper.Process.Kill(); _ = helper.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(line).To(Equal("ready\n"))

	procs := childrenOf(t, helper.Process.Pid)
	t.Cleanup(func() {
		for pid := range procs {
			if !gone(pid) {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
	names := []string{}
	for _, name := range procs {
		names = append(names, name)
	}
	g.Expect(names).To(ConsistOf("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"))

	g.Expect(helper.Process.Signal(syscall.SIGKILL)).To(Succeed())
	_ = helper.Wait()
	for pid, name := range procs {
		g.Eventually(func() bool { return gone(pid) }, timeout, interval).Should(BeTrue(), "%s (pid %d) outlived its parent", name, pid)
	}
}

func TestStartWithoutPodsRunsControllersOnly(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a simulated cluster")
	}
	g := NewWithT(t)
	ctx := t.Context()
	work := t.TempDir()
	c, err := cluster.Start(ctx, cluster.Options{WorkDir: work})
	g.Expect(err).NotTo(HaveOccurred())
	t.Cleanup(func() { _ = c.Stop() })
	g.Expect(c.PIDs()).To(HaveLen(1))
	g.Expect(c.PIDs()).To(HaveKey("kube-controller-manager"))

	// The controller-manager makes pods; with no scheduler they stay Pending.
	g.Expect(c.Client.Create(ctx, deployment("default", "web", 1, ""))).To(Succeed())
	g.Eventually(func(g Gomega) {
		pods := &corev1.PodList{}
		g.Expect(c.Client.List(ctx, pods, client.InNamespace("default"))).To(Succeed())
		g.Expect(pods.Items).To(HaveLen(1))
		g.Expect(pods.Items[0].Status.Phase).To(Equal(corev1.PodPending))
		g.Expect(pods.Items[0].Spec.NodeName).To(BeEmpty())
	}, timeout, interval).Should(Succeed())

	g.Expect(c.Stop()).To(Succeed())
	// A work dir given by the caller is kept, with the logs.
	g.Expect(filepath.Join(work, "logs", "kube-controller-manager.log")).To(BeAnExistingFile())
	g.Expect(filepath.Join(work, "kubeconfig")).To(BeAnExistingFile())
}

func TestStartThatFailsLeavesNoProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a simulated cluster")
	}
	g := NewWithT(t)
	// A cancelled context makes Start fail when it creates the fake nodes,
	// after every process is up; it stops them all.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	c, err := cluster.Start(ctx, cluster.Options{Pods: true})
	g.Expect(err).To(HaveOccurred())
	g.Expect(c).To(BeNil())
	g.Expect(children(t)).To(BeEmpty())
}
