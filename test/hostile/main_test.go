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
	"flag"
	"fmt"
	"os"
	"testing"

	"k8s.io/client-go/rest"

	"github.com/twelvefactor/twelvefactor-operator/internal/devcluster"
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
	var err error
	operator, err = installed.Start("twelvefactor-hostile-", nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	cluster, mgrConfig, logs = operator.Cluster, operator.ManagerConfig, operator.Logs
	code := m.Run()
	operator.Stop(code != 0)
	return code
}
