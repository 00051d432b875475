package controller

import (
	"context"
	"fmt"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
	"github.com/twelvefactor/twelvefactor-operator/internal/lifecycle"
	"github.com/twelvefactor/twelvefactor-operator/internal/render"
)

// chooseTarget decides which release the Deployments run
// (lifecycle.ChooseTarget).
func (r *AppReconciler) chooseTarget(ctx context.Context, s *appScope) (ctrl.Result, error) {
	t := lifecycle.ChooseTarget(lifecycle.Releases(s.releases), s.pin(), s.applied)
	s.target, s.pinnedTo = t.Release, t.PinnedTo
	if t.Blocker != nil {
		s.blocker = t.Blocker
	}
	return ctrl.Result{}, nil
}

// trackRollout observes whether every Deployment is Available at the target,
// records a completed or failed rollout on the Release, and returns to the last
// good release when autoRollback is on.
func (r *AppReconciler) trackRollout(ctx context.Context, s *appScope) (ctrl.Result, error) {
	rel := s.release(s.target)
	if rel == nil {
		return ctrl.Result{}, nil
	}
	inRelease := map[string]bool{}
	for _, p := range rel.Spec.Processes {
		inRelease[p.Name] = true
	}
	var stuck []string
	for _, p := range s.app.Spec.Processes {
		if !inRelease[p.Name] {
			continue
		}
		d := s.deployments[p.Name]
		switch {
		case d == nil || render.DeploymentRelease(d) != s.target || !lifecycle.Available(d):
			s.notAvailable = append(s.notAvailable, p.Name)
			if d != nil && render.DeploymentRelease(d) == s.target && lifecycle.DeadlineExceeded(d) {
				stuck = append(stuck, p.Name)
			}
		}
	}
	if len(s.notAvailable) == 0 && rel.Status.Rollout != tfv1.PhaseSucceeded {
		startup, err := r.measureStartup(ctx, s, rel.Spec.Number)
		if err != nil {
			return ctrl.Result{}, err
		}
		rel.Status.Startup = startup
		if err := r.setRollout(ctx, rel, tfv1.PhaseSucceeded, tfv1.ReasonRolloutComplete, "Every process was Available at this release"); err != nil {
			return ctrl.Result{}, err
		}
		r.Recorder.Eventf(s.app, rel, corev1.EventTypeNormal, tfv1.ReasonRolloutComplete, "Rollout", "Release v%d is Available", rel.Spec.Number)
	}
	if len(stuck) == 0 || s.pinnedTo != 0 {
		return ctrl.Result{}, nil
	}
	msg := fmt.Sprintf("Rollout of v%d made no progress within spec.rollout.progressDeadlineSeconds (%v)", rel.Spec.Number, stuck)
	s.rolloutFailed = msg
	latest := s.latest()
	if s.app.Spec.Rollout != nil && s.app.Spec.Rollout.AutoRollback && latest != nil && rel.Spec.Number == latest.Spec.Number {
		if good := s.lastGood(rel.Spec.Number); good != 0 {
			if err := r.setRollout(ctx, rel, tfv1.PhaseFailed, tfv1.ReasonRolloutFailed, msg); err != nil {
				return ctrl.Result{}, err
			}
			r.Recorder.Eventf(s.app, rel, corev1.EventTypeWarning, tfv1.ReasonRolledBack, "Rollback",
				"%s; rolled back to v%d", msg, good)
			rollbacksTotal.Inc()
			// The Release's status change triggers the next pass, which runs v<good>.
		}
	}
	return ctrl.Result{}, nil
}

func (r *AppReconciler) setRollout(ctx context.Context, rel *tfv1.Release, state tfv1.ReleasePhase, reason, msg string) error {
	before := rel.DeepCopy()
	before.Status.Startup = nil
	rel.Status.Rollout = state
	status := metav1.ConditionTrue
	if state == tfv1.PhaseFailed {
		status = metav1.ConditionFalse
	}
	setCondition(&rel.Status.Conditions, tfv1.ConditionRolledOut, status, reason, msg, rel.Generation, r.Clock.Now())
	return r.Status().Patch(ctx, rel, client.MergeFrom(before))
}

// measureStartup reads, once per rollout, how long the release's pods took
// from creation to Ready, per process type (the slowest pod). Pods are read
// live: they are not cached.
func (r *AppReconciler) measureStartup(ctx context.Context, s *appScope, n int32) ([]tfv1.ProcessStartup, error) {
	pods := &corev1.PodList{}
	if err := r.APIReader.List(ctx, pods, client.InNamespace(s.app.Namespace),
		client.MatchingLabels{tfv1.LabelApp: s.app.Name, tfv1.LabelRelease: strconv.Itoa(int(n))}); err != nil {
		return nil, err
	}
	slowest := map[string]int32{}
	for _, p := range pods.Items {
		proc := p.Labels[tfv1.LabelProcess]
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
				secs := int32(c.LastTransitionTime.Sub(p.CreationTimestamp.Time).Round(time.Second).Seconds())
				if cur, ok := slowest[proc]; !ok || secs > cur {
					slowest[proc] = secs
				}
			}
		}
	}
	var out []tfv1.ProcessStartup
	for _, p := range s.app.Spec.Processes {
		if secs, ok := slowest[p.Name]; ok {
			out = append(out, tfv1.ProcessStartup{Name: p.Name, Seconds: secs})
		}
	}
	return out, nil
}
