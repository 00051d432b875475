package cluster_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/go-logr/logr"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/twelvefactor/twelvefactor-operator/test/cluster"
)

// helperEnv makes the test binary start a cluster in the work dir it names,
// print "ready" and wait to be killed (see TestProcessesDieWithTheirParent).
const helperEnv = "TWELVEFACTOR_CLUSTER_HELPER_WORKDIR"

func TestMain(m *testing.M) {
	// envtest logs through controller-runtime's logger; these tests read
	// the processes' log files instead.
	logf.SetLogger(logr.Discard())
	if dir := os.Getenv(helperEnv); dir != "" {
		if _, err := cluster.Start(context.Background(), cluster.Options{Pods: true, Nodes: 1, WorkDir: dir}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println("ready")
		select {}
	}
	os.Exit(m.Run())
}
