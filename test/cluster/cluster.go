// Package cluster starts and stops a simulated Kubernetes cluster with no
// container runtime, for the end-to-end tests, `make demo` and the benchmarks.
//
// The cluster is envtest's etcd and kube-apiserver, with the project's CRDs
// installed, plus kube-controller-manager, kube-scheduler and KWOK as child
// processes, and fake Nodes that KWOK keeps Ready. Deployments roll out and
// become Available, Jobs complete and garbage collection runs, all for real;
// only the containers are simulated. Every binary is built from source once by
// hack/build-controlplane.sh and found through testenv.AssetsDir.
//
// Pods choose a failure with the label BehaviourLabel (see the Behaviour
// constants). Every process the package starts dies with the calling process
// (Pdeathsig), and Stop ends them all.
package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/twelvefactor/twelvefactor-operator/internal/testenv"
)

// DefaultNodes is the number of fake Nodes when Options.Nodes is zero.
const DefaultNodes = 3

// ControllerManagerUser is the user kube-controller-manager authenticates as
// (in group system:masters), so that its garbage collector is recognisable to
// admission policies, as on a real cluster.
const ControllerManagerUser = "system:kube-controller-manager"

// Options configure a simulated cluster.
type Options struct {
	// Nodes is the number of fake Nodes. Zero means DefaultNodes.
	Nodes int
	// Pods starts kube-scheduler and KWOK and creates the fake Nodes. Without
	// it the cluster is etcd, kube-apiserver and kube-controller-manager only:
	// Deployments get ReplicaSets and Pods, but Pods stay Pending.
	Pods bool
	// WorkDir holds the kubeconfig, the API server's certificates and the
	// logs. Empty means a new temporary directory, which Stop removes; a
	// directory given here is kept.
	WorkDir string
	// Stdout receives one line per start-up step; nil discards them.
	Stdout io.Writer
	// CRDDirs are CRD directories to install besides config/crd/bases.
	CRDDirs []string
}

// Cluster is a running simulated cluster.
type Cluster struct {
	// Env is the envtest control plane (etcd and kube-apiserver).
	Env *envtest.Environment
	// Config is an admin (system:masters) client configuration.
	Config *rest.Config
	// Client uses Config, with the operator's scheme plus apiextensions.
	Client client.Client
	// KubeconfigPath is an admin kubeconfig for kubectl and other processes.
	KubeconfigPath string
	// LogDir holds one log file per process: etcd, kube-apiserver,
	// kube-controller-manager, kube-scheduler and kwok.
	LogDir string

	workDir string
	ownDir  bool
	assets  string

	mu       sync.Mutex
	procs    []*child
	logs     []*os.File
	stopping bool
	stopOnce sync.Once
	stopErr  error
}

func (o Options) say(format string, args ...any) {
	if o.Stdout != nil {
		fmt.Fprintf(o.Stdout, format+"\n", args...)
	}
}

