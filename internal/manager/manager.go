// Package manager wires the operator's controllers into a controller-runtime
// manager. cmd/manager, the demo and the end-to-end tests all start it from here.
package manager

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"go.uber.org/zap/zapcore"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	ctrlzap "sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
	"github.com/twelvefactor/twelvefactor-operator/internal/controller"
	"github.com/twelvefactor/twelvefactor-operator/internal/scheme"
)

// Version is stamped at build time with -ldflags "-X .../internal/manager.Version=...".
var Version = "dev"

// Options are the operator's command-line settings.
type Options struct {
	MetricsAddr        string
	ProbeAddr          string
	LeaderElect        bool
	LeaderElectionID   string
	LeaderElectionNS   string
	LogLevel           string
	LogFormat          string
	DefaultPolicy      string
	AdminRunTTL        time.Duration
	MaxConcurrent      int
	SyncPeriod         time.Duration
	InsecureRegistries bool
	KubeAPIQPS         float64
	KubeAPIBurst       int
	LeaseDuration      time.Duration
	RenewDeadline      time.Duration
	RetryPeriod        time.Duration
	GracefulShutdown   time.Duration
	StartupWarnSeconds float64
}

// DefaultOptions returns the defaults of every flag.
func DefaultOptions() Options {
	return Options{
		MetricsAddr:      ":8080",
		ProbeAddr:        ":8081",
		LeaderElectionID: "twelvefactor-operator.twelvefactor.dev",
		LogLevel:         "info",
		LogFormat:        "json",
		DefaultPolicy:    tfv1.PolicyWarn,
		AdminRunTTL:      24 * time.Hour,
		MaxConcurrent:    16,
		SyncPeriod:       10 * time.Hour,
		KubeAPIQPS:       200,
		KubeAPIBurst:     400,
		LeaseDuration:    15 * time.Second,
		RenewDeadline:    10 * time.Second,
		RetryPeriod:      2 * time.Second,
		GracefulShutdown: 30 * time.Second,

		StartupWarnSeconds: 30,
	}
}

// BindFlags registers the options as flags.
func (o *Options) BindFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.MetricsAddr, "metrics-bind-address", o.MetricsAddr, "Address the Prometheus metrics endpoint binds to; 0 disables it.")
	fs.StringVar(&o.ProbeAddr, "health-probe-bind-address", o.ProbeAddr, "Address the /healthz and /readyz endpoints bind to.")
	fs.BoolVar(&o.LeaderElect, "leader-elect", o.LeaderElect, "Enable leader election, so only one replica reconciles at a time.")
	fs.StringVar(&o.LeaderElectionID, "leader-election-id", o.LeaderElectionID, "Name of the leader election Lease.")
	fs.StringVar(&o.LeaderElectionNS, "leader-election-namespace", o.LeaderElectionNS, "Namespace of the leader election Lease (default: the pod's namespace).")
	fs.DurationVar(&o.LeaseDuration, "leader-election-lease-duration", o.LeaseDuration, "Leader election lease duration.")
	fs.DurationVar(&o.RenewDeadline, "leader-election-renew-deadline", o.RenewDeadline, "Leader election renew deadline.")
	fs.DurationVar(&o.RetryPeriod, "leader-election-retry-period", o.RetryPeriod, "Leader election retry period.")
	fs.StringVar(&o.LogLevel, "log-level", o.LogLevel, "Log level: debug, info or error, or a number for V-levels (4 = how).")
	fs.StringVar(&o.LogFormat, "log-format", o.LogFormat, "Log format: json or console.")
	fs.StringVar(&o.DefaultPolicy, "default-policy", o.DefaultPolicy, "Policy mode for namespaces without the twelvefactor.dev/policy label: enforce or warn.")
	fs.DurationVar(&o.AdminRunTTL, "adminrun-ttl", o.AdminRunTTL, "Default time a finished AdminRun is kept.")
	fs.IntVar(&o.MaxConcurrent, "max-concurrent-reconciles", o.MaxConcurrent, "Reconciles run in parallel per controller.")
	fs.DurationVar(&o.SyncPeriod, "sync-period", o.SyncPeriod, "Full resync period of the informers.")
	fs.BoolVar(&o.InsecureRegistries, "insecure-registries", o.InsecureRegistries, "Resolve image tags over plain HTTP (for local test registries only).")
	fs.Float64Var(&o.KubeAPIQPS, "kube-api-qps", o.KubeAPIQPS, "Client-side QPS limit towards the API server.")
	fs.IntVar(&o.KubeAPIBurst, "kube-api-burst", o.KubeAPIBurst, "Client-side burst towards the API server.")
	fs.Float64Var(&o.StartupWarnSeconds, "startup-warn-seconds", o.StartupWarnSeconds, "Factor IX warns when a process takes longer than this from pod creation to Ready.")
	fs.DurationVar(&o.GracefulShutdown, "graceful-shutdown-timeout", o.GracefulShutdown, "How long running reconciles may take to finish on SIGTERM.")
}

