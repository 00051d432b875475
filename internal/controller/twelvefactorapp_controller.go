package controller

import (
	"context"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
	"github.com/twelvefactor/twelvefactor-operator/internal/registry"
)

// AppReconciler turns a TwelveFactorApp into numbered Releases and runs the
// current one: a Deployment per process type, its Service, PDB and HPA, gated
// by a release phase Job.
type AppReconciler struct {
	client.Client
	// APIReader reads live from the API server, bypassing the cache.
	APIReader client.Reader
	// Cache reads the informer cache, including the metadata-only caches of
	// Secrets and ConfigMaps that the client's reads bypass.
	Cache         client.Reader
	Recorder      events.EventRecorder
	Clock         clock.PassiveClock
	Resolver      registry.Resolver
	DefaultPolicy string
	// RetryAfter is how long to wait before retrying a missing dependency.
	RetryAfter time.Duration
	// SettleAfter is when a pass that applied Deployments, and so left the
	// status to the next pass, comes back should no event bring that pass.
	SettleAfter time.Duration
	// StartupWarnSeconds is the startup time above which factor IX warns.
	StartupWarnSeconds float64

	services     *provisionedServiceWatcher
	statusWrites lastStatusWrites
	applier      *applier
	secrets      *secretVerifier
	images       *imageResolutions
}

