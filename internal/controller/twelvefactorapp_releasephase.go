package controller

import (
	"context"
	"fmt"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
	"github.com/twelvefactor/twelvefactor-operator/internal/release"
	"github.com/twelvefactor/twelvefactor-operator/internal/render"
)

// runReleasePhase runs the latest release's release command as a Job, and
// records its outcome on the Release. Nothing runs while the app is pinned.
func (r *AppReconciler) runReleasePhase(ctx context.Context, s *appScope) (ctrl.Result, error) {
	rel := s.latest()
	if rel == nil || len(rel.Spec.ReleaseCommand) == 0 || s.pin() != 0 {
		return ctrl.Result{}, nil
	}
	if rel.Status.ReleasePhase == tfv1.PhaseSucceeded || rel.Status.ReleasePhase == tfv1.PhaseFailed {
		return ctrl.Result{}, nil
	}
	key := client.ObjectKey{Namespace: rel.Namespace, Name: release.JobName(s.app.Name, rel.Spec.Number)}
	job := &batchv1.Job{}
	err := r.Get(ctx, key, job)
	if apierrors.IsNotFound(err) {
		// The cache holds only labelled Jobs: a foreign one needs a live read.
		err = r.APIReader.Get(ctx, key, job)
	}
	if err == nil && !controlledBy(job, rel.UID) {
		// Never taken as the release phase: the release stays gated.
		s.problems = append(s.problems, problem{Reason: tfv1.ReasonNameConflict, Message: newConflict("Job", job).message()})
		return ctrl.Result{RequeueAfter: r.RetryAfter}, nil
	}
	if apierrors.IsNotFound(err) {
		states, err := r.secrets.verify(ctx, rel)
		if err != nil {
			return ctrl.Result{}, err
		}
		if p := secretProblem(rel, states); p != nil {
			s.problems = append(s.problems, *p)
			return ctrl.Result{RequeueAfter: r.RetryAfter}, nil
		}
		res, err := r.applier.apply(ctx, render.ReleaseJob(s.app, rel, nil), nil, &batchv1.Job{}, rel.UID)
		if err != nil {
			s.problems = append(s.problems, problem{Reason: tfv1.ReasonApplyFailed, Message: fmt.Sprintf(
				"The API server refused the release phase Job %q: %v", key.Name, err)})
			return ctrl.Result{RequeueAfter: r.RetryAfter}, nil
		}
		if res.conflict != nil {
			s.problems = append(s.problems, problem{Reason: tfv1.ReasonNameConflict, Message: res.conflict.message()})
			return ctrl.Result{RequeueAfter: r.RetryAfter}, nil
		}
		return ctrl.Result{}, r.setReleasePhase(ctx, rel, tfv1.PhaseRunning, "", "")
	}
	if err != nil {
		return ctrl.Result{}, err
	}
	state, reason, msg := render.JobState(job)
	if state == tfv1.PhasePending {
		state = tfv1.PhaseRunning
	}
	if state == tfv1.PhaseFailed {
		r.Recorder.Eventf(s.app, rel, corev1.EventTypeWarning, tfv1.ReasonReleasePhaseFailed, "ReleasePhase",
			"Release phase of v%d failed (%s); the previous release keeps serving", rel.Spec.Number, reason)
	}
	if state == tfv1.PhaseSucceeded {
		releasePhaseDuration.Observe(jobDuration(job))
	}
	if state == tfv1.PhaseFailed {
		msg = render.JobFailure(job, fmt.Sprintf("The release phase of v%d (Job %s)", rel.Spec.Number, job.Name), "spec.release.activeDeadlineSeconds")
	}
	return ctrl.Result{}, r.setReleasePhase(ctx, rel, state, reason, msg)
}

func jobDuration(job *batchv1.Job) float64 {
	if job.Status.StartTime == nil || job.Status.CompletionTime == nil {
		return 0
	}
	return job.Status.CompletionTime.Sub(job.Status.StartTime.Time).Seconds()
}

// setReleasePhase records the release phase on the Release, if it changed.
func (r *AppReconciler) setReleasePhase(ctx context.Context, rel *tfv1.Release, state tfv1.ReleasePhase, reason, msg string) error {
	if rel.Status.ReleasePhase == state {
		return nil
	}
	before := rel.DeepCopy()
	rel.Status.ReleasePhase = state
	status := metav1.ConditionUnknown
	condReason := tfv1.ReasonReleasePhaseRunning
	message := fmt.Sprintf("Release phase Job %s is running", release.JobName(rel.Spec.App, rel.Spec.Number))
	switch state {
	case tfv1.PhaseSucceeded:
		status, condReason, message = metav1.ConditionTrue, tfv1.ReasonReleasePhaseSucceed, "Release phase succeeded"
	case tfv1.PhaseFailed:
		status, condReason = metav1.ConditionFalse, tfv1.ReasonReleasePhaseFailed
		message = msg
	}
	setCondition(&rel.Status.Conditions, tfv1.ConditionReleasePhaseSucceeded, status, condReason, strings.TrimSpace(message), rel.Generation, r.Clock.Now())
	return r.Status().Patch(ctx, rel, client.MergeFrom(before))
}
