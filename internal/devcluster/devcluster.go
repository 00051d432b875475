// Package devcluster starts and stops a simulated Kubernetes cluster with no
// container runtime: envtest's kube-apiserver and etcd, plus
// kube-controller-manager, kube-scheduler and KWOK as child processes, and fake
// nodes that KWOK keeps Ready. Deployments roll out, Jobs complete and garbage
// collection runs, all for real. It serves the end-to-end tests, `make demo` and
// the benchmark. Every binary is built from source (hack/build-controlplane.sh).
package devcluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/twelvefactor/twelvefactor-operator/internal/testenv"
)

// ServiceCIDR is the simulated cluster's Service IP range (the start of
// kubeadm's default 10.96.0.0/12, room for 65,534 Services).
const ServiceCIDR = "10.96.0.0/16"

// Options configure a simulated cluster.
type Options struct {
	// Nodes is the number of fake nodes. Default 3.
	Nodes int
	// NoPods skips kube-scheduler and KWOK: objects are created and the
	// controllers run, but pods are never scheduled or started.
	NoPods bool
	// WorkDir holds the kubeconfig and the logs. Default: a new temp dir,
	// removed by Stop.
	WorkDir string
	// Progress receives one line per step; nil discards them.
	Progress io.Writer
	// CRDs are extra CRD directories to install besides config/crd/bases.
	CRDs []string
}

// Cluster is a running simulated cluster.
type Cluster struct {
	Env *envtest.Environment
	// Config is an admin (system:masters) client config.
	Config *rest.Config
	Client client.Client
	// KubeconfigPath is an admin kubeconfig for kubectl and other processes.
	KubeconfigPath string
	// LogDir holds the child processes' logs.
	LogDir string

	workDir, ownDir string
	procs           []*child
	// apiserver is the restarted kube-apiserver, once StartAPIServer ran;
	// apiserverArgs is its command line while it is stopped.
	apiserver     *child
	apiserverArgs []string
	mu            sync.Mutex
	stopped       bool
}

type child struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	log  *os.File
}

func (o Options) say(format string, args ...any) {
	if o.Progress != nil {
		fmt.Fprintf(o.Progress, format+"\n", args...)
	}
}

