package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"

	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart"
	"helm.sh/helm/v4/pkg/chart/loader"
	"helm.sh/helm/v4/pkg/kube"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// helmRunner installs, upgrades and rolls back one release per app with the
// Helm v4 SDK, as `helm install/upgrade/rollback` would, each worker with its
// own action configuration (Helm's storage driver: Secrets).
type helmRunner struct {
	chart      chart.Charter
	kubeconfig string
	ns         string
	cfgs       chan *action.Configuration
}

func newHelmRunner(chartDir, kubeconfig, ns string, workers int) (*helmRunner, error) {
	ch, err := loader.Load(chartDir)
	if err != nil {
		return nil, fmt.Errorf("loading the chart %s: %w", chartDir, err)
	}
	h := &helmRunner{chart: ch, kubeconfig: kubeconfig, ns: ns, cfgs: make(chan *action.Configuration, workers)}
	quiet := slog.NewTextHandler(io.Discard, nil)
	for range workers {
		flags := genericclioptions.NewConfigFlags(false)
		flags.KubeConfig = &h.kubeconfig
		flags.Namespace = &h.ns
		// The same client limits as the benchmark's own client: none.
		flags.WrapConfigFn = func(c *rest.Config) *rest.Config { c.QPS, c.Burst = -1, 0; return c }
		cfg := action.NewConfiguration(action.ConfigurationSetLogger(quiet))
		if err := cfg.Init(flags, ns, "secret"); err != nil {
			return nil, err
		}
		h.cfgs <- cfg
	}
	return h, nil
}

func (h *helmRunner) with(fn func(*action.Configuration) error) error {
	cfg := <-h.cfgs
	defer func() { h.cfgs <- cfg }()
	return fn(cfg)
}

// helmValues are the values of app i at a shared-config version: the same
// environment the operator resolves for it.
func helmValues(i, sharedVersion int) map[string]any {
	env := map[string]any{}
	for k, v := range appEnv(i, sharedVersion) {
		env[k] = v
	}
	return map[string]any{"configVersion": strconv.Itoa(sharedVersion), "env": env}
}

func (h *helmRunner) install(ctx context.Context, i int) error {
	return h.with(func(cfg *action.Configuration) error {
		in := action.NewInstall(cfg)
		in.ReleaseName, in.Namespace = appName(i), h.ns
		in.WaitStrategy = kube.HookOnlyStrategy
		_, err := in.RunWithContext(ctx, h.chart, helmValues(i, 1))
		return err
	})
}

func (h *helmRunner) upgrade(ctx context.Context, i int) error {
	return h.with(func(cfg *action.Configuration) error {
		up := action.NewUpgrade(cfg)
		up.Namespace = h.ns
		up.WaitStrategy = kube.HookOnlyStrategy
		_, err := up.RunWithContext(ctx, appName(i), h.chart, helmValues(i, 2))
		return err
	})
}

func (h *helmRunner) rollback(_ context.Context, i int) error {
	return h.with(func(cfg *action.Configuration) error {
		rb := action.NewRollback(cfg)
		rb.Version = 1
		rb.WaitStrategy = kube.HookOnlyStrategy
		return rb.Run(appName(i))
	})
}

// helmDeployed counts the releases in ns whose deployed revision is rev,
// from the labels of Helm's storage Secrets (read metadata-only).
func helmDeployed(ctx context.Context, c client.Reader, ns string, rev int) (int, error) {
	list := &metav1.PartialObjectMetadataList{}
	list.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("SecretList"))
	if err := c.List(ctx, list, client.InNamespace(ns), client.MatchingLabels{"owner": "helm", "status": "deployed"}, client.UnsafeDisableDeepCopy); err != nil {
		return 0, err
	}
	n := 0
	for _, s := range list.Items {
		if s.Labels["version"] == strconv.Itoa(rev) {
			n++
		}
	}
	return n, nil
}
