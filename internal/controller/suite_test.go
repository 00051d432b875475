package controller_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	ctrlzap "sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/twelvefactor/twelvefactor-operator/internal/controller"
	"github.com/twelvefactor/twelvefactor-operator/internal/scheme"
	"github.com/twelvefactor/twelvefactor-operator/internal/testenv"
)

var (
	env *testenv.Env
	mgr ctrl.Manager
	// logs captures everything the manager logs, to scan for leaked secrets.
	logs = &testenv.SyncBuffer{}
)

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run())
	}
	os.Exit(run(m))
}

func run(m *testing.M) int {
	var err error
	env, err = testenv.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = env.Stop() }()

	ctrl.SetLogger(ctrlzap.New(ctrlzap.WriteTo(logs), ctrlzap.Level(zapcore.Level(-4))))
	mgr, err = ctrl.NewManager(env.Config, ctrl.Options{
		Scheme:  scheme.New(),
		Metrics: metricsserver.Options{BindAddress: "0"},
		Cache:   controller.CacheOptions(10 * time.Hour),
		Client:  controller.ClientOptions(),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := controller.Setup(mgr, controller.Config{
		Clock: clock.RealClock{}, DefaultPolicy: "warn", AdminRunTTL: time.Hour,
		InsecureRegistries: true, RetryAfter: 2 * time.Second,
		// No controller-manager runs here to update a Deployment's status.
		SettleAfter: 500 * time.Millisecond,
	}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := mgr.Start(ctx); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}()
	mgr.GetCache().WaitForCacheSync(ctx)
	code := m.Run()
	cancel()
	<-done
	return code
}

// newNamespace creates a namespace for one test.
func newNamespace(t *testing.T, labels map[string]string) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "t-" + rand.String(6), Labels: labels}}
	if err := env.Client.Create(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
	return ns.Name
}