// Start brings the cluster up. Call Stop on every path, also on failure of a
// later step; Start stops what it started when it fails itself.
func Start(ctx context.Context, opts Options) (c *Cluster, err error) {
	if opts.Nodes == 0 {
		opts.Nodes = 3
	}
	dir := testenv.AssetsDir()
	need := []string{"kube-apiserver", "etcd", "kubectl", "kube-controller-manager"}
	if !opts.NoPods {
		need = append(need, "kube-scheduler", "kwok")
	}
	for _, b := range need {
		if _, err := os.Stat(filepath.Join(dir, b)); err != nil {
			return nil, fmt.Errorf("%s is missing in %s: run 'make controlplane' (it builds the control plane from source once)", b, dir)
		}
	}
	c = &Cluster{workDir: opts.WorkDir}
	if c.workDir == "" {
		if c.workDir, err = os.MkdirTemp("", "twelvefactor-cluster-"); err != nil {
			return nil, err
		}
		c.ownDir = c.workDir
	}
	c.LogDir = filepath.Join(c.workDir, "logs")
	if err := os.MkdirAll(c.LogDir, 0o755); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = c.Stop()
			c = nil
		}
	}()

	opts.say("Starting kube-apiserver and etcd")
	c.Env = &envtest.Environment{
		BinaryAssetsDirectory: dir,
		CRDDirectoryPaths:     append([]string{filepath.Join(testenv.RepoRoot(), "config", "crd", "bases")}, opts.CRDs...),
		ErrorIfCRDPathMissing: true,
	}
	// envtest starts etcd and kube-apiserver without a parent-death signal;
	// run them through setpriv so that they die with us even on SIGKILL.
	etcdPath, err := c.dieWithParent(dir, "etcd")
	if err != nil {
		return nil, err
	}
	apiPath, err := c.dieWithParent(dir, "kube-apiserver")
	if err != nil {
		return nil, err
	}
	c.Env.ControlPlane.Etcd = &envtest.Etcd{Path: etcdPath}
	c.Env.ControlPlane.APIServer = &envtest.APIServer{Path: apiPath}
	// Without this, kube-apiserver waits 20s or more for watchers on SIGTERM.
	c.Env.ControlPlane.APIServer.Configure().Set("shutdown-watch-termination-grace-period", "1s")
	// envtest's default service range is a /24: 254 Services, which a
	// 100-app test repeated three times, or a benchmark, exhausts.
	c.Env.ControlPlane.APIServer.Configure().Set("service-cluster-ip-range", ServiceCIDR)
	if _, err = c.Env.Start(); err != nil {
		c.Env = nil
		return nil, fmt.Errorf("starting kube-apiserver and etcd: %w", err)
	}
	admin, err := c.Env.ControlPlane.AddUser(envtest.User{Name: "admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return nil, err
	}
	c.Config = admin.Config()
	c.Config.QPS, c.Config.Burst = 200, 400
	if c.KubeconfigPath, err = writeKubeconfig(admin, filepath.Join(c.workDir, "kubeconfig")); err != nil {
		return nil, err
	}
	// The controller-manager runs as kubeadm runs it. It authenticates as
	// system:kube-controller-manager in no group, so it may do what RBAC's
	// bootstrap role of that name allows and no more. With
	// --use-service-account-credentials=true, each controller acts as its own
	// ServiceAccount in kube-system (the namespace controller as
	// namespace-controller, the garbage collector as generic-garbage-collector),
	// under RBAC's system:controller:* roles: admission policies see the names
	// a real cluster shows them. The controller-manager creates those
	// ServiceAccounts itself and gets their tokens from the TokenRequest API,
	// which envtest's kube-apiserver serves (it sets --service-account-issuer,
	// --service-account-key-file and --service-account-signing-key-file), so
	// neither the ServiceAccount controller nor the legacy token controller is
	// needed. Both stay off: EnsureNamespace makes a namespace's default
	// ServiceAccount, with automountServiceAccountToken false.
	kcm, err := c.Env.ControlPlane.AddUser(envtest.User{Name: "system:kube-controller-manager"}, nil)
	if err != nil {
		return nil, err
	}
	kcmConfig, err := writeKubeconfig(kcm, filepath.Join(c.workDir, "kcm.kubeconfig"))
	if err != nil {
		return nil, err
	}
	// The CA of kube-apiserver's serving certificate, which the
	// controller-manager publishes to every namespace (kube-root-ca.crt).
	rootCA := filepath.Join(c.workDir, "ca.crt")
	if err = os.WriteFile(rootCA, c.Config.CAData, 0o644); err != nil {
		return nil, err
	}
	if c.Client, err = client.New(c.Config, client.Options{Scheme: testenv.Scheme()}); err != nil {
		return nil, err
	}

	opts.say("Starting kube-controller-manager")
	if err = c.spawn("kube-controller-manager", filepath.Join(dir, "kube-controller-manager"),
		"--kubeconfig="+kcmConfig, "--secure-port=0", "--leader-elect=false",
		"--use-service-account-credentials=true",
		"--controllers=*,-serviceaccount-token-controller,-serviceaccount-controller",
		"--root-ca-file="+rootCA,
		"--service-account-private-key-file="+filepath.Join(c.Env.ControlPlane.APIServer.CertDir, "sa-signer.key"),
		"--kube-api-qps=500", "--kube-api-burst=1000",
		"--concurrent-deployment-syncs=10", "--concurrent-replicaset-syncs=10",
		"--concurrent-job-syncs=10", "--concurrent-gc-syncs=20",
	); err != nil {
		return nil, err
	}
	if !opts.NoPods {
		opts.say("Starting kube-scheduler and KWOK with %d fake nodes", opts.Nodes)
		if err = c.spawn("kube-scheduler", filepath.Join(dir, "kube-scheduler"),
			"--kubeconfig="+c.KubeconfigPath, "--leader-elect=false", "--secure-port=0"); err != nil {
			return nil, err
		}
		kwokCfg := filepath.Join(c.workDir, "kwok.yaml")
		if err = os.WriteFile(kwokCfg, []byte(kwokConfig()), 0o644); err != nil {
			return nil, err
		}
		if err = c.spawn("kwok", filepath.Join(dir, "kwok"),
			"--kubeconfig="+c.KubeconfigPath, "--config="+kwokCfg,
			"--manage-all-nodes=false", "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
			"--cidr=10.0.0.0/16", "--node-ip=10.0.0.1", "--server-address=127.0.0.1:0"); err != nil {
			return nil, err
		}
		for i := range opts.Nodes {
			if err = c.Client.Create(ctx, fakeNode(fmt.Sprintf("kwok-node-%d", i))); err != nil {
				return nil, fmt.Errorf("creating fake node: %w", err)
			}
		}
		if err = c.waitNodesReady(ctx, opts.Nodes); err != nil {
			return nil, err
		}
	}
	if err = c.EnsureNamespace(ctx, "default", nil); err != nil {
		return nil, err
	}
	opts.say("Cluster is up (kubeconfig %s)", c.KubeconfigPath)
	return c, nil
}