// Start brings a cluster up and returns when the fake Nodes are Ready. When
// it fails it stops whatever it started. The caller must call Stop.
func Start(ctx context.Context, opts Options) (c *Cluster, err error) {
	begin := time.Now()
	if opts.Nodes <= 0 {
		opts.Nodes = DefaultNodes
	}
	c = &Cluster{assets: testenv.AssetsDir()}
	need := []string{"etcd", "kube-apiserver", "kubectl", "kube-controller-manager"}
	if opts.Pods {
		need = append(need, "kube-scheduler", "kwok")
	}
	for _, b := range need {
		if _, err := os.Stat(filepath.Join(c.assets, b)); err != nil {
			return nil, fmt.Errorf("%s is missing in %s: run 'make controlplane' (it builds the control plane from source once)", b, c.assets)
		}
	}
	if c.workDir = opts.WorkDir; c.workDir == "" {
		if c.workDir, err = os.MkdirTemp("", "twelvefactor-cluster-"); err != nil {
			return nil, err
		}
		c.ownDir = true
	}
	c.LogDir = filepath.Join(c.workDir, "logs")
	defer func() {
		if err != nil {
			_ = c.Stop()
			c = nil
		}
	}()
	if err = os.MkdirAll(c.LogDir, 0o755); err != nil {
		return c, err
	}

	opts.say("Starting etcd and kube-apiserver")
	if err = c.startControlPlane(opts.CRDDirs); err != nil {
		return c, err
	}
	opts.say("Starting kube-controller-manager")
	if err = c.startControllerManager(); err != nil {
		return c, err
	}
	if opts.Pods {
		opts.say("Starting kube-scheduler and KWOK with %d fake nodes", opts.Nodes)
		if err = c.startScheduler(); err != nil {
			return c, err
		}
		if err = c.startKwok(); err != nil {
			return c, err
		}
		for i := range opts.Nodes {
			if err = c.Client.Create(ctx, fakeNode(fmt.Sprintf("kwok-node-%d", i))); err != nil {
				return c, fmt.Errorf("creating a fake node: %w", err)
			}
		}
		if err = c.waitNodesReady(ctx, opts.Nodes); err != nil {
			return c, err
		}
	}
	if err = c.EnsureNamespace(ctx, metav1.NamespaceDefault, nil); err != nil {
		return c, err
	}
	opts.say("Cluster is up in %s (kubeconfig %s)", time.Since(begin).Round(100*time.Millisecond), c.KubeconfigPath)
	return c, nil
}

