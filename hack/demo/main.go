// Command demo is `make demo`: it starts a simulated cluster (kube-apiserver,
// etcd, kube-controller-manager, kube-scheduler and KWOK, all built from
// source), runs the operator against it, deploys the sample app, and walks
// through a config change and a rollback. It leaves the cluster up until
// Ctrl-C, or exits at once when DEMO_EXIT=1.
package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlzap "sigs.k8s.io/controller-runtime/pkg/log/zap"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
	"github.com/twelvefactor/twelvefactor-operator/internal/devcluster"
	"github.com/twelvefactor/twelvefactor-operator/internal/manager"
	"github.com/twelvefactor/twelvefactor-operator/internal/plugin"
	"github.com/twelvefactor/twelvefactor-operator/internal/testenv"
)

const ns = "demo"

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "demo failed:", err)
		os.Exit(1)
	}
}

func step(format string, args ...any) {
	fmt.Printf("\n==> "+format+"\n", args...)
}

func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := testenv.RepoRoot()
	work, err := os.MkdirTemp("", "twelvefactor-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	step("Starting a simulated cluster (real control plane, KWOK as the kubelet)")
	c, err := devcluster.Start(ctx, devcluster.Options{WorkDir: work, Progress: os.Stdout})
	if err != nil {
		return err
	}
	defer func() {
		step("Stopping the cluster")
		_ = c.Stop()
	}()

	step("Installing the CRDs and the twelve-factor admission policies")
	if err := c.Apply(ctx, filepath.Join(root, "config", "policy")); err != nil {
		return err
	}
	fmt.Println("CRDs: twelvefactorapps, releases, adminruns (twelvefactor.dev/v1alpha1)")

	logPath := filepath.Join(work, "operator.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logFile.Close()
	step("Running the operator (structured logs in %s)", logPath)
	ctrl.SetLogger(ctrlzap.New(ctrlzap.WriteTo(logFile), ctrlzap.JSONEncoder()))
	opts := manager.DefaultOptions()
	opts.MetricsAddr, opts.ProbeAddr = "0", "0"
	mgrCtx, stopMgr := context.WithCancel(ctx)
	mgrDone := make(chan error, 1)
	go func() { mgrDone <- manager.Start(mgrCtx, c.Config, opts) }()
	defer func() {
		stopMgr()
		if err := <-mgrDone; err != nil {
			fmt.Fprintln(os.Stderr, "manager:", err)
		}
	}()

	step("Deploying the sample app (web + worker, a release phase, a ConfigMap and a db attachment)")
	if err := c.EnsureNamespace(ctx, ns, map[string]string{tfv1.LabelPolicy: tfv1.PolicyWarn}); err != nil {
		return err
	}
	kubectl := func(args ...string) error {
		cmd := exec.CommandContext(ctx, filepath.Join(testenv.AssetsDir(), "kubectl"), append([]string{"--kubeconfig", c.KubeconfigPath, "-n", ns}, args...)...)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		return cmd.Run()
	}
	fmt.Println("$ kubectl apply -f config/samples/twelvefactor_v1alpha1_twelvefactorapp.yaml")
	if err := kubectl("apply", "-f", filepath.Join(root, "config", "samples", "twelvefactor_v1alpha1_twelvefactorapp.yaml")); err != nil {
		return err
	}
	if err := waitReady(ctx, c.Client, 1); err != nil {
		return err
	}
	show := func() error {
		fmt.Println("$ kubectl get tfa,tfrel,deploy,jobs,pods")
		return kubectl("get", "tfa,tfrel,deploy,jobs,pods")
	}
	if err := show(); err != nil {
		return err
	}

	step("Changing config: LOG_LEVEL=debug makes release v2 (its release phase runs first)")
	fmt.Println(`$ kubectl patch tfa shop --type=json -p '[{"op":"replace","path":"/spec/config/env/0/value","value":"debug"}]'`)
	if err := kubectl("patch", "tfa", "shop", "--type=json", "-p", `[{"op":"replace","path":"/spec/config/env/0/value","value":"debug"}]`); err != nil {
		return err
	}
	if err := waitReady(ctx, c.Client, 2); err != nil {
		return err
	}

	step("Rolling back: spec.rollbackTo: 1 runs v1's image, config and bindings again")
	fmt.Println(`$ kubectl patch tfa shop --type=merge -p '{"spec":{"rollbackTo":1}}'`)
	if err := kubectl("patch", "tfa", "shop", "--type=merge", "-p", `{"spec":{"rollbackTo":1}}`); err != nil {
		return err
	}
	if err := waitReady(ctx, c.Client, 1); err != nil {
		return err
	}
	if err := show(); err != nil {
		return err
	}

	step("Release history")
	fmt.Println("$ kubectl get tfrel -o custom-columns=VERSION:.spec.number,DESCRIPTION:.spec.description,PHASE:.status.releasePhase,ROLLOUT:.status.rollout,IN-USE:.metadata.labels.twelvefactor\\.dev/in-use")
	if err := kubectl("get", "tfrel", "-o", `custom-columns=VERSION:.spec.number,DESCRIPTION:.spec.description,PHASE:.status.releasePhase,ROLLOUT:.status.rollout,IN-USE:.metadata.labels.twelvefactor\.dev/in-use`); err != nil {
		return err
	}
	step("The same through the kubectl plugin")
	twelvefactor := func(args ...string) {
		fmt.Println("$ kubectl twelvefactor " + strings.Join(args, " "))
		plugin.Main(append([]string{"--kubeconfig", c.KubeconfigPath, "-n", ns}, args...),
			genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr})
	}
	twelvefactor("releases", "shop")
	twelvefactor("status", "shop")

	fmt.Printf("\nThe sample app is Ready. The cluster stays up: export KUBECONFIG=%s\n", c.KubeconfigPath)
	if os.Getenv("DEMO_EXIT") == "1" {
		return nil
	}
	fmt.Println("Press Ctrl-C to stop it.")
	<-ctx.Done()
	return nil
}

// waitReady prints progress until the app is Ready at release n.
func waitReady(ctx context.Context, c client.Client, n int32) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	last := ""
	for {
		app := &tfv1.TwelveFactorApp{}
		if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: "shop"}, app); err == nil {
			line := progress(app)
			if line != last {
				fmt.Println("   " + line)
				last = line
			}
			ready := meta.FindStatusCondition(app.Status.Conditions, tfv1.ConditionReady)
			if ready != nil && ready.Status == metav1.ConditionTrue && app.Status.CurrentRelease == n {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("shop did not become Ready at v%d: %w (last status: %s)", n, ctx.Err(), last)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func progress(app *tfv1.TwelveFactorApp) string {
	ready := meta.FindStatusCondition(app.Status.Conditions, tfv1.ConditionReady)
	state := "waiting for the operator"
	if ready != nil {
		state = fmt.Sprintf("Ready=%s (%s): %s", ready.Status, ready.Reason, ready.Message)
	}
	var procs []string
	for _, p := range app.Status.Processes {
		procs = append(procs, fmt.Sprintf("%s %d/%d", p.Name, p.ReadyReplicas, p.Replicas))
	}
	return fmt.Sprintf("v%d running, latest v%d; %s [%s]", app.Status.CurrentRelease, app.Status.LatestRelease, state, strings.Join(procs, ", "))
}
