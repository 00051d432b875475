// Package hostile tests the operator in a shared namespace with hostile and
// careless neighbours, on the simulated cluster (a real kube-apiserver, etcd,
// kube-controller-manager and kube-scheduler, with KWOK as the kubelet) and
// with the manager running as installed: the admission policies of
// config/policy, and the manager under its ServiceAccount with least
// privilege. Other apps derive the same names, squatters hold names before
// the operator, other field managers tamper with what it owns, and the API
// server refuses what it writes. Each case asserts the condition a user
// reads, that no foreign object was written, and that no pod ran with data
// the operator did not write.
package hostile

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	ctrlzap "sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/twelvefactor/twelvefactor-operator/internal/devcluster"
	"github.com/twelvefactor/twelvefactor-operator/internal/manager"
	"github.com/twelvefactor/twelvefactor-operator/internal/testenv"
)

var (
	cluster *devcluster.Cluster
	// mgrConfig is the manager's impersonated, least-privileged client config.
	mgrConfig *rest.Config
	logs      = &testenv.SyncBuffer{}
)

// defaultParallel is how many cases run at once unless -parallel says
// otherwise. The cases spend their time waiting on the cluster, not on the
// CPU, so they run more at once than GOMAXPROCS (go test's default).
const defaultParallel = "8"

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(0)
	}
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "test.parallel" })
	if !explicit {
		_ = flag.Set("test.parallel", defaultParallel)
	}
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	work, err := os.MkdirTemp("", "twelvefactor-hostile-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	cluster, err = devcluster.Start(ctx, devcluster.Options{Progress: os.Stdout, WorkDir: work})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = cluster.Stop() }()
	// The admission policies, as a real installation has them.
	if err := cluster.Apply(ctx, filepath.Join(testenv.RepoRoot(), "config", "policy")); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	// The manager runs as its ServiceAccount, with the RBAC that config/rbac
	// grants it; Secret writes are bound per namespace, in newNamespace.
	mgrConfig, err = leastPrivilegeConfig(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctrl.SetLogger(ctrlzap.New(ctrlzap.WriteTo(logs), ctrlzap.Level(zapcore.Level(-4))))
	opts := manager.DefaultOptions()
	opts.MetricsAddr, opts.ProbeAddr = "0", "0"
	opts.MaxConcurrent = 8
	done := make(chan error, 1)
	go func() { done <- manager.Start(ctx, mgrConfig, opts) }()

	code := m.Run()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			fmt.Fprintln(os.Stderr, "manager:", err)
		}
	case <-time.After(30 * time.Second):
		fmt.Fprintln(os.Stderr, "manager did not stop")
	}
	if code != 0 {
		fmt.Fprintf(os.Stderr, "logs of the cluster's processes and of the operator are in %s\n", cluster.LogDir)
		_ = os.WriteFile(filepath.Join(cluster.LogDir, "operator.log"), []byte(logs.String()), 0o644)
	} else {
		defer os.RemoveAll(work)
	}
	return code
}
