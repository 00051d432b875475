package chaos

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
	"github.com/twelvefactor/twelvefactor-operator/internal/testenv"
)

// TestCrashMidStorm applies 100 apps and two rounds of config changes while
// the manager is SIGKILLed three times at random points. Afterwards every app
// has exactly one release per distinct content, numbered without a gap, and is
// Ready at its final content.
func TestCrashMidStorm(t *testing.T) {
	testenv.SkipIfShort(t)
	g := NewWithT(t)
	ns := newNamespace(t)
	const apps = 100
	mgr := startManager(t, "storm-0")

	var storm sync.WaitGroup
	storm.Add(1)
	go func() {
		defer storm.Done()
		for i := range apps {
			_ = cluster.Client.Create(ctx(), newApp(ns, fmt.Sprintf("app-%03d", i)))
		}
		for round := 1; round <= 2; round++ {
			time.Sleep(time.Duration(500+rand.IntN(1000)) * time.Millisecond)
			for i := range apps {
				name := fmt.Sprintf("app-%03d", i)
				for try := 0; try < 20 && setLogLevel(ns, name, fmt.Sprint(round)) != nil; try++ {
					time.Sleep(50 * time.Millisecond)
				}
			}
		}
	}()
	for kill := 1; kill <= 3; kill++ {
		time.Sleep(time.Duration(300+rand.IntN(1500)) * time.Millisecond)
		mgr.kill()
		t.Logf("killed %s", mgr)
		mgr = startManager(t, fmt.Sprintf("storm-%d", kill))
	}
	storm.Wait()

	g.Eventually(func(g Gomega) {
		for i := range apps {
			checkHistory(g, ns, fmt.Sprintf("app-%03d", i), "2")
		}
	}, 4*time.Minute, time.Second).Should(Succeed())
	g.Expect(mgr.alive()).To(BeTrue())
}

// TestLeaderFailover runs two managers with leader election, kills the
// leader, and checks that the other takes over within the lease duration plus
// 5 s and releases a change made during the handover exactly once.
func TestLeaderFailover(t *testing.T) {
	testenv.SkipIfShort(t)
	g := NewWithT(t)
	ns := newNamespace(t)
	const lease = 4 * time.Second
	le := []string{"--leader-elect", "--leader-election-namespace=default", "--leader-election-id=chaos-failover",
		"--leader-election-lease-duration=4s", "--leader-election-renew-deadline=3s", "--leader-election-retry-period=500ms"}
	a := startManager(t, "leader-a", le...)
	g.Eventually(func() bool { return a.logged("Successfully acquired lease") }, 30*time.Second).Should(BeTrue())
	b := startManager(t, "leader-b", le...)
	g.Expect(cluster.Client.Create(ctx(), newApp(ns, "shop"))).To(Succeed())
	g.Eventually(func(g Gomega) { checkHistory(g, ns, "shop", "0") }, time.Minute).Should(Succeed())
	g.Expect(b.logged("Successfully acquired lease")).To(BeFalse(), "only one manager leads")

	killed := time.Now()
	a.kill()
	update(t, ns, "shop", func(app *tfv1.TwelveFactorApp) { app.Spec.Config.Env[0].Value = "handover" })
	g.Eventually(func() bool { return b.logged("Successfully acquired lease") }, lease+5*time.Second, 100*time.Millisecond).Should(BeTrue(),
		"the standby did not take over within the lease duration plus 5s")
	t.Logf("standby took over %s after the leader was killed", time.Since(killed).Round(100*time.Millisecond))
	g.Eventually(func(g Gomega) { checkHistory(g, ns, "shop", "handover") }, time.Minute).Should(Succeed())
	g.Consistently(func(g Gomega) {
		list := &tfv1.ReleaseList{}
		g.Expect(cluster.Client.List(ctx(), list, client.InNamespace(ns))).To(Succeed())
		g.Expect(list.Items).To(HaveLen(2))
	}, 2*time.Second).Should(Succeed())
}

