package controller

import (
	"context"
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
	"github.com/twelvefactor/twelvefactor-operator/internal/release"
	"github.com/twelvefactor/twelvefactor-operator/internal/render"
)

// runScope carries what earlier phases of an AdminRun pass decided.
type runScope struct {
	run    *tfv1.AdminRun
	before *tfv1.AdminRun
	app    *tfv1.TwelveFactorApp
	rel    *tfv1.Release
	job    *batchv1.Job
	// done stops the remaining phases.
	done bool
}

func (s *runScope) finished() bool {
	return s.run.Status.Phase == tfv1.PhaseSucceeded || s.run.Status.Phase == tfv1.PhaseFailed
}

func (r *AdminRunReconciler) setCondition(s *runScope, t string, st metav1.ConditionStatus, reason, msg string) {
	meta.SetStatusCondition(&s.run.Status.Conditions, metav1.Condition{Type: t, Status: st, Reason: reason, Message: msg,
		ObservedGeneration: s.run.Generation, LastTransitionTime: metav1.NewTime(r.Clock.Now())})
}

// fail ends the run without a Job.
func (r *AdminRunReconciler) fail(s *runScope, reason, msg string) {
	s.run.Status.Phase = tfv1.PhaseFailed
	if s.run.Status.CompletionTime == nil {
		now := metav1.NewTime(r.Clock.Now())
		s.run.Status.CompletionTime = &now
	}
	r.setCondition(s, tfv1.ConditionFailed, metav1.ConditionTrue, reason, msg)
	r.setCondition(s, tfv1.ConditionRunning, metav1.ConditionFalse, reason, msg)
	meta.RemoveStatusCondition(&s.run.Status.Conditions, tfv1.ConditionWaiting)
	s.done = true
}

// expire deletes a finished run once its TTL has passed.
func (r *AdminRunReconciler) expire(ctx context.Context, s *runScope) (ctrl.Result, error) {
	if !s.finished() || s.run.Status.CompletionTime == nil {
		return ctrl.Result{}, nil
	}
	ttl := r.TTL
	if s.run.Spec.TTLSecondsAfterFinished != nil {
		ttl = time.Duration(*s.run.Spec.TTLSecondsAfterFinished) * time.Second
	}
	left := s.run.Status.CompletionTime.Add(ttl).Sub(r.Clock.Now())
	if left > 0 {
		s.done = true // a finished run's status is final
		return ctrl.Result{RequeueAfter: left}, nil
	}
	s.done = true
	ctrl.LoggerFrom(ctx).Info("Deleting finished admin run after its TTL", "adminRun", klog.KObj(s.run))
	uid := s.run.UID
	return ctrl.Result{}, client.IgnoreNotFound(r.Delete(ctx, s.run, client.Preconditions{UID: &uid},
		client.PropagationPolicy(metav1.DeletePropagationBackground)))
}

// resolveRelease finds the app and the release to run: spec.release, or the
// app's current release.
func (r *AdminRunReconciler) resolveRelease(ctx context.Context, s *runScope) (ctrl.Result, error) {
	app := &tfv1.TwelveFactorApp{}
	err := r.Get(ctx, client.ObjectKey{Namespace: s.run.Namespace, Name: s.run.Spec.App}, app)
	if apierrors.IsNotFound(err) {
		if s.run.Status.JobName == "" {
			r.fail(s, tfv1.ReasonAppNotFound, fmt.Sprintf("TwelveFactorApp %q named in spec.app does not exist", s.run.Spec.App))
			return ctrl.Result{}, nil
		}
	} else if err != nil {
		return ctrl.Result{}, err
	}
	s.app = app
	n := s.run.Status.Release
	if n == 0 && s.run.Spec.Release != nil {
		n = *s.run.Spec.Release
	}
	if n == 0 {
		n = app.Status.CurrentRelease
	}
	if n == 0 {
		r.setCondition(s, tfv1.ConditionWaiting, metav1.ConditionTrue, tfv1.ReasonReleaseNotFound,
			fmt.Sprintf("App %q has no running release yet; the run starts when it has one", app.Name))
		return ctrl.Result{RequeueAfter: 10 * time.Second}, nil
	}
	rel := &tfv1.Release{}
	err = r.Get(ctx, client.ObjectKey{Namespace: s.run.Namespace, Name: release.Name(app.Name, n)}, rel)
	if apierrors.IsNotFound(err) {
		if s.run.Status.JobName == "" {
			r.fail(s, tfv1.ReasonReleaseNotFound, fmt.Sprintf("Release v%d of app %q does not exist: set spec.release to an existing release or leave it out to use the current one", n, app.Name))
			return ctrl.Result{}, nil
		}
	} else if err != nil {
		return ctrl.Result{}, err
	} else {
		s.rel = rel
	}
	s.run.Status.Release = n
	return ctrl.Result{}, nil
}

