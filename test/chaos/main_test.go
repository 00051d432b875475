// Package chaos proves the operator's reliability on the simulated cluster:
// crashes mid-storm, leader failover, an API-server restart and conflicting
// writers. The manager runs as a child process built from ./cmd/manager, so
// it can be killed for real.
package chaos

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/go-logr/logr"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/twelvefactor/twelvefactor-operator/internal/devcluster"
	"github.com/twelvefactor/twelvefactor-operator/internal/testenv"
)

var (
	cluster    *devcluster.Cluster
	managerBin string
	workDir    string
)

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run())
	}
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctrl.SetLogger(logr.Discard())
	var err error
	workDir, err = os.MkdirTemp("", "twelvefactor-chaos-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	managerBin = filepath.Join(workDir, "manager")
	build := exec.Command("go", "build", "-o", managerBin, "./cmd/manager")
	build.Dir = testenv.RepoRoot()
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building the manager:", err)
		return 1
	}
	ctx := context.Background()
	cluster, err = devcluster.Start(ctx, devcluster.Options{Progress: os.Stdout, WorkDir: workDir})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := cluster.Apply(ctx, filepath.Join(testenv.RepoRoot(), "config", "policy")); err != nil {
		fmt.Fprintln(os.Stderr, err)
		_ = cluster.Stop()
		return 1
	}
	code := m.Run()
	_ = cluster.Stop()
	if code != 0 {
		fmt.Fprintf(os.Stderr, "logs of the cluster and of the managers are in %s\n", cluster.LogDir)
	} else {
		_ = os.RemoveAll(workDir)
	}
	return code
}