// TestAPIServerRestart stops kube-apiserver (etcd stays) while a change is
// pending, starts it again, and checks that the same manager process finishes
// the work without restarting.
func TestAPIServerRestart(t *testing.T) {
	testenv.SkipIfShort(t)
	g := NewWithT(t)
	ns := newNamespace(t)
	mgr := startManager(t, "restart")
	g.Expect(cluster.Client.Create(ctx(), newApp(ns, "shop"))).To(Succeed())
	g.Eventually(func(g Gomega) { checkHistory(g, ns, "shop", "0") }, time.Minute).Should(Succeed())

	update(t, ns, "shop", func(app *tfv1.TwelveFactorApp) { app.Spec.Config.Env[0].Value = "after-restart" })
	g.Expect(cluster.StopAPIServer()).To(Succeed())
	time.Sleep(5 * time.Second)
	g.Expect(cluster.StartAPIServer(ctx())).To(Succeed())
	g.Eventually(func(g Gomega) { checkHistory(g, ns, "shop", "after-restart") }, 2*time.Minute, time.Second).Should(Succeed())
	g.Expect(mgr.alive()).To(BeTrue(), "the manager recovered without restarting")

	// New work after the restart is picked up too.
	update(t, ns, "shop", func(app *tfv1.TwelveFactorApp) { app.Spec.Config.Env[0].Value = "later" })
	g.Eventually(func(g Gomega) { checkHistory(g, ns, "shop", "later") }, time.Minute).Should(Succeed())
}

// TestConflictingWriters has another field manager change the Deployment's
// image and replicas: the operator restores its own fields, keeps fields it
// does not own, and does not fight an HPA scaling through /scale.
func TestConflictingWriters(t *testing.T) {
	testenv.SkipIfShort(t)
	g := NewWithT(t)
	ns := newNamespace(t)
	startManager(t, "conflicts")
	app := newApp(ns, "shop")
	app.Spec.Processes = append(app.Spec.Processes, tfv1.ProcessSpec{Name: "api", Port: ptr.To[int32](9090),
		Autoscaling: &tfv1.AutoscalingSpec{MinReplicas: ptr.To[int32](1), MaxReplicas: 5}})
	g.Expect(cluster.Client.Create(ctx(), app)).To(Succeed())
	g.Eventually(func(g Gomega) { checkHistory(g, ns, "shop", "0") }, time.Minute).Should(Succeed())
	want := getDeployment(g, ns, "shop-web").Spec.Template.Spec.Containers[0].Image

	// An intruder forces its own image and replicas, and adds an annotation.
	intruder := &appsv1.Deployment{}
	g.Expect(cluster.Client.Get(ctx(), client.ObjectKey{Namespace: ns, Name: "shop-web"}, intruder)).To(Succeed())
	intruder.Spec.Template.Spec.Containers[0].Image = "registry.example/evil:latest"
	intruder.Spec.Replicas = ptr.To[int32](4)
	if intruder.Annotations == nil {
		intruder.Annotations = map[string]string{}
	}
	intruder.Annotations["example.com/owner"] = "intruder"
	g.Expect(cluster.Client.Update(ctx(), intruder, client.FieldOwner("intruder"))).To(Succeed())
	g.Eventually(func(g Gomega) {
		d := getDeployment(g, ns, "shop-web")
		g.Expect(d.Spec.Template.Spec.Containers[0].Image).To(Equal(want))
		g.Expect(*d.Spec.Replicas).To(Equal(int32(1)))
		g.Expect(d.Annotations).To(HaveKeyWithValue("example.com/owner", "intruder"), "fields it does not own are kept")
	}, time.Minute).Should(Succeed())

	// An HPA scales the autoscaled process through /scale; the operator leaves it.
	scale := &autoscalingv1.Scale{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "shop-api"}, Spec: autoscalingv1.ScaleSpec{Replicas: 3}}
	g.Expect(cluster.Client.SubResource("scale").Update(ctx(), getDeployment(g, ns, "shop-api"),
		client.WithSubResourceBody(scale), client.FieldOwner("horizontal-pod-autoscaler"))).To(Succeed())
	update(t, ns, "shop", func(app *tfv1.TwelveFactorApp) { app.Spec.Config.Env[0].Value = "1" })
	g.Eventually(func(g Gomega) { checkHistory(g, ns, "shop", "1") }, time.Minute).Should(Succeed())
	g.Consistently(func(g Gomega) {
		g.Expect(*getDeployment(g, ns, "shop-api").Spec.Replicas).To(Equal(int32(3)))
	}, 3*time.Second).Should(Succeed())
}

func getDeployment(g Gomega, ns, name string) *appsv1.Deployment {
	d := &appsv1.Deployment{}
	g.Expect(cluster.Client.Get(ctx(), client.ObjectKey{Namespace: ns, Name: name}, d)).To(Succeed())
	return d
}