// startControlPlane starts etcd and kube-apiserver with the CRDs, and writes
// the admin kubeconfig. The API server's certificates live in the work dir,
// not in a directory envtest removes on stop, so that RestartAPIServer keeps
// them and every client's credentials stay valid.
func (c *Cluster) startControlPlane(crdDirs []string) error {
	certDir := filepath.Join(c.workDir, "pki")
	// Stale certificates from an earlier run would be reused without their CA.
	if err := os.RemoveAll(certDir); err != nil {
		return err
	}
	if err := os.MkdirAll(certDir, 0o700); err != nil {
		return err
	}
	etcdLog, err := c.logFile("etcd")
	if err != nil {
		return err
	}
	apiLog, err := c.logFile("kube-apiserver")
	if err != nil {
		return err
	}
	etcdPath, err := c.dieWithParent("etcd")
	if err != nil {
		return err
	}
	apiPath, err := c.dieWithParent("kube-apiserver")
	if err != nil {
		return err
	}
	env := &envtest.Environment{
		BinaryAssetsDirectory: c.assets,
		CRDDirectoryPaths:     append([]string{filepath.Join(testenv.RepoRoot(), "config", "crd", "bases")}, crdDirs...),
		ErrorIfCRDPathMissing: true,
	}
	env.ControlPlane.Etcd = &envtest.Etcd{Path: etcdPath, Out: etcdLog, Err: etcdLog}
	env.ControlPlane.APIServer = &envtest.APIServer{Path: apiPath, CertDir: certDir, Out: apiLog, Err: apiLog}
	// On SIGTERM, end open watches instead of waiting for them: with
	// KWOK and the controllers watching, kube-apiserver otherwise lingers for
	// over 20s after it stops listening, and envtest gives up on it.
	env.ControlPlane.APIServer.Configure().Set("shutdown-watch-termination-grace-period", "1s")
	if _, err := env.Start(); err != nil {
		// envtest stops what it started only on some paths.
		_ = env.Stop()
		return fmt.Errorf("starting etcd and kube-apiserver (logs in %s): %w", c.LogDir, err)
	}
	c.mu.Lock()
	stopping := c.stopping
	if !stopping {
		c.Env = env
	}
	c.mu.Unlock()
	if stopping {
		_ = env.Stop()
		return errStopping
	}

	admin, err := env.ControlPlane.AddUser(envtest.User{Name: "admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return err
	}
	c.Config = admin.Config()
	c.Config.QPS, c.Config.Burst = 200, 400
	if c.KubeconfigPath, err = writeKubeconfig(admin, filepath.Join(c.workDir, "kubeconfig")); err != nil {
		return err
	}
	c.Client, err = client.New(c.Config, client.Options{Scheme: testenv.Scheme()})
	return err
}

func writeKubeconfig(u *envtest.AuthenticatedUser, path string) (string, error) {
	data, err := u.KubeConfig()
	if err != nil {
		return "", err
	}
	return path, os.WriteFile(path, data, 0o600)
}

func (c *Cluster) startControllerManager() error {
	user, err := c.Env.ControlPlane.AddUser(envtest.User{Name: ControllerManagerUser, Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return err
	}
	kubeconfig, err := writeKubeconfig(user, filepath.Join(c.workDir, "kube-controller-manager.kubeconfig"))
	if err != nil {
		return err
	}
	return c.spawn("kube-controller-manager",
		"--kubeconfig="+kubeconfig,
		"--secure-port=0",
		"--leader-elect=false",
		// envtest turns off ServiceAccount admission, so no token is needed.
		"--controllers=*,-serviceaccount-token-controller,-serviceaccount-controller",
		"--service-account-private-key-file="+filepath.Join(c.Env.ControlPlane.APIServer.CertDir, "sa-signer.key"),
		"--kube-api-qps=500", "--kube-api-burst=1000",
		"--concurrent-deployment-syncs=10", "--concurrent-replicaset-syncs=10",
		"--concurrent-job-syncs=10", "--concurrent-gc-syncs=30",
	)
}

// schedulerConfig raises the scheduler's client rate limits; with a config
// file the scheduler reads its kubeconfig and leader election from it.
const schedulerConfig = `apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
clientConnection:
  kubeconfig: %q
  qps: 500
  burst: 1000
leaderElection:
  leaderElect: false
`

func (c *Cluster) startScheduler() error {
	path := filepath.Join(c.workDir, "kube-scheduler.yaml")
	if err := os.WriteFile(path, fmt.Appendf(nil, schedulerConfig, c.KubeconfigPath), 0o644); err != nil {
		return err
	}
	return c.spawn("kube-scheduler", "--config="+path, "--secure-port=0")
}

func (c *Cluster) startKwok() error {
	cfg, err := KwokConfig()
	if err != nil {
		return err
	}
	path := filepath.Join(c.workDir, "kwok.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		return err
	}
	return c.spawn("kwok",
		"--kubeconfig="+c.KubeconfigPath,
		"--config="+path,
		"--manage-all-nodes=false",
		"--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
		// A /16 leaves room for the pods of a benchmark; addresses are recycled.
		"--cidr=10.244.0.0/16",
		"--node-ip=10.0.0.1",
		// No server (logs, exec, port-forward): no port, so clusters run in parallel.
		"--server-address=",
	)
}

func fakeNode(name string) *corev1.Node {
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("32"),
		corev1.ResourceMemory: resource.MustParse("256Gi"),
		corev1.ResourcePods:   resource.MustParse("110"),
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name: name,
			Annotations: map[string]string{
				"kwok.x-k8s.io/node":           "fake",
				"node.alpha.kubernetes.io/ttl": "0",
			},
			Labels: map[string]string{
				"type":                   "kwok",
				"kubernetes.io/hostname": name,
				"kubernetes.io/os":       "linux",
				"kubernetes.io/arch":     "amd64",
			},
		},
		Status: corev1.NodeStatus{Capacity: capacity, Allocatable: capacity},
	}
}

