package controller

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
	"github.com/twelvefactor/twelvefactor-operator/internal/policy"
)

// checkPolicy runs the twelve-factor rules on the spec and what the pass
// observed. In enforce mode a failing rule blocks the release (Stalled) and
// leaves the running release untouched; in warn mode it is only reported.
func (r *AppReconciler) checkPolicy(ctx context.Context, s *appScope) (ctrl.Result, error) {
	obs := policy.Observations{StartupWarnSeconds: r.StartupWarnSeconds}
	if s.content != nil {
		obs.ImageDigest = s.content.Image
		if s.content.Env != nil {
			obs.ConfigKeys = s.content.Keys()
		} else if latest := s.latest(); latest != nil {
			obs.ConfigKeys = latest.Spec.ConfigKeys // reused: the same content
		}
	}
	if p := s.app.Spec.Promotion; p != nil {
		up := &tfv1.TwelveFactorApp{}
		err := r.Get(ctx, client.ObjectKey{Namespace: s.app.Namespace, Name: p.From}, up)
		if err != nil && !apierrors.IsNotFound(err) {
			return ctrl.Result{}, err
		}
		if err == nil && up.Status.Image != "" {
			obs.UpstreamDigest = &up.Status.Image
		}
	}
	if rel := s.release(s.applied); rel != nil {
		for _, su := range rel.Status.Startup {
			if obs.StartupSeconds == nil {
				obs.StartupSeconds = map[string]float64{}
			}
			obs.StartupSeconds[su.Name] = float64(su.Seconds)
		}
	}
	s.factors = policy.Evaluate(s.app, obs)

	ns := &corev1.Namespace{}
	if err := r.Get(ctx, client.ObjectKey{Name: s.app.Namespace}, ns); err != nil {
		return ctrl.Result{}, err
	}
	s.policyMode = policy.Mode(ns.Labels, r.DefaultPolicy)
	if s.policyMode != tfv1.PolicyEnforce || s.blocker != nil {
		return ctrl.Result{}, nil
	}
	for _, f := range s.factors {
		if f.Status == tfv1.FactorFail {
			s.blocker = &blocker{Stalled: true, Reason: f.Reason, Message: fmt.Sprintf(
				"Factor %s fails and namespace %s enforces the twelve factors, so no release is made: %s", f.Factor, s.app.Namespace, f.Message)}
			return ctrl.Result{}, nil
		}
	}
	return ctrl.Result{}, nil
}

// setCompliance writes the factors and the TwelveFactorCompliant condition,
// and records an event when compliance changes.
func (r *AppReconciler) setCompliance(st *tfv1.TwelveFactorAppStatus, s *appScope) {
	if s.factors == nil {
		return
	}
	st.Factors = s.factors
	worst, reason, msg := policy.Summary(s.factors)
	status := "True"
	if worst == tfv1.FactorFail {
		status = "False"
	}
	prev := meta.FindStatusCondition(s.before.Status.Conditions, tfv1.ConditionTwelveFactorCompliant)
	setCondition(&st.Conditions, tfv1.ConditionTwelveFactorCompliant, metaStatus(status), reason, msg, s.app.Generation, r.Clock.Now())
	// An event marks a change. A first evaluation is in the status; only a
	// failing one is worth a Warning event.
	first := prev == nil && worst == tfv1.FactorFail
	if first || (prev != nil && (string(prev.Status) != status || prev.Reason != reason)) {
		evType := corev1.EventTypeNormal
		if worst == tfv1.FactorFail {
			evType = corev1.EventTypeWarning
		}
		r.Recorder.Eventf(s.app, nil, evType, reason, "Policy", "Twelve-factor compliance is now %s (%s mode)", worst, s.policyMode)
	}
}
