package gitops

import (
	"flag"
	"fmt"
	"os"
	"testing"

	"github.com/twelvefactor/twelvefactor-operator/internal/testenv"
)

// env is the control plane shared by the package's tests; nil with -short.
var env *testenv.Env

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run())
	}
	var err error
	env, err = testenv.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	if err := env.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stopping envtest:", err)
	}
	os.Exit(code)
}

// needEnv skips a test that needs the control plane in -short mode.
func needEnv(t *testing.T) *testenv.Env {
	t.Helper()
	if env == nil {
		t.Skip("needs a control plane; not run with -short")
	}
	return env
}