// +kubebuilder:rbac:groups=twelvefactor.dev,resources=twelvefactorapps,verbs=get;list;watch
// +kubebuilder:rbac:groups=twelvefactor.dev,resources=twelvefactorapps/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=twelvefactor.dev,resources=releases,verbs=get;list;watch;create;delete;patch
// +kubebuilder:rbac:groups=twelvefactor.dev,resources=releases/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=twelvefactor.dev,resources=releases/finalizers,verbs=update
// +kubebuilder:rbac:groups=apps,resources=deployments,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=services,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=policy,resources=poddisruptionbudgets,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=autoscaling,resources=horizontalpodautoscalers,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=batch,resources=jobs,verbs=get;list;watch;create;update;patch;delete
// Secret writes are not in this ClusterRole: config/rbac/secret_writer_role.yaml
// grants them, bound per app namespace or cluster-wide (see docs/security.md).
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile runs the phases of one pass and writes the status once.
func (r *AppReconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	log := ctrl.LoggerFrom(ctx)
	app := &tfv1.TwelveFactorApp{}
	if err := r.Get(ctx, req.NamespacedName, app); err != nil {
		if apierrors.IsNotFound(err) {
			r.statusWrites.forget(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !app.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil // owned objects are garbage-collected
	}
	s := &appScope{app: app, before: app.DeepCopy()}
	defer func() {
		if !s.complete {
			// A pass cut short by an error has not observed enough to say
			// anything true; the retry writes the status.
			return
		}
		if s.deploymentsApplied && retErr == nil {
			// The Deployment controller's first status update brings the next
			// pass, which sees the Deployments in the cache with their status:
			// one status write instead of two or three. The requeue is the
			// safety net should no update come.
			result = shortest(result, ctrl.Result{RequeueAfter: r.SettleAfter})
			return
		}
		if err := r.patchStatus(ctx, s); err != nil {
			retErr = kerrors.NewAggregate([]error{retErr, err})
		}
	}()

	phases := []func(context.Context, *appScope) (ctrl.Result, error){
		r.observe,
		r.resolve,
		r.checkPolicy,
		r.ensureRelease,
		r.runReleasePhase,
		r.chooseTarget,
		r.applyWorkloads,
		r.trackRollout,
		r.markInUse,
		r.pruneHistory,
	}
	for _, phase := range phases {
		res, err := phase(ctx, s)
		if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
			// The namespace goes, and the app with it: nothing to retry.
			return ctrl.Result{}, nil
		}
		if err != nil {
			return ctrl.Result{}, err
		}
		result = shortest(result, res)
	}
	s.complete = true
	if s.blocker != nil && s.blocker.Stalled {
		log.V(1).Info("App is stalled", "app", klog.KObj(app), "reason", s.blocker.Reason)
		return ctrl.Result{}, reconcile.TerminalError(s.blocker)
	}
	return result, nil
}

// patchStatus writes the status once, and only when it changed: from the
// cached app, and from our last write (the cache may lag it).
func (r *AppReconciler) patchStatus(ctx context.Context, s *appScope) error {
	st := s.app.Status.DeepCopy()
	s.fillStatus(st, r.Clock.Now())
	r.setCompliance(st, s)
	if equality.Semantic.DeepEqual(*st, s.before.Status) {
		return nil
	}
	key := client.ObjectKeyFromObject(s.app)
	w := newStatusWrite(s.app.UID, st)
	if r.statusWrites.written(key, w) {
		return nil
	}
	s.app.Status = *st
	if err := r.Status().Patch(ctx, s.app, client.MergeFrom(s.before)); err != nil {
		return err
	}
	r.statusWrites.wrote(key, w)
	r.recordPinning(s)
	return nil
}

// recordPinning records an event when the written status pins the app to a
// release or unpins it. It follows the status write, so a pass that does not
// write the status records nothing and the next one records it once.
func (r *AppReconciler) recordPinning(s *appScope) {
	was, now := s.before.Status, s.app.Status
	switch {
	case now.Pinned && (!was.Pinned || was.CurrentRelease != now.CurrentRelease):
		r.Recorder.Eventf(s.app, nil, corev1.EventTypeNormal, tfv1.ReasonPinned, "Rollback", "Pinned to v%d by spec.rollbackTo", now.CurrentRelease)
		rollbacksTotal.Inc()
	case was.Pinned && !now.Pinned && s.pin() == 0:
		r.Recorder.Eventf(s.app, nil, corev1.EventTypeNormal, tfv1.ReasonUnpinned, "Rollback", "Unpinned: returning to the latest release")
	}
}

func shortest(a, b ctrl.Result) ctrl.Result {
	if a.RequeueAfter == 0 || (b.RequeueAfter != 0 && b.RequeueAfter < a.RequeueAfter) {
		return b
	}
	return a
}

// SetupWithManager registers the controller and its watches.
func (r *AppReconciler) SetupWithManager(mgr ctrl.Manager, maxConcurrent int) error {
	if err := indexAppReferences(mgr); err != nil {
		return err
	}
	if err := indexPromotions(mgr); err != nil {
		return err
	}
	c, err := ctrl.NewControllerManagedBy(mgr).
		For(&tfv1.TwelveFactorApp{}, builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, predicate.LabelChangedPredicate{}))).
		Owns(&tfv1.Release{}, notCreated).
		Owns(&appsv1.Deployment{}, notCreated).
		Owns(&corev1.Service{}, notCreated).
		Owns(&policyv1.PodDisruptionBudget{}, notCreated).
		Owns(&autoscalingv2.HorizontalPodAutoscaler{}, notCreated).
		Watches(&batchv1.Job{}, handler.EnqueueRequestsFromMapFunc(appFromLabel)).
		WatchesMetadata(&corev1.ConfigMap{}, handler.EnqueueRequestsFromMapFunc(r.appsReferencing(refConfigMap))).
		WatchesMetadata(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(r.appsReferencing(refSecret))).
		WatchesMetadata(&corev1.Secret{}, releaseSecretDeleted).
		WatchesRawSource(source.Channel(r.images.events, &handler.EnqueueRequestForObject{})).
		Watches(&tfv1.TwelveFactorApp{}, handler.EnqueueRequestsFromMapFunc(r.appsPromotedFrom), builder.WithPredicates(runningImageChanged)).
		Watches(&corev1.Namespace{}, handler.EnqueueRequestsFromMapFunc(r.appsInNamespace), builder.WithPredicates(policyLabelChanged)).
		WithOptions(controller.Options{MaxConcurrentReconciles: maxConcurrent}).
		Build(r)
	if err != nil {
		return err
	}
	r.services = &provisionedServiceWatcher{started: map[schema.GroupVersionKind]bool{}, ctrl: c, cache: mgr.GetCache(), r: r}
	return nil
}

// notCreated drops the create events of owned objects. The app's pass created
// them and knows; the next change to them (the Deployment controller's first
// status update, a deletion) brings the next pass. After a restart the apps'
// own create events bring a pass for each.
var notCreated = builder.WithPredicates(predicate.Funcs{CreateFunc: func(event.CreateEvent) bool { return false }})