// waitForSerial holds a serial run while another serial run of the same app
// is active, or an older one waits. Jobs are read live, so two runs never
// start together even when the cache lags.
func (r *AdminRunReconciler) waitForSerial(ctx context.Context, s *runScope) (ctrl.Result, error) {
	if !s.run.Spec.Serial || s.run.Status.JobName != "" || s.done {
		return ctrl.Result{}, nil
	}
	jobs := &batchv1.JobList{}
	if err := r.APIReader.List(ctx, jobs, client.InNamespace(s.run.Namespace),
		client.MatchingLabels{tfv1.LabelApp: s.run.Spec.App, tfv1.LabelSerial: "true"}); err != nil {
		return ctrl.Result{}, err
	}
	for _, j := range jobs.Items {
		if state, _, _ := render.JobState(&j); state != tfv1.PhaseSucceeded && state != tfv1.PhaseFailed {
			r.setCondition(s, tfv1.ConditionWaiting, metav1.ConditionTrue, tfv1.ReasonWaitingForSerialRun,
				fmt.Sprintf("Waiting for serial run %s of app %q to finish", j.Labels[tfv1.LabelAdminRun], s.run.Spec.App))
			s.run.Status.Phase = tfv1.PhasePending
			s.done = true
			return ctrl.Result{RequeueAfter: 30 * time.Second}, nil
		}
	}
	runs := &tfv1.AdminRunList{}
	if err := r.List(ctx, runs, client.InNamespace(s.run.Namespace)); err != nil {
		return ctrl.Result{}, err
	}
	for _, o := range runs.Items {
		if o.Name == s.run.Name || o.Spec.App != s.run.Spec.App || !o.Spec.Serial || o.Status.JobName != "" ||
			o.Status.Phase == tfv1.PhaseFailed || o.Status.Phase == tfv1.PhaseSucceeded || !o.DeletionTimestamp.IsZero() {
			continue
		}
		older := o.CreationTimestamp.Before(&s.run.CreationTimestamp) ||
			(o.CreationTimestamp.Equal(&s.run.CreationTimestamp) && o.Name < s.run.Name)
		if older {
			r.setCondition(s, tfv1.ConditionWaiting, metav1.ConditionTrue, tfv1.ReasonWaitingForSerialRun,
				fmt.Sprintf("Waiting for older serial run %s of app %q", o.Name, s.run.Spec.App))
			s.run.Status.Phase = tfv1.PhasePending
			s.done = true
			return ctrl.Result{RequeueAfter: 30 * time.Second}, nil
		}
	}
	return ctrl.Result{}, nil
}

