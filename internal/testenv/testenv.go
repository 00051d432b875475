// Package testenv starts a real kube-apiserver and etcd (envtest) with the
// project's CRDs installed, for integration tests. The binaries are built from
// source by hack/build-controlplane.sh; nothing is downloaded.
package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	kruntime "k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/twelvefactor/twelvefactor-operator/internal/scheme"
)

// K8sVersion is the version of the control plane the tests run against.
const K8sVersion = "1.37.2"

// RepoRoot returns the repository's root directory.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// AssetsDir returns where the control-plane binaries are: $KUBEBUILDER_ASSETS,
// $TWELVEFACTOR_ASSETS, or the per-user cache.
func AssetsDir() string {
	if d := os.Getenv("KUBEBUILDER_ASSETS"); d != "" {
		return d
	}
	if d := os.Getenv("TWELVEFACTOR_ASSETS"); d != "" {
		return d
	}
	base := os.Getenv("XDG_DATA_HOME")
	if base == "" {
		home, _ := os.UserHomeDir()
		base = filepath.Join(home, ".local", "share")
	}
	return filepath.Join(base, "twelvefactor-operator", "k8s", K8sVersion)
}

// Scheme is the operator's scheme plus the apiextensions types tests create.
func Scheme() *kruntime.Scheme {
	s := scheme.New()
	utilruntime.Must(apiextv1.AddToScheme(s))
	return s
}

// SkipIfShort skips a test that needs a control plane when the tests run with
// -short. Packages start their control plane in TestMain only without -short,
// so that their unit tests still run under -short; every test that uses the
// control plane calls this first.
func SkipIfShort(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("needs a control plane; not run with -short")
	}
}

// Env is a running envtest control plane.
type Env struct {
	*envtest.Environment
	Config *rest.Config
	Client client.Client
}

// Start starts kube-apiserver and etcd with the CRDs from config/crd/bases.
// The caller must call Stop.
func Start() (*Env, error) {
	dir := AssetsDir()
	for _, b := range []string{"kube-apiserver", "etcd", "kubectl"} {
		if _, err := os.Stat(filepath.Join(dir, b)); err != nil {
			return nil, fmt.Errorf("control-plane binary %s is missing in %s: run 'make controlplane' (it builds them from source once)", b, dir)
		}
	}
	env := &envtest.Environment{
		BinaryAssetsDirectory: dir,
		CRDDirectoryPaths:     []string{filepath.Join(RepoRoot(), "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
	}
	cfg, err := env.Start()
	if err != nil {
		return nil, fmt.Errorf("starting envtest: %w", err)
	}
	c, err := client.New(cfg, client.Options{Scheme: Scheme()})
	if err != nil {
		_ = env.Stop()
		return nil, err
	}
	return &Env{Environment: env, Config: cfg, Client: c}, nil
}
