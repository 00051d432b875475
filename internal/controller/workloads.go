package controller

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
	"github.com/twelvefactor/twelvefactor-operator/internal/release"
	"github.com/twelvefactor/twelvefactor-operator/internal/render"
)

// Fields other managers may set on a Deployment without it being drift: the
// replica count an HPA sets (when the operator sets replicas, a change of its
// value is drift all the same), and the restart annotation of
// `kubectl rollout restart`.
var deploymentIgnore = []fieldpath.Path{
	fieldpath.MakePathOrDie("spec", "replicas"),
	fieldpath.MakePathOrDie("spec", "template", "metadata", "annotations", "kubectl.kubernetes.io/restartedAt"),
}

// applyWorkloads applies the Deployment, Service, PDB and HPA of each process
// type at the target release, and deletes those of process types that the
// spec or the target release does not have. It writes only objects the app
// controls; a foreign object under a derived name, or a write the API server
// refuses, becomes a problem of that process, and the other processes go on.
func (r *AppReconciler) applyWorkloads(ctx context.Context, s *appScope) (ctrl.Result, error) {
	rel := s.release(s.target)
	if rel == nil {
		return ctrl.Result{}, nil
	}
	states, err := r.secrets.verify(ctx, rel)
	if err != nil {
		return ctrl.Result{}, err
	}
	if p := secretProblem(rel, states); p != nil {
		// Nothing is rolled out from Secrets that are not the release's.
		s.problems = append(s.problems, *p)
		return ctrl.Result{RequeueAfter: r.RetryAfter}, nil
	}
	commands := map[string][]string{}
	for _, p := range rel.Spec.Processes {
		commands[p.Name] = p.Command
	}
	owned, err := r.ownedObjects(ctx, s)
	if err != nil {
		return ctrl.Result{}, err
	}
	keep := map[string]bool{}
	for _, p := range s.app.Spec.Processes {
		cmd, ok := commands[p.Name]
		if !ok {
			// Not in this release (a rollback to a release before it was
			// added): it does not run.
			s.outOfRelease = append(s.outOfRelease, p.Name)
			continue
		}
		keep[p.Name] = true
		name := release.ProcessName(s.app.Name, p.Name)
		desired := []applyItem{
			{kind: "Deployment", obj: render.Deployment(s.app, rel, p, cmd)},
			{kind: "Service", obj: nilIfNil(render.Service(s.app, p))},
			{kind: "PodDisruptionBudget", obj: nilIfNil(render.PodDisruptionBudget(s.app, p))},
			{kind: "HorizontalPodAutoscaler", obj: nilIfNil(render.HorizontalPodAutoscaler(s.app, p))},
		}
		for _, d := range desired {
			existing := owned[d.kind][name]
			if d.obj == nil {
				if existing != nil {
					if err := r.deleteOwned(ctx, existing); err != nil {
						return ctrl.Result{}, err
					}
				}
				continue
			}
			var ignore []fieldpath.Path
			if d.kind == "Deployment" {
				ignore = deploymentIgnore
			}
			res, err := r.applier.apply(ctx, d.obj.(namedApply), existing, emptyOf(d.kind), s.app.UID, ignore...)
			switch {
			case err != nil:
				s.problems = append(s.problems, problem{Reason: tfv1.ReasonApplyFailed, Message: fmt.Sprintf(
					"The API server refused %s %q of process %s: %v", d.kind, name, p.Name, err)})
			case res.conflict != nil:
				s.problems = append(s.problems, problem{Reason: tfv1.ReasonNameConflict, Message: res.conflict.message()})
			case res.wrote && d.kind == "Deployment":
				s.deploymentsApplied = true
			}
		}
	}
	for _, objs := range owned {
		for _, o := range objs {
			if p := o.GetLabels()[tfv1.LabelProcess]; p != "" && !keep[p] {
				if err := r.deleteOwned(ctx, o); err != nil {
					return ctrl.Result{}, err
				}
			}
		}
	}
	if len(s.problems) > 0 {
		return ctrl.Result{RequeueAfter: r.RetryAfter}, nil
	}
	return ctrl.Result{}, nil
}

func emptyOf(kind string) client.Object {
	switch kind {
	case "Deployment":
		return &appsv1.Deployment{}
	case "Service":
		return &corev1.Service{}
	case "PodDisruptionBudget":
		return &policyv1.PodDisruptionBudget{}
	case "HorizontalPodAutoscaler":
		return &autoscalingv2.HorizontalPodAutoscaler{}
	}
	panic("unknown kind " + kind)
}

// ownedObjects lists the app's Deployments, Services, PDBs and HPAs from the
// cache, by kind and name: only those the app controls.
func (r *AppReconciler) ownedObjects(ctx context.Context, s *appScope) (map[string]map[string]client.Object, error) {
	out := map[string]map[string]client.Object{}
	add := func(kind string, o client.Object) {
		if !controlledBy(o, s.app.UID) {
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

// deleteOwned deletes an object the app controls, guarded by its UID.
func (r *AppReconciler) deleteOwned(ctx context.Context, o client.Object) error {
	uid := o.GetUID()
	r.applier.forget(uid)
	return client.IgnoreNotFound(r.Delete(ctx, o, client.Preconditions{UID: &uid}))
}
