package controller

import (
	"context"
	"sync"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
)

// refIndex indexes TwelveFactorApps by the ConfigMaps and Secrets they read.
const refIndex = "twelvefactor.dev/references"

const (
	refConfigMap = "configmap/"
	refSecret    = "secret/"
)

// appReferences lists the objects an app's content depends on.
func appReferences(app *tfv1.TwelveFactorApp) []string {
	var refs []string
	for _, src := range app.Spec.Config.EnvFrom {
		if src.ConfigMapRef != nil {
			refs = append(refs, refConfigMap+src.ConfigMapRef.Name)
		}
		if src.SecretRef != nil {
			refs = append(refs, refSecret+src.SecretRef.Name)
		}
	}
	for _, svc := range app.Spec.Services {
		if svc.SecretRef != nil {
			refs = append(refs, refSecret+svc.SecretRef.Name)
		}
		if r := svc.ServiceRef; r != nil {
			refs = append(refs, serviceRefKey(r.APIVersion, r.Kind, r.Name))
		}
	}
	return refs
}

func indexAppReferences(mgr ctrl.Manager) error {
	return mgr.GetFieldIndexer().IndexField(context.Background(), &tfv1.TwelveFactorApp{}, refIndex,
		func(o client.Object) []string { return appReferences(o.(*tfv1.TwelveFactorApp)) })
}

// appsReferencing maps a ConfigMap or Secret to the apps that read it.
func (r *AppReconciler) appsReferencing(prefix string) handler.MapFunc {
	return func(ctx context.Context, o client.Object) []reconcile.Request {
		return r.appRequests(ctx, "apps that reference an object", client.InNamespace(o.GetNamespace()), client.MatchingFields{refIndex: prefix + o.GetName()})
	}
}

// appRequests lists the apps the options select, as requests.
func (r *AppReconciler) appRequests(ctx context.Context, what string, opts ...client.ListOption) []reconcile.Request {
	apps := &tfv1.TwelveFactorAppList{}
	if err := r.List(ctx, apps, opts...); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "Listing "+what)
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(apps.Items))
	for _, a := range apps.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&a)})
	}
	return reqs
}

// appFromLabel maps an object labelled with its app to that app.
func appFromLabel(_ context.Context, o client.Object) []reconcile.Request {
	app := o.GetLabels()[tfv1.LabelApp]
	if app == "" || o.GetLabels()[tfv1.LabelManagedBy] != tfv1.ManagedByValue {
		return nil
	}
	return []reconcile.Request{{NamespacedName: client.ObjectKey{Namespace: o.GetNamespace(), Name: app}}}
}

// serviceRefKey is the index key of a Provisioned Service.
func serviceRefKey(apiVersion, kind, name string) string {
	gv, _ := schema.ParseGroupVersion(apiVersion)
	return "service/" + gv.Group + "/" + kind + "/" + name
}

// provisionedServiceWatcher starts one metadata-free unstructured watch per
// Provisioned Service kind, the first time an app references that kind.
type provisionedServiceWatcher struct {
	mu      sync.Mutex
	started map[schema.GroupVersionKind]bool
	ctrl    controller.Controller
	cache   cache.Cache
	r       *AppReconciler
}

func (w *provisionedServiceWatcher) watch(gvk schema.GroupVersionKind) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.started[gvk] {
		return nil
	}
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvk)
	mapFn := func(ctx context.Context, o *unstructured.Unstructured) []reconcile.Request {
		apps := &tfv1.TwelveFactorAppList{}
		key := serviceRefKey(gvk.GroupVersion().String(), gvk.Kind, o.GetName())
		if err := w.r.List(ctx, apps, client.InNamespace(o.GetNamespace()), client.MatchingFields{refIndex: key}); err != nil {
			return nil
		}
		reqs := make([]reconcile.Request, 0, len(apps.Items))
		for _, a := range apps.Items {
			reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&a)})
		}
		return reqs
	}
	if err := w.ctrl.Watch(source.Kind(w.cache, u, handler.TypedEnqueueRequestsFromMapFunc(mapFn))); err != nil {
		return err
	}
	w.started[gvk] = true
	return nil
}

// releaseSecretDeleted wakes the app whose release Secret was deleted, so that
// it is made again (or reported) at once. Creations and updates of release
// Secrets are the operator's own or cannot change their data (immutable).
var releaseSecretDeleted = handler.Funcs{
	DeleteFunc: func(ctx context.Context, e event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
		if e.Object.GetLabels()[tfv1.LabelSecretKind] == "" {
			return
		}
		for _, req := range appFromLabel(ctx, e.Object) {
			q.Add(req)
		}
	},
}

// promotionIndex indexes TwelveFactorApps by the app they are promoted from.
const promotionIndex = "twelvefactor.dev/promotion-from"

func indexPromotions(mgr ctrl.Manager) error {
	return mgr.GetFieldIndexer().IndexField(context.Background(), &tfv1.TwelveFactorApp{}, promotionIndex,
		func(o client.Object) []string {
			if p := o.(*tfv1.TwelveFactorApp).Spec.Promotion; p != nil && p.From != "" {
				return []string{p.From}
			}
			return nil
		})
}

// appsPromotedFrom maps an app to the apps promoted from it, whose factor X
// verdict follows the digest it runs.
func (r *AppReconciler) appsPromotedFrom(ctx context.Context, o client.Object) []reconcile.Request {
	return r.appRequests(ctx, "apps promoted from an app", client.InNamespace(o.GetNamespace()), client.MatchingFields{promotionIndex: o.GetName()})
}

// runningImageChanged passes an app whose status.image changed: the apps
// promoted from it compare digests with it.
var runningImageChanged = predicate.Funcs{
	CreateFunc:  func(event.CreateEvent) bool { return true },
	DeleteFunc:  func(event.DeleteEvent) bool { return true },
	GenericFunc: func(event.GenericEvent) bool { return false },
	UpdateFunc: func(e event.UpdateEvent) bool {
		o, ok1 := e.ObjectOld.(*tfv1.TwelveFactorApp)
		n, ok2 := e.ObjectNew.(*tfv1.TwelveFactorApp)
		return ok1 && ok2 && o.Status.Image != n.Status.Image
	},
}

// appsInNamespace maps a Namespace to its apps: its policy label decides
// whether a failing rule blocks them.
func (r *AppReconciler) appsInNamespace(ctx context.Context, o client.Object) []reconcile.Request {
	return r.appRequests(ctx, "apps of a namespace", client.InNamespace(o.GetName()))
}

// policyLabelChanged passes a Namespace whose policy label changed.
var policyLabelChanged = predicate.Funcs{
	CreateFunc:  func(event.CreateEvent) bool { return false },
	DeleteFunc:  func(event.DeleteEvent) bool { return false },
	GenericFunc: func(event.GenericEvent) bool { return false },
	UpdateFunc: func(e event.UpdateEvent) bool {
		return e.ObjectOld.GetLabels()[tfv1.LabelPolicy] != e.ObjectNew.GetLabels()[tfv1.LabelPolicy]
	},
}
