// Package installed runs the operator on the simulated cluster the way a
// platform team installs it: the admission policies of config/policy, and the
// manager under its ServiceAccount with the RBAC config/rbac grants it (the
// Secret writer role bound per app namespace). The end-to-end suites share it.
package installed

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	ctrlzap "sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/yaml"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
	"github.com/twelvefactor/twelvefactor-operator/internal/devcluster"
	"github.com/twelvefactor/twelvefactor-operator/internal/manager"
	"github.com/twelvefactor/twelvefactor-operator/internal/testenv"
)

const (
	// ManagerSANamespace and ManagerSA name the manager's ServiceAccount.
	ManagerSANamespace = "twelvefactor-system"
	ManagerSA          = "twelvefactor-controller-manager"
	// SecretWriter is the ClusterRole bound per app namespace.
	SecretWriter = "twelvefactor-manager-secret-writer"
)

// Operator is the simulated cluster with the operator installed and running.
type Operator struct {
	Cluster *devcluster.Cluster
	// ManagerConfig is the manager's impersonated, least-privileged config.
	ManagerConfig *rest.Config
	// Logs holds everything the manager logged.
	Logs *testenv.SyncBuffer

	work   string
	cancel context.CancelFunc
	done   chan error
}

// Start starts the cluster in a new work directory named after prefix,
// installs the policies and the RBAC, and runs the manager with options that
// tune may change.
func Start(prefix string, tune func(*manager.Options)) (*Operator, error) {
	ctx, cancel := context.WithCancel(context.Background())
	o := &Operator{Logs: &testenv.SyncBuffer{}, cancel: cancel, done: make(chan error, 1)}
	var err error
	if o.work, err = os.MkdirTemp("", prefix); err != nil {
		cancel()
		return nil, err
	}
	if o.Cluster, err = devcluster.Start(ctx, devcluster.Options{Progress: os.Stdout, WorkDir: o.work}); err != nil {
		cancel()
		return nil, err
	}
	fail := func(err error) (*Operator, error) {
		cancel()
		_ = o.Cluster.Stop()
		return nil, err
	}
	if err := o.Cluster.Apply(ctx, filepath.Join(testenv.RepoRoot(), "config", "policy")); err != nil {
		return fail(err)
	}
	if o.ManagerConfig, err = o.leastPrivilegeConfig(ctx); err != nil {
		return fail(err)
	}
	ctrl.SetLogger(ctrlzap.New(ctrlzap.WriteTo(o.Logs), ctrlzap.Level(zapcore.Level(-4))))
	opts := manager.DefaultOptions()
	opts.MetricsAddr, opts.ProbeAddr = "0", "0"
	opts.MaxConcurrent = 8
	if tune != nil {
		tune(&opts)
	}
	go func() { o.done <- manager.Start(ctx, o.ManagerConfig, opts) }()
	return o, nil
}

// Stop stops the manager and the cluster. After a failed run it keeps the
// logs (the operator's with the cluster's) and says where; otherwise it
// removes the work directory.
func (o *Operator) Stop(failed bool) {
	o.cancel()
	select {
	case err := <-o.done:
		if err != nil {
			fmt.Fprintln(os.Stderr, "manager:", err)
		}
	case <-time.After(30 * time.Second):
		fmt.Fprintln(os.Stderr, "manager did not stop")
	}
	if failed {
		fmt.Fprintf(os.Stderr, "logs of the cluster's processes and of the operator are in %s\n", o.Cluster.LogDir)
		_ = os.WriteFile(filepath.Join(o.Cluster.LogDir, "operator.log"), []byte(o.Logs.String()), 0o644)
	}
	_ = o.Cluster.Stop()
	if !failed {
		_ = os.RemoveAll(o.work)
	}
}

// leastPrivilegeConfig installs the manager's generated ClusterRole and the
// Secret writer role, binds the ClusterRole to the manager's ServiceAccount,
// and returns a config that impersonates that ServiceAccount.
func (o *Operator) leastPrivilegeConfig(ctx context.Context) (*rest.Config, error) {
	c := o.Cluster.Client
	if err := o.Cluster.EnsureNamespace(ctx, ManagerSANamespace, nil); err != nil {
		return nil, err
	}
	role, err := readClusterRole(filepath.Join("config", "rbac", "role.yaml"))
	if err != nil {
		return nil, err
	}
	role.Name = "twelvefactor-manager-role"
	writer, err := readClusterRole(filepath.Join("config", "rbac", "secret_writer_role.yaml"))
	if err != nil {
		return nil, err
	}
	writer.Name = SecretWriter
	sa := rbacv1.Subject{Kind: "ServiceAccount", Name: ManagerSA, Namespace: ManagerSANamespace}
	binding := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: role.Name},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects: []rbacv1.Subject{sa}}
	for _, err := range []error{c.Create(ctx, role), c.Create(ctx, writer), c.Create(ctx, binding)} {
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return nil, err
		}
	}
	cfg := rest.CopyConfig(o.Cluster.Config)
	cfg.Impersonate = rest.ImpersonationConfig{
		UserName: "system:serviceaccount:" + ManagerSANamespace + ":" + ManagerSA,
		Groups:   []string{"system:serviceaccounts", "system:serviceaccounts:" + ManagerSANamespace, "system:authenticated"},
	}
	return cfg, nil
}

func readClusterRole(rel string) (*rbacv1.ClusterRole, error) {
	data, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), rel))
	if err != nil {
		return nil, err
	}
	role := &rbacv1.ClusterRole{}
	return role, yaml.Unmarshal(data, role)
}

// BindSecretWriter lets the manager write Secrets in one app namespace, as a
// platform team does when it onboards a namespace.
func (o *Operator) BindSecretWriter(ctx context.Context, ns string) error {
	rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: SecretWriter, Namespace: ns},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: SecretWriter},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: ManagerSA, Namespace: ManagerSANamespace}}}
	return o.Cluster.Client.Create(ctx, rb)
}

// NewNamespace makes a namespace, named prefix plus a random suffix, for one
// test, and lets the manager write Secrets in it.
func (o *Operator) NewNamespace(t testing.TB, prefix string) string {
	t.Helper()
	ns := prefix + rand.String(6)
	if err := o.Cluster.EnsureNamespace(context.Background(), ns, nil); err != nil {
		t.Fatal(err)
	}
	if err := o.BindSecretWriter(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
	return ns
}

// Image returns a digest-pinned image reference; a marker in repo selects a
// KWOK behaviour (internal/devcluster).
func Image(repo string, n int) string {
	return fmt.Sprintf("registry.example/%s@sha256:%064x", repo, n)
}

// App returns the suites' sample app: a web process (a port, two replicas, so
// a Service and a PodDisruptionBudget) and a worker (one replica), with a
// short shutdown.
func App(ns, name string) *tfv1.TwelveFactorApp {
	return &tfv1.TwelveFactorApp{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: tfv1.TwelveFactorAppSpec{
			Build:  tfv1.BuildSpec{Image: Image("shop", 1), Revision: "v1rev"},
			Config: tfv1.ConfigSpec{Env: []tfv1.EnvVar{{Name: "LOG_LEVEL", Value: "info"}}},
			Processes: []tfv1.ProcessSpec{
				{Name: "web", Command: []string{"puma"}, Port: ptr.To[int32](8080), Replicas: ptr.To[int32](2)},
				{Name: "worker", Command: []string{"sidekiq"}, Replicas: ptr.To[int32](1)},
			},
			Shutdown: &tfv1.ShutdownSpec{GracePeriodSeconds: ptr.To[int64](2), PreStopSleepSeconds: ptr.To[int64](1)},
		},
	}
}
