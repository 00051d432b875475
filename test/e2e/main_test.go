// Package e2e tests the operator end to end on the simulated cluster: a real
// kube-apiserver, etcd, kube-controller-manager and kube-scheduler, with KWOK
// playing the kubelet. Deployments roll out, Jobs complete and garbage
// collection runs for real.
package e2e

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

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run())
	}
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var err error
	work, err := os.MkdirTemp("", "twelvefactor-e2e-")
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
	// Install the admission policies as a real installation would.
	if err := cluster.Apply(ctx, filepath.Join(testenv.RepoRoot(), "config", "policy")); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}

	// Least privilege: the manager runs as its ServiceAccount, with the RBAC
	// that config/rbac (and the chart) grant it, not as an admin.
	mgrConfig, err = leastPrivilegeConfig(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctrl.SetLogger(ctrlzap.New(ctrlzap.WriteTo(logs), ctrlzap.Level(zapcore.Level(-4))))
	opts := manager.DefaultOptions()
	opts.MetricsAddr, opts.ProbeAddr = "0", "0"
	opts.MaxConcurrent = 8
	// Pods of the slow-start stage take 3s; others are Ready within about 1s.
	opts.StartupWarnSeconds = 2
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
