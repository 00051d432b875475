package controller

import (
	"context"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	kerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
)

// AdminRunReconciler runs one-off admin processes as Jobs from a release's
// image, environment and bindings (factor XII).
type AdminRunReconciler struct {
	client.Client
	APIReader client.Reader
	Recorder  events.EventRecorder
	Clock     clock.PassiveClock
	// TTL is how long a finished run is kept when its spec sets no TTL.
	TTL time.Duration

	applier *applier
	secrets *secretVerifier
}

// +kubebuilder:rbac:groups=twelvefactor.dev,resources=adminruns,verbs=get;list;watch;delete
// +kubebuilder:rbac:groups=twelvefactor.dev,resources=adminruns/status,verbs=get;update;patch
// +kubebuilder:rbac:groups="",resources=pods,verbs=get;list

// Reconcile creates the run's Job when it may start, mirrors the Job's status,
// and deletes the run once its TTL after finishing has passed.
func (r *AdminRunReconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	run := &tfv1.AdminRun{}
	if err := r.Get(ctx, req.NamespacedName, run); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !run.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil
	}
	s := &runScope{run: run, before: run.DeepCopy()}
	defer func() {
		if equality.Semantic.DeepEqual(run.Status, s.before.Status) {
			return
		}
		if err := r.Status().Patch(ctx, run, client.MergeFrom(s.before)); err != nil {
			retErr = kerrors.NewAggregate([]error{retErr, err})
		}
	}()
	for _, phase := range []func(context.Context, *runScope) (ctrl.Result, error){
		r.expire,
		r.resolveRelease,
		r.waitForSerial,
		r.ensureJob,
		r.mirrorJob,
	} {
		res, err := phase(ctx, s)
		if err != nil {
			return ctrl.Result{}, err
		}
		result = shortest(result, res)
		if s.done {
			break
		}
	}
	return result, nil
}

// SetupWithManager registers the controller. A change to any run of an app
// wakes the app's waiting serial runs.
func (r *AdminRunReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&tfv1.AdminRun{}).
		Owns(&batchv1.Job{}).
		Watches(&tfv1.AdminRun{}, handler.EnqueueRequestsFromMapFunc(r.serialPeers)).
		WithOptions(controller.Options{MaxConcurrentReconciles: 1}).
		Complete(r)
}

func (r *AdminRunReconciler) serialPeers(ctx context.Context, o client.Object) []reconcile.Request {
	run, ok := o.(*tfv1.AdminRun)
	if !ok || !run.Spec.Serial {
		return nil
	}
	runs := &tfv1.AdminRunList{}
	if err := r.List(ctx, runs, client.InNamespace(run.Namespace)); err != nil {
		return nil
	}
	var reqs []reconcile.Request
	for _, other := range runs.Items {
		if other.Name != run.Name && other.Spec.App == run.Spec.App && other.Spec.Serial && other.Status.JobName == "" {
			reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&other)})
		}
	}
	return reqs
}