// ensureJob creates the run's Job once, from Secrets verified to be the
// release's. A Job under the run's name that the run does not control is
// never mirrored: the run fails with NameConflict.
func (r *AdminRunReconciler) ensureJob(ctx context.Context, s *runScope) (ctrl.Result, error) {
	if s.done {
		return ctrl.Result{}, nil
	}
	key := client.ObjectKey{Namespace: s.run.Namespace, Name: render.AdminJobName(s.run.Name)}
	job := &batchv1.Job{}
	err := r.Get(ctx, key, job)
	if apierrors.IsNotFound(err) {
		// The cache holds only labelled Jobs: a foreign one needs a live read.
		err = r.APIReader.Get(ctx, key, job)
	}
	if err == nil {
		if !controlledBy(job, s.run.UID) {
			if !s.finished() {
				r.fail(s, tfv1.ReasonNameConflict, newConflict("Job", job).message())
			}
			s.done = true
			return ctrl.Result{}, nil
		}
		s.job = job
		s.run.Status.JobName = job.Name
		return ctrl.Result{}, nil
	}
	if !apierrors.IsNotFound(err) {
		return ctrl.Result{}, err
	}
	if s.run.Status.JobName != "" || s.rel == nil || s.app == nil {
		// The Job is gone (deleted, or its release pruned) after it started.
		if !s.finished() && s.run.Status.JobName != "" {
			r.fail(s, tfv1.ReasonJobFailed, fmt.Sprintf("Job %s no longer exists", s.run.Status.JobName))
		}
		return ctrl.Result{}, nil
	}
	states, err := r.secrets.verify(ctx, s.rel)
	if err != nil {
		return ctrl.Result{}, err
	}
	if p := secretProblem(s.rel, states); p != nil {
		if p.Reason == tfv1.ReasonReleaseSecretMissing && s.rel.Spec.Number == s.app.Status.CurrentRelease {
			// The app makes the Secrets of its running release again.
			r.setCondition(s, tfv1.ConditionWaiting, metav1.ConditionTrue, p.Reason, p.Message)
			return ctrl.Result{RequeueAfter: 10 * time.Second}, nil
		}
		r.fail(s, p.Reason, p.Message)
		return ctrl.Result{}, nil
	}
	ac := render.AdminJob(s.app, s.rel, s.run, nil)
	if s.run.Spec.Serial {
		ac.WithLabels(map[string]string{tfv1.LabelSerial: "true"})
	}
	res, err := r.applier.apply(ctx, ac, nil, &batchv1.Job{}, s.run.UID)
	if err != nil {
		return ctrl.Result{}, fmt.Errorf("applying Job of AdminRun %s: %w", s.run.Name, err)
	}
	if res.conflict != nil {
		r.fail(s, tfv1.ReasonNameConflict, res.conflict.message())
		return ctrl.Result{}, nil
	}
	s.run.Status.JobName = render.AdminJobName(s.run.Name)
	s.run.Status.Phase = tfv1.PhasePending
	meta.RemoveStatusCondition(&s.run.Status.Conditions, tfv1.ConditionWaiting)
	r.setCondition(s, tfv1.ConditionRunning, metav1.ConditionTrue, tfv1.ReasonJobCreated,
		fmt.Sprintf("Job %s runs release v%d", s.run.Status.JobName, s.rel.Spec.Number))
	r.Recorder.Eventf(s.run, nil, corev1.EventTypeNormal, tfv1.ReasonJobCreated, "Run",
		"Running %v from release v%d", s.run.Spec.Command, s.rel.Spec.Number)
	return ctrl.Result{}, nil
}

// mirrorJob copies the Job's state into the run's status.
func (r *AdminRunReconciler) mirrorJob(ctx context.Context, s *runScope) (ctrl.Result, error) {
	if s.done || s.job == nil {
		return ctrl.Result{}, nil
	}
	job := s.job
	if job.Status.StartTime != nil {
		s.run.Status.StartTime = job.Status.StartTime.DeepCopy()
	}
	if s.run.Status.PodName == "" || !s.finished() {
		pods := &corev1.PodList{}
		if err := r.APIReader.List(ctx, pods, client.InNamespace(job.Namespace), client.MatchingLabels{"batch.kubernetes.io/job-name": job.Name}); err != nil {
			return ctrl.Result{}, err
		}
		var newest *corev1.Pod
		for i := range pods.Items {
			if p := &pods.Items[i]; newest == nil || newest.CreationTimestamp.Before(&p.CreationTimestamp) {
				newest = p
			}
		}
		if newest != nil {
			s.run.Status.PodName = newest.Name
		}
	}
	state, _, _ := render.JobState(job)
	switch state {
	case tfv1.PhaseSucceeded:
		s.run.Status.Phase = tfv1.PhaseSucceeded
		s.run.Status.CompletionTime = completion(job, r.Clock.Now())
		r.setCondition(s, tfv1.ConditionSucceeded, metav1.ConditionTrue, tfv1.ReasonJobSucceeded, "The run succeeded")
		r.setCondition(s, tfv1.ConditionRunning, metav1.ConditionFalse, tfv1.ReasonJobSucceeded, "The run finished")
	case tfv1.PhaseFailed:
		s.run.Status.Phase = tfv1.PhaseFailed
		s.run.Status.CompletionTime = completion(job, r.Clock.Now())
		r.setCondition(s, tfv1.ConditionFailed, metav1.ConditionTrue, tfv1.ReasonJobFailed, render.JobFailure(job, "The run", "spec.activeDeadlineSeconds"))
		r.setCondition(s, tfv1.ConditionRunning, metav1.ConditionFalse, tfv1.ReasonJobFailed, "The run finished")
	case tfv1.PhaseRunning:
		s.run.Status.Phase = tfv1.PhaseRunning
	}
	if s.finished() {
		return r.expire(ctx, s)
	}
	return ctrl.Result{}, nil
}

func completion(job *batchv1.Job, now time.Time) *metav1.Time {
	if job.Status.CompletionTime != nil {
		return job.Status.CompletionTime.DeepCopy()
	}
	for _, c := range job.Status.Conditions {
		if (c.Type == batchv1.JobFailed || c.Type == batchv1.JobComplete) && c.Status == corev1.ConditionTrue {
			t := c.LastTransitionTime
			return &t
		}
	}
	t := metav1.NewTime(now)
	return &t
}
