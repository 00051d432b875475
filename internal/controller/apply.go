package controller

import (
	"context"
	"reflect"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/runtime"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	autoscalingv2ac "k8s.io/client-go/applyconfigurations/autoscaling/v2"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	policyv1ac "k8s.io/client-go/applyconfigurations/policy/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
	"github.com/twelvefactor/twelvefactor-operator/internal/render"
)

// applyItem is one object to apply, or to delete when obj is nil.
type applyItem struct {
	kind string
	obj  runtime.ApplyConfiguration
}

// nilIfNil turns a typed nil pointer into a nil interface.
func nilIfNil(ac runtime.ApplyConfiguration) runtime.ApplyConfiguration {
	if ac == nil || reflect.ValueOf(ac).IsNil() {
		return nil
	}
	return ac
}

// stamp records the hash of an apply configuration in an annotation on it.
func stamp(ac runtime.ApplyConfiguration) string {
	h := render.Hash(ac)
	a := map[string]string{render.AppliedHashAnnotation: h}
	switch o := ac.(type) {
	case *appsv1ac.DeploymentApplyConfiguration:
		o.WithAnnotations(a)
	case *corev1ac.ServiceApplyConfiguration:
		o.WithAnnotations(a)
	case *policyv1ac.PodDisruptionBudgetApplyConfiguration:
		o.WithAnnotations(a)
	case *autoscalingv2ac.HorizontalPodAutoscalerApplyConfiguration:
		o.WithAnnotations(a)
	}
	return h
}

// applyIfChanged applies an object with server-side apply under the operator's
// field owner, unless the cached object already carries the same applied hash.
// A steady state therefore sends no request at all.
// It reports whether it sent the apply.
func (r *AppReconciler) applyIfChanged(ctx context.Context, ac runtime.ApplyConfiguration, existing client.Object) (bool, error) {
	h := stamp(ac)
	if existing != nil && existing.GetAnnotations()[render.AppliedHashAnnotation] == h && !drifted(existing) {
		return false, nil
	}
	return true, r.Apply(ctx, ac, client.FieldOwner(tfv1.FieldManager), client.ForceOwnership)
}

// drifted reports whether another field manager changed fields we set on a
// Deployment: its image or, when we own it, its replica count.
func drifted(obj client.Object) bool {
	d, ok := obj.(*appsv1.Deployment)
	if !ok {
		return false
	}
	for _, mf := range d.ManagedFields {
		if mf.Manager == tfv1.FieldManager || mf.Manager == "kube-controller-manager" || mf.Subresource != "" {
			continue
		}
		if mf.FieldsV1 == nil {
			continue
		}
		raw := string(mf.FieldsV1.Raw)
		if containsAny(raw, `"f:image"`, `"f:replicas"`, `"f:command"`, `"f:envFrom"`) {
			return true
		}
	}
	return false
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// ownedObjects lists the app's Deployments, Services, PDBs and HPAs from the
// cache, by kind and name.
func (r *AppReconciler) ownedObjects(ctx context.Context, s *appScope) (map[string]map[string]client.Object, error) {
	out := map[string]map[string]client.Object{}
	add := func(kind string, o client.Object) {
		if !ownedBy(o, s.app.UID) {
			return
		}
		if out[kind] == nil {
			out[kind] = map[string]client.Object{}
		}
		out[kind][o.GetName()] = o
	}
	for _, d := range s.deployments {
		add("Deployment", d)
	}
	svcs := &corev1.ServiceList{}
	if err := r.List(ctx, svcs, client.InNamespace(s.app.Namespace), s.selector()); err != nil {
		return nil, err
	}
	for i := range svcs.Items {
		add("Service", &svcs.Items[i])
	}
	pdbs := &policyv1.PodDisruptionBudgetList{}
	if err := r.List(ctx, pdbs, client.InNamespace(s.app.Namespace), s.selector()); err != nil {
		return nil, err
	}
	for i := range pdbs.Items {
		add("PodDisruptionBudget", &pdbs.Items[i])
	}
	hpas := &autoscalingv2.HorizontalPodAutoscalerList{}
	if err := r.List(ctx, hpas, client.InNamespace(s.app.Namespace), s.selector()); err != nil {
		return nil, err
	}
	for i := range hpas.Items {
		add("HorizontalPodAutoscaler", &hpas.Items[i])
	}
	return out, nil
}

// deleteOwned deletes an object the app owns, guarded by its UID.
func (r *AppReconciler) deleteOwned(ctx context.Context, o client.Object) error {
	uid := o.GetUID()
	return client.IgnoreNotFound(r.Delete(ctx, o, client.Preconditions{UID: &uid}))
}