// dieWithParent returns a path for envtest to run binary with, such that the
// process gets SIGKILL when its parent dies: a small script that execs it
// through setpriv. Without setpriv it returns the binary itself.
func (c *Cluster) dieWithParent(assets, binary string) (string, error) {
	path := filepath.Join(assets, binary)
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		return path, nil
	}
	dir := filepath.Join(c.workDir, "bin")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	script := filepath.Join(dir, binary)
	body := fmt.Sprintf("#!/bin/sh\nexec %q --pdeathsig KILL -- %q \"$@\"\n", setpriv, path)
	return script, os.WriteFile(script, []byte(body), 0o755)
}

func writeKubeconfig(u *envtest.AuthenticatedUser, path string) (string, error) {
	data, err := u.KubeConfig()
	if err != nil {
		return "", err
	}
	return path, os.WriteFile(path, data, 0o600)
}

func fakeNode(name string) *corev1.Node {
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("32"),
		corev1.ResourceMemory: resource.MustParse("256Gi"),
		corev1.ResourcePods:   resource.MustParse("250"),
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Annotations: map[string]string{"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
			Labels:      map[string]string{"type": "kwok", "kubernetes.io/hostname": name, "kubernetes.io/os": "linux"},
		},
		Status: corev1.NodeStatus{Capacity: capacity, Allocatable: capacity},
	}
}

func (c *Cluster) waitNodesReady(ctx context.Context, n int) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		nodes := &corev1.NodeList{}
		if err := c.Client.List(ctx, nodes); err != nil {
			return err
		}
		ready := 0
		for _, node := range nodes.Items {
			for _, cond := range node.Status.Conditions {
				if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
					ready++
				}
			}
		}
		if ready >= n {
			return nil
		}
		if err := c.exited(); err != nil {
			return err
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("fake nodes did not become Ready within 60s; see the kwok log in %s", c.LogDir)
}

// spawn starts a child process that dies with us (Pdeathsig) and logs to a file.
func (c *Cluster) spawn(name, path string, args ...string) error {
	log, err := os.Create(filepath.Join(c.LogDir, name+".log"))
	if err != nil {
		return err
	}
	cmd := exec.Command(path, args...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		log.Close()
		return fmt.Errorf("starting %s: %w", name, err)
	}
	ch := &child{name: name, cmd: cmd, done: make(chan struct{}), log: log}
	go func() { _ = cmd.Wait(); close(ch.done) }()
	c.mu.Lock()
	c.procs = append(c.procs, ch)
	c.mu.Unlock()
	return nil
}

// exited reports a child that ended on its own.
func (c *Cluster) exited() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range c.procs {
		select {
		case <-p.done:
			return fmt.Errorf("%s exited early (%v); see %s", p.name, p.cmd.ProcessState, filepath.Join(c.LogDir, p.name+".log"))
		default:
		}
	}
	return nil
}

// PIDs returns the process IDs of the child processes and of the API server and etcd.
func (c *Cluster) PIDs() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []int
	for _, p := range c.procs {
		out = append(out, p.cmd.Process.Pid)
	}
	return out
}

// Stop stops the child processes, then the API server and etcd, and removes
// the work dir it created. It is idempotent and safe from a signal handler.
func (c *Cluster) Stop() error {
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return nil
	}
	c.stopped = true
	procs := c.procs
	c.mu.Unlock()
	var errs []error
	for i := len(procs) - 1; i >= 0; i-- {
		p := procs[i]
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			<-p.done
		}
		p.log.Close()
	}
	if c.Env != nil {
		if err := c.Env.Stop(); err != nil && c.apiserver == nil && c.apiserverArgs == nil {
			errs = append(errs, err)
		}
	}
	if c.ownDir != "" {
		_ = os.RemoveAll(c.ownDir)
	}
	return errors.Join(errs...)
}

// EnsureNamespace creates a namespace (with labels) and its default
// ServiceAccount, which the disabled ServiceAccount controller would make.
func (c *Cluster) EnsureNamespace(ctx context.Context, name string, labels map[string]string) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	if err := c.Client.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: name},
		AutomountServiceAccountToken: ptr.To(false)}
	if err := c.Client.Create(ctx, sa); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	return nil
}

