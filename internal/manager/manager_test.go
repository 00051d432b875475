package manager_test

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	ctrlzap "sigs.k8s.io/controller-runtime/pkg/log/zap"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
	"github.com/twelvefactor/twelvefactor-operator/internal/manager"
	"github.com/twelvefactor/twelvefactor-operator/internal/testenv"
)

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func get(url string) (int, string) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func counter(body, name string) float64 {
	m := regexp.MustCompile(`(?m)^` + name + ` ([0-9.e+]+)$`).FindStringSubmatch(body)
	if m == nil {
		return -1
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

func TestManagerServesProbesAndMetricsAndStopsGracefully(t *testing.T) {
	flag.Parse()
	if testing.Short() {
		t.Skip("needs a control plane")
	}
	g := NewWithT(t)
	env, err := testenv.Start()
	g.Expect(err).NotTo(HaveOccurred())
	defer func() { _ = env.Stop() }()
	ctrl.SetLogger(ctrlzap.New(ctrlzap.WriteTo(io.Discard)))

	opts := manager.DefaultOptions()
	opts.MetricsAddr, opts.ProbeAddr = freePort(t), freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- manager.Start(ctx, env.Config, opts) }()

	g.Eventually(func() int { c, _ := get("http://" + opts.ProbeAddr + "/healthz"); return c }, 20*time.Second).Should(Equal(http.StatusOK))
	g.Eventually(func() int { c, _ := get("http://" + opts.ProbeAddr + "/readyz"); return c }, 20*time.Second).Should(Equal(http.StatusOK))
	var before float64
	g.Eventually(func() float64 {
		_, body := get("http://" + opts.MetricsAddr + "/metrics")
		before = counter(body, "twelvefactor_releases_total")
		return before
	}, 20*time.Second).Should(BeNumerically(">=", 0), "the releases counter is exported")

	app := &tfv1.TwelveFactorApp{
		ObjectMeta: metav1.ObjectMeta{Name: "metrics", Namespace: "default"},
		Spec: tfv1.TwelveFactorAppSpec{
			Build:     tfv1.BuildSpec{Image: "registry.example/m@sha256:" + fmt.Sprintf("%064d", 7)},
			Processes: []tfv1.ProcessSpec{{Name: "web", Port: ptr.To[int32](8080)}},
		},
	}
	g.Expect(env.Client.Create(ctx, app)).To(Succeed())
	g.Eventually(func() float64 {
		_, body := get("http://" + opts.MetricsAddr + "/metrics")
		return counter(body, "twelvefactor_releases_total")
	}, 20*time.Second).Should(Equal(before + 1))
	g.Eventually(func(g Gomega) {
		_, body := get("http://" + opts.MetricsAddr + "/metrics")
		g.Expect(body).To(ContainSubstring("controller_runtime_reconcile_total"))
		g.Expect(body).To(MatchRegexp(`twelvefactor_app_compliance\{status="(Pass|Warn)"\} 1`))
	}, 20*time.Second).Should(Succeed())

	cancel()
	select {
	case err := <-done:
		g.Expect(err).NotTo(HaveOccurred())
	case <-time.After(40 * time.Second):
		t.Fatal("manager did not stop after its context was cancelled")
	}
}

func TestMain(m *testing.M) { os.Exit(m.Run()) }
