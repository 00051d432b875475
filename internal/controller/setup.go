// Package controller holds the operator's reconcilers: one per kind.
package controller

import (
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
	"github.com/twelvefactor/twelvefactor-operator/internal/registry"
)

// Config carries the settings the reconcilers share.
type Config struct {
	Clock              clock.PassiveClock
	DefaultPolicy      string
	AdminRunTTL        time.Duration
	MaxConcurrent      int
	InsecureRegistries bool
	// RetryAfter is how long to wait before retrying a missing dependency.
	RetryAfter time.Duration
	// StartupWarnSeconds is the startup time above which factor IX warns.
	StartupWarnSeconds float64
	// SettleAfter bounds how long a pass that applied Deployments leaves the
	// status to the pass their first status update brings (default 5s).
	SettleAfter time.Duration
}

// CacheOptions scopes the cache: Releases and workloads only with the
// operator's label; ConfigMaps and Secrets are watched metadata-only and read
// live when needed. The transform keeps only what the reconcilers read.
func CacheOptions(syncPeriod time.Duration) cache.Options {
	managed := labels.SelectorFromSet(labels.Set{tfv1.LabelManagedBy: tfv1.ManagedByValue})
	return cache.Options{
		SyncPeriod:       &syncPeriod,
		DefaultTransform: trimForCache,
		ByObject: map[client.Object]cache.ByObject{
			&tfv1.Release{}:                          {Label: managed},
			&appsv1.Deployment{}:                     {Label: managed},
			&corev1.Service{}:                        {Label: managed},
			&policyv1.PodDisruptionBudget{}:          {Label: managed},
			&autoscalingv2.HorizontalPodAutoscaler{}: {Label: managed},
			&batchv1.Job{}:                           {Label: managed},
		},
	}
}

// trimForCache drops what no reconciler reads before an object enters the
// cache. Secrets and ConfigMaps (cached as metadata only, in every namespace)
// keep their identity and resourceVersion (release Secrets also the labels
// that name their app); Releases and Jobs lose their managedFields, while
// the workloads the applier compares keep them.
func trimForCache(in any) (any, error) {
	switch o := in.(type) {
	case *metav1.PartialObjectMetadata:
		var keep map[string]string
		if kind := o.Labels[tfv1.LabelSecretKind]; kind != "" {
			// A release Secret: its deletion wakes its app.
			keep = map[string]string{tfv1.LabelSecretKind: kind, tfv1.LabelApp: o.Labels[tfv1.LabelApp],
				tfv1.LabelManagedBy: o.Labels[tfv1.LabelManagedBy]}
		}
		o.ObjectMeta = metav1.ObjectMeta{Name: o.Name, Namespace: o.Namespace, UID: o.UID, Labels: keep,
			ResourceVersion: o.ResourceVersion, DeletionTimestamp: o.DeletionTimestamp}
		return o, nil
	case *appsv1.Deployment, *corev1.Service, *policyv1.PodDisruptionBudget, *autoscalingv2.HorizontalPodAutoscaler:
		// The applier compares what the operator's field manager owns.
		return o, nil
	}
	if obj, err := meta.Accessor(in); err == nil && obj.GetManagedFields() != nil {
		obj.SetManagedFields(nil)
	}
	return in, nil
}

// ClientOptions makes typed reads of ConfigMaps and Secrets go to the API
// server, so their data is never cached.
func ClientOptions() client.Options {
	return client.Options{Cache: &client.CacheOptions{DisableFor: []client.Object{&corev1.Secret{}, &corev1.ConfigMap{}}}}
}

// Setup registers every reconciler with the manager.
func Setup(mgr ctrl.Manager, cfg Config) error {
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if cfg.RetryAfter == 0 {
		cfg.RetryAfter = 30 * time.Second
	}
	if cfg.SettleAfter == 0 {
		cfg.SettleAfter = 5 * time.Second
	}
	if cfg.MaxConcurrent == 0 {
		cfg.MaxConcurrent = 16
	}
	app := &AppReconciler{
		Client:        mgr.GetClient(),
		APIReader:     mgr.GetAPIReader(),
		Cache:         mgr.GetCache(),
		Recorder:      mgr.GetEventRecorder(tfv1.FieldManager),
		Clock:         cfg.Clock,
		Resolver:      registry.Resolver{Insecure: cfg.InsecureRegistries},
		DefaultPolicy: cfg.DefaultPolicy,
		RetryAfter:    cfg.RetryAfter,
		SettleAfter:   cfg.SettleAfter,

		StartupWarnSeconds: cfg.StartupWarnSeconds,

		applier: newApplier(tfv1.FieldManager, mgr.GetClient(), mgr.GetAPIReader(), mgr.GetScheme()),
		secrets: newSecretVerifier(mgr.GetCache(), mgr.GetAPIReader()),
	}
	app.images = newImageResolutions(app.Resolver.Resolve, cfg.Clock)
	if err := app.SetupWithManager(mgr, cfg.MaxConcurrent); err != nil {
		return err
	}
	if err := registerCompliance(mgr.GetCache()); err != nil {
		return err
	}
	if cfg.AdminRunTTL == 0 {
		cfg.AdminRunTTL = 24 * time.Hour
	}
	run := &AdminRunReconciler{
		Client:    mgr.GetClient(),
		APIReader: mgr.GetAPIReader(),
		Recorder:  mgr.GetEventRecorder(tfv1.AdminRunFieldManager),
		Clock:     cfg.Clock,
		TTL:       cfg.AdminRunTTL,

		applier: newApplier(tfv1.AdminRunFieldManager, mgr.GetClient(), mgr.GetAPIReader(), mgr.GetScheme()),
		secrets: app.secrets,
	}
	return run.SetupWithManager(mgr)
}