// DeleteNamespaces deletes the namespaces and waits until they are gone, or
// until timeout: the namespace controller frees their pods and Service IPs
// for what runs next.
func DeleteNamespaces(ctx context.Context, c client.Client, timeout time.Duration, names ...string) error {
	var errs []error
	for _, name := range names {
		if err := c.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}); client.IgnoreNotFound(err) != nil {
			errs = append(errs, fmt.Errorf("deleting namespace %s: %w", name, err))
		}
	}
	err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		for _, name := range names {
			if err := c.Get(ctx, client.ObjectKey{Name: name}, &corev1.Namespace{}); !apierrors.IsNotFound(err) {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		errs = append(errs, fmt.Errorf("namespaces %v still terminating after %s: %w", names, timeout, err))
	}
	return errors.Join(errs...)
}

// Apply creates every object in the YAML files (multi-document) of dir,
// skipping kustomization.yaml. Existing objects are left as they are.
func (c *Cluster) Apply(ctx context.Context, dir string) error {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return err
	}
	for _, f := range files {
		if filepath.Base(f) == "kustomization.yaml" {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		objs, err := decodeAll(data)
		if err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		for _, o := range objs {
			if err := c.Client.Create(ctx, o); err != nil && !apierrors.IsAlreadyExists(err) {
				return fmt.Errorf("%s: creating %s %s: %w", f, o.GetKind(), o.GetName(), err)
			}
		}
	}
	return nil
}

func decodeAll(data []byte) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, err
		}
		if len(u.Object) > 0 {
			out = append(out, u)
		}
	}
}

// StopAPIServer stops kube-apiserver; etcd and every other process stay up.
// StartAPIServer starts it again with the same flags, certificates and port,
// so clients reconnect as after a real API-server restart.
func (c *Cluster) StopAPIServer() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.apiserverArgs != nil {
		return fmt.Errorf("kube-apiserver is already stopped")
	}
	pid, args, err := c.findAPIServer()
	if err != nil {
		return err
	}
	if c.apiserver != nil {
		_ = syscall.Kill(-c.apiserver.cmd.Process.Pid, syscall.SIGTERM)
		<-c.apiserver.done
		c.apiserver = nil
	} else {
		p, err := os.FindProcess(pid)
		if err != nil {
			return err
		}
		_ = p.Signal(syscall.SIGTERM)
		for i := 0; i < 300 && syscall.Kill(pid, 0) == nil; i++ {
			time.Sleep(100 * time.Millisecond)
			if b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); len(b) > 0 && bytes.Contains(b, []byte(") Z ")) {
				break // a zombie of envtest's, which reaps it at Stop
			}
		}
	}
	c.apiserverArgs = args
	return nil
}

// StartAPIServer restarts kube-apiserver after StopAPIServer and waits until it serves.
func (c *Cluster) StartAPIServer(ctx context.Context) error {
	c.mu.Lock()
	args := c.apiserverArgs
	c.mu.Unlock()
	if args == nil {
		return fmt.Errorf("kube-apiserver is not stopped")
	}
	if err := c.spawn("kube-apiserver", args[0], args[1:]...); err != nil {
		return err
	}
	c.mu.Lock()
	c.apiserver = c.procs[len(c.procs)-1]
	c.apiserverArgs = nil
	c.mu.Unlock()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if err := c.Client.List(ctx, &corev1.NamespaceList{}); err == nil {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("kube-apiserver did not come back within 60s; see %s", c.LogDir)
}

// findAPIServer finds the running kube-apiserver of this cluster by its
// certificate directory, and returns its PID and command line.
func (c *Cluster) findAPIServer() (int, []string, error) {
	if c.apiserver != nil {
		return c.apiserver.cmd.Process.Pid, c.apiserver.cmd.Args, nil
	}
	certDir := c.Env.ControlPlane.APIServer.CertDir
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, nil, err
	}
	for _, e := range entries {
		var pid int
		if _, err := fmt.Sscanf(e.Name(), "%d", &pid); err != nil {
			continue
		}
		raw, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || len(raw) == 0 {
			continue
		}
		args := strings.Split(strings.TrimRight(string(raw), "\x00"), "\x00")
		if filepath.Base(args[0]) == "kube-apiserver" && strings.Contains(string(raw), certDir) {
			return pid, args, nil
		}
	}
	return 0, nil, fmt.Errorf("kube-apiserver with certificates in %s not found", certDir)
}
