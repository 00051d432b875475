package hostile

import (
	"context"
	"os"
	"path/filepath"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"github.com/twelvefactor/twelvefactor-operator/internal/testenv"
)

// Copied from test/e2e (package e2e's test files cannot be imported).

const (
	managerSANamespace = "twelvefactor-system"
	managerSA          = "twelvefactor-controller-manager"
	secretWriter       = "twelvefactor-manager-secret-writer"
)

// leastPrivilegeConfig installs the manager's generated ClusterRole and the
// Secret writer role, binds the ClusterRole to the manager's ServiceAccount,
// and returns a config that impersonates that ServiceAccount.
func leastPrivilegeConfig(ctx context.Context) (*rest.Config, error) {
	if err := cluster.EnsureNamespace(ctx, managerSANamespace, nil); err != nil {
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
	writer.Name = secretWriter
	sa := rbacv1.Subject{Kind: "ServiceAccount", Name: managerSA, Namespace: managerSANamespace}
	binding := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: role.Name},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects: []rbacv1.Subject{sa}}
	for _, err := range []error{cluster.Client.Create(ctx, role), cluster.Client.Create(ctx, writer), cluster.Client.Create(ctx, binding)} {
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return nil, err
		}
	}
	cfg := rest.CopyConfig(cluster.Config)
	cfg.Impersonate = rest.ImpersonationConfig{
		UserName: "system:serviceaccount:" + managerSANamespace + ":" + managerSA,
		Groups:   []string{"system:serviceaccounts", "system:serviceaccounts:" + managerSANamespace, "system:authenticated"},
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

// bindSecretWriter lets the manager write Secrets in one app namespace, as a
// platform team does when it onboards a namespace.
func bindSecretWriter(ctx context.Context, ns string) error {
	rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: secretWriter, Namespace: ns},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: secretWriter},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: managerSA, Namespace: managerSANamespace}}}
	return cluster.Client.Create(ctx, rb)
}
