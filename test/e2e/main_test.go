// Package e2e tests the operator end to end on the simulated cluster: a real
// kube-apiserver, etcd, kube-controller-manager and kube-scheduler, with KWOK
// playing the kubelet. Deployments roll out, Jobs complete and garbage
// collection runs for real.
package e2e

import (
	"flag"
	"fmt"
	"os"
	"testing"

	"k8s.io/client-go/rest"

	"github.com/twelvefactor/twelvefactor-operator/internal/devcluster"
	"github.com/twelvefactor/twelvefactor-operator/internal/manager"
	"github.com/twelvefactor/twelvefactor-operator/internal/testenv"
	"github.com/twelvefactor/twelvefactor-operator/internal/testenv/installed"
)

var (
	cluster *devcluster.Cluster
	// mgrConfig is the manager's impersonated, least-privileged client config.
	mgrConfig *rest.Config
	logs      *testenv.SyncBuffer
	operator  *installed.Operator
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
	operator, err = installed.Start("twelvefactor-e2e-", func(o *manager.Options) {
		// Pods of the slow-start stage take 3s; others are Ready within about 1s.
		o.StartupWarnSeconds = 2
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	cluster, mgrConfig, logs = operator.Cluster, operator.ManagerConfig, operator.Logs
	code := m.Run()
	operator.Stop(code != 0)
	return code
}