// NewLogger builds the operator's structured logger, writing to stdout.
func NewLogger(level, format string) (ctrlzap.Opts, error) {
	var lvl zapcore.Level
	switch level {
	case "debug":
		lvl = zapcore.Level(-4)
	case "info", "":
		lvl = zapcore.InfoLevel
	case "error":
		lvl = zapcore.ErrorLevel
	default:
		var n int
		if _, err := fmt.Sscanf(level, "%d", &n); err != nil || n < 0 {
			return nil, fmt.Errorf("--log-level: %q is not debug, info, error or a V-level", level)
		}
		lvl = zapcore.Level(-n)
	}
	var enc ctrlzap.Opts
	switch format {
	case "json", "":
		enc = ctrlzap.JSONEncoder()
	case "console":
		enc = ctrlzap.ConsoleEncoder()
	default:
		return nil, fmt.Errorf("--log-format: %q is not json or console", format)
	}
	return func(o *ctrlzap.Options) {
		enc(o)
		o.Level = lvl
		o.DestWriter = os.Stdout
		o.Development = false
	}, nil
}

// Run starts the operator with a logger and the kubeconfig from the environment,
// and blocks until SIGTERM or SIGINT.
func Run(opts Options) error {
	logOpts, err := NewLogger(opts.LogLevel, opts.LogFormat)
	if err != nil {
		return err
	}
	ctrl.SetLogger(ctrlzap.New(logOpts))
	cfg, err := ctrl.GetConfig()
	if err != nil {
		return fmt.Errorf("loading kubeconfig: %w", err)
	}
	ctx := ctrl.SetupSignalHandler()
	return Start(ctx, cfg, opts)
}

// Start runs the manager against cfg until ctx is done.
func Start(ctx context.Context, cfg *rest.Config, opts Options) error {
	log := ctrl.Log.WithName("setup")
	if opts.DefaultPolicy != tfv1.PolicyEnforce && opts.DefaultPolicy != tfv1.PolicyWarn {
		return fmt.Errorf("--default-policy: %q is not enforce or warn", opts.DefaultPolicy)
	}
	cfg = rest.CopyConfig(cfg)
	cfg.QPS = float32(opts.KubeAPIQPS)
	cfg.Burst = opts.KubeAPIBurst
	cfg.UserAgent = "twelvefactor-operator/" + Version

	shutdown := opts.GracefulShutdown
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                        scheme.New(),
		Metrics:                       metricsserver.Options{BindAddress: opts.MetricsAddr},
		HealthProbeBindAddress:        opts.ProbeAddr,
		LeaderElection:                opts.LeaderElect,
		LeaderElectionID:              opts.LeaderElectionID,
		LeaderElectionNamespace:       opts.LeaderElectionNS,
		LeaderElectionReleaseOnCancel: true,
		LeaseDuration:                 &opts.LeaseDuration,
		RenewDeadline:                 &opts.RenewDeadline,
		RetryPeriod:                   &opts.RetryPeriod,
		GracefulShutdownTimeout:       &shutdown,
		Cache:                         controller.CacheOptions(opts.SyncPeriod),
		Client:                        controller.ClientOptions(),
	})
	if err != nil {
		return fmt.Errorf("creating manager: %w", err)
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return err
	}
	if err := controller.Setup(mgr, controller.Config{
		Clock:              clock.RealClock{},
		DefaultPolicy:      opts.DefaultPolicy,
		AdminRunTTL:        opts.AdminRunTTL,
		MaxConcurrent:      opts.MaxConcurrent,
		InsecureRegistries: opts.InsecureRegistries,
		StartupWarnSeconds: opts.StartupWarnSeconds,
	}); err != nil {
		return err
	}
	log.Info("Starting manager", "version", Version, "leaderElection", opts.LeaderElect)
	if err := mgr.Start(ctx); err != nil {
		return fmt.Errorf("running manager: %w", err)
	}
	log.Info("Manager stopped")
	return nil
}