// waitNodesReady waits until n Nodes are Ready and untainted: the API server
// taints a new Node not-ready, and the node lifecycle controller lifts the
// taint once KWOK has marked the Node Ready.
func (c *Cluster) waitNodesReady(ctx context.Context, n int) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		nodes := &corev1.NodeList{}
		if err := c.Client.List(ctx, nodes); err != nil {
			return err
		}
		ready := 0
		for _, node := range nodes.Items {
			for _, cond := range node.Status.Conditions {
				if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue && len(node.Spec.Taints) == 0 {
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
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d of %d fake nodes are Ready and untainted; see the kwok and kube-controller-manager logs in %s", ready, n, c.LogDir)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// EnsureNamespace creates a namespace with labels, and its default
// ServiceAccount, which the disabled ServiceAccount controller would make.
// Both may exist already; existing labels are left as they are.
func (c *Cluster) EnsureNamespace(ctx context.Context, name string, labels map[string]string) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	if err := c.Client.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating namespace %s: %w", name, err)
	}
	sa := &corev1.ServiceAccount{
		ObjectMeta:                   metav1.ObjectMeta{Name: "default", Namespace: name},
		AutomountServiceAccountToken: ptr.To(false),
	}
	if err := c.Client.Create(ctx, sa); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating the default ServiceAccount in %s: %w", name, err)
	}
	return nil
}

// Apply creates every object in the YAML files (one or more documents each)
// of dir, skipping kustomization.yaml. Objects that exist are left as they are.
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
		dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
		for {
			u := &unstructured.Unstructured{}
			if err := dec.Decode(&u.Object); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				return fmt.Errorf("%s: %w", f, err)
			}
			if len(u.Object) == 0 {
				continue
			}
			if err := c.Client.Create(ctx, u); err != nil && !apierrors.IsAlreadyExists(err) {
				return fmt.Errorf("%s: creating %s %s: %w", f, u.GetKind(), u.GetName(), err)
			}
		}
	}
	return nil
}

// RestartAPIServer stops kube-apiserver and starts it again on the same port
// with the same certificates, as a real API server restart: etcd and every
// other process stay up, and clients reconnect. It returns once the new API
// server is healthy.
func (c *Cluster) RestartAPIServer(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopping || c.Env == nil {
		return errors.New("the cluster is stopped")
	}
	api := c.Env.ControlPlane.APIServer
	if err := api.Stop(); err != nil {
		return fmt.Errorf("stopping kube-apiserver: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := api.Start(); err != nil {
		return fmt.Errorf("starting kube-apiserver again (log in %s): %w", c.LogDir, err)
	}
	return nil
}

// PIDs returns the process IDs of the child processes this package started
// itself (kube-controller-manager, kube-scheduler and kwok), by name. etcd
// and kube-apiserver are envtest's.
func (c *Cluster) PIDs() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]int{}
	for _, p := range c.procs {
		out[p.name] = p.cmd.Process.Pid
	}
	return out
}

// Stop stops kube-controller-manager, kube-scheduler and KWOK (SIGTERM, then
// SIGKILL after a timeout) and waits for them, then stops kube-apiserver and
// etcd, and removes the work dir if Start created it. It is idempotent and
// safe to call concurrently, from a test's Cleanup and a signal handler: a
// second call waits for the first and returns its result.
func (c *Cluster) Stop() error {
	c.stopOnce.Do(func() { c.stopErr = c.stop() })
	return c.stopErr
}

func (c *Cluster) stop() error {
	c.mu.Lock()
	c.stopping = true
	procs, env, logs := c.procs, c.Env, c.logs
	c.mu.Unlock()

	var errs []error
	for i := len(procs) - 1; i >= 0; i-- {
		if err := procs[i].stop(10 * time.Second); err != nil {
			errs = append(errs, err)
		}
	}
	if env != nil {
		if err := env.Stop(); err != nil {
			errs = append(errs, fmt.Errorf("stopping etcd and kube-apiserver: %w", err))
		}
	}
	for _, f := range logs {
		_ = f.Close()
	}
	if c.ownDir {
		if err := os.RemoveAll(c.workDir); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// dieWithParent returns a path for envtest to run binary with, such that the
// process gets SIGKILL when its parent dies, as the children this package
// starts itself do: a small script that runs it through setpriv. Without
// setpriv it returns the binary itself.
func (c *Cluster) dieWithParent(binary string) (string, error) {
	path := filepath.Join(c.assets, binary)
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

func (c *Cluster) logFile(name string) (*os.File, error) {
	f, err := os.Create(filepath.Join(c.LogDir, name+".log"))
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.logs = append(c.logs, f)
	c.mu.Unlock()
	return f, nil
}
