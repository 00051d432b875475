package render

import (
	"fmt"
	"sort"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	autoscalingv2ac "k8s.io/client-go/applyconfigurations/autoscaling/v2"
	batchv1ac "k8s.io/client-go/applyconfigurations/batch/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	policyv1ac "k8s.io/client-go/applyconfigurations/policy/v1"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
	"github.com/twelvefactor/twelvefactor-operator/internal/release"
)

// Replicas returns the fixed replica count of a process, or nil when an HPA owns it.
func Replicas(p tfv1.ProcessSpec) *int32 {
	if p.Autoscaling != nil {
		return nil
	}
	if p.Replicas != nil {
		return p.Replicas
	}
	one := int32(1)
	return &one
}

func minReplicas(p tfv1.ProcessSpec) int32 {
	if p.Autoscaling != nil {
		if p.Autoscaling.MinReplicas != nil {
			return *p.Autoscaling.MinReplicas
		}
		return 1
	}
	return *Replicas(p)
}

// ProgressDeadline returns the rollout progress deadline in seconds.
func ProgressDeadline(app *tfv1.TwelveFactorApp) int32 {
	if r := app.Spec.Rollout; r != nil && r.ProgressDeadlineSeconds != nil {
		return *r.ProgressDeadlineSeconds
	}
	return tfv1.DefaultProgressDeadlineSeconds
}

// Deployment renders the Deployment of process p at release rel. The name is
// stable across releases; the pod template carries the release. With
// autoscaling, replicas is left out so the HPA owns it.
func Deployment(app *tfv1.TwelveFactorApp, rel *tfv1.Release, p tfv1.ProcessSpec, command []string) *appsv1ac.DeploymentApplyConfiguration {
	tmpl := PodTemplate(PodInput{
		App: app, Release: rel, Process: p.Name, Command: command, Port: p.Port,
		Resources: p.Resources, RestartPolicy: corev1.RestartPolicyAlways,
	})
	labels := Labels(app.Name, p.Name)
	labels[tfv1.LabelProcess] = p.Name
	strategy := appsv1ac.RollingUpdateDeployment().WithMaxUnavailable(intstr.FromInt32(0)).WithMaxSurge(intstr.FromString("25%"))
	spec := appsv1ac.DeploymentSpec().
		WithSelector(metav1ac.LabelSelector().WithMatchLabels(SelectorLabels(app.Name, p.Name))).
		WithTemplate(tmpl).
		WithStrategy(appsv1ac.DeploymentStrategy().WithType(appsv1.RollingUpdateDeploymentStrategyType).WithRollingUpdate(strategy)).
		WithProgressDeadlineSeconds(ProgressDeadline(app)).
		WithRevisionHistoryLimit(2)
	if r := Replicas(p); r != nil {
		spec.WithReplicas(*r)
	}
	return appsv1ac.Deployment(release.ProcessName(app.Name, p.Name), app.Namespace).
		WithLabels(labels).
		WithOwnerReferences(AppOwner(app).ref()).
		WithSpec(spec)
}

// Service renders the ClusterIP Service of a process with a port, or nil.
func Service(app *tfv1.TwelveFactorApp, p tfv1.ProcessSpec) *corev1ac.ServiceApplyConfiguration {
	if p.Port == nil {
		return nil
	}
	labels := Labels(app.Name, p.Name)
	labels[tfv1.LabelProcess] = p.Name
	return corev1ac.Service(release.ProcessName(app.Name, p.Name), app.Namespace).
		WithLabels(labels).
		WithOwnerReferences(AppOwner(app).ref()).
		WithSpec(corev1ac.ServiceSpec().
			WithType(corev1.ServiceTypeClusterIP).
			WithSessionAffinity(corev1.ServiceAffinityNone).
			WithSelector(SelectorLabels(app.Name, p.Name)).
			WithPorts(corev1ac.ServicePort().WithName("http").WithProtocol(corev1.ProtocolTCP).
				WithPort(*p.Port).WithTargetPort(intstr.FromString("http"))))
}

// PodDisruptionBudget renders a PDB for a process that runs more than one
// replica, or nil.
func PodDisruptionBudget(app *tfv1.TwelveFactorApp, p tfv1.ProcessSpec) *policyv1ac.PodDisruptionBudgetApplyConfiguration {
	if minReplicas(p) <= 1 {
		return nil
	}
	labels := Labels(app.Name, p.Name)
	labels[tfv1.LabelProcess] = p.Name
	return policyv1ac.PodDisruptionBudget(release.ProcessName(app.Name, p.Name), app.Namespace).
		WithLabels(labels).
		WithOwnerReferences(AppOwner(app).ref()).
		WithSpec(policyv1ac.PodDisruptionBudgetSpec().
			WithMaxUnavailable(intstr.FromInt32(1)).
			WithSelector(metav1ac.LabelSelector().WithMatchLabels(SelectorLabels(app.Name, p.Name))))
}

// HorizontalPodAutoscaler renders the HPA of an autoscaled process, or nil.
func HorizontalPodAutoscaler(app *tfv1.TwelveFactorApp, p tfv1.ProcessSpec) *autoscalingv2ac.HorizontalPodAutoscalerApplyConfiguration {
	a := p.Autoscaling
	if a == nil {
		return nil
	}
	target := int32(80)
	if a.TargetCPUUtilizationPercentage != nil {
		target = *a.TargetCPUUtilizationPercentage
	}
	labels := Labels(app.Name, p.Name)
	labels[tfv1.LabelProcess] = p.Name
	return autoscalingv2ac.HorizontalPodAutoscaler(release.ProcessName(app.Name, p.Name), app.Namespace).
		WithLabels(labels).
		WithOwnerReferences(AppOwner(app).ref()).
		WithSpec(autoscalingv2ac.HorizontalPodAutoscalerSpec().
			WithScaleTargetRef(autoscalingv2ac.CrossVersionObjectReference().
				WithAPIVersion("apps/v1").WithKind("Deployment").WithName(release.ProcessName(app.Name, p.Name))).
			WithMinReplicas(minReplicas(p)).
			WithMaxReplicas(a.MaxReplicas).
			WithMetrics(autoscalingv2ac.MetricSpec().WithType(autoscalingv2.ResourceMetricSourceType).
				WithResource(autoscalingv2ac.ResourceMetricSource().WithName(corev1.ResourceCPU).
					WithTarget(autoscalingv2ac.MetricTarget().WithType(autoscalingv2.UtilizationMetricType).
						WithAverageUtilization(target)))))
}

// ReleaseJob renders release N's release phase Job, owned by the Release.
func ReleaseJob(app *tfv1.TwelveFactorApp, rel *tfv1.Release, extraLabels map[string]string) *batchv1ac.JobApplyConfiguration {
	backoff, deadline := int32(tfv1.DefaultReleaseBackoffLimit), int64(tfv1.DefaultReleaseActiveDeadline)
	if r := app.Spec.Release; r != nil {
		if r.BackoffLimit != nil {
			backoff = *r.BackoffLimit
		}
		if r.ActiveDeadlineSeconds != nil {
			deadline = *r.ActiveDeadlineSeconds
		}
	}
	tmpl := PodTemplate(PodInput{
		App: app, Release: rel, Process: "release", Command: rel.Spec.ReleaseCommand,
		RestartPolicy: corev1.RestartPolicyNever, ExtraLabels: extraLabels,
	})
	return batchv1ac.Job(release.JobName(app.Name, rel.Spec.Number), app.Namespace).
		WithLabels(ReleaseLabels(app.Name, "release", rel.Spec.Number)).
		WithOwnerReferences(ReleaseOwner(rel).ref()).
		WithSpec(batchv1ac.JobSpec().
			WithBackoffLimit(backoff).
			WithActiveDeadlineSeconds(deadline).
			WithTTLSecondsAfterFinished(tfv1.DefaultJobTTLSecondsAfterFinished).
			WithTemplate(tmpl))
}

// AdminJob renders the Job of an AdminRun from release rel, owned by the run.
func AdminJob(app *tfv1.TwelveFactorApp, rel *tfv1.Release, run *tfv1.AdminRun, extraLabels map[string]string) *batchv1ac.JobApplyConfiguration {
	deadline := int64(3600)
	if run.Spec.ActiveDeadlineSeconds != nil {
		deadline = *run.Spec.ActiveDeadlineSeconds
	}
	tmpl := PodTemplate(PodInput{
		App: app, Release: rel, Process: "run", Command: run.Spec.Command,
		RestartPolicy: corev1.RestartPolicyNever, ExtraLabels: extraLabels,
	})
	labels := ReleaseLabels(app.Name, "run", rel.Spec.Number)
	labels[tfv1.LabelAdminRun] = run.Name
	owner := Owner{APIVersion: tfv1.GroupVersion.String(), Kind: "AdminRun", Name: run.Name, UID: run.UID}
	return batchv1ac.Job(AdminJobName(run.Name), run.Namespace).
		WithLabels(labels).
		WithOwnerReferences(owner.ref()).
		WithSpec(batchv1ac.JobSpec().
			WithBackoffLimit(0).
			WithActiveDeadlineSeconds(deadline).
			WithTemplate(tmpl))
}

// AdminJobName returns the name of an AdminRun's Job.
func AdminJobName(run string) string { return run + "-run" }

// JobState reads a Job's outcome from its conditions.
func JobState(job *batchv1.Job) (state tfv1.ReleasePhase, reason, message string) {
	for _, c := range job.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Type {
		case batchv1.JobComplete, batchv1.JobSuccessCriteriaMet:
			return tfv1.PhaseSucceeded, c.Reason, c.Message
		case batchv1.JobFailed, batchv1.JobFailureTarget:
			return tfv1.PhaseFailed, c.Reason, c.Message
		}
	}
	if job.Status.Active > 0 {
		return tfv1.PhaseRunning, "", ""
	}
	return tfv1.PhasePending, "", ""
}

// DeploymentRelease returns the release number of a Deployment's pod template.
func DeploymentRelease(d *appsv1.Deployment) int32 {
	n, err := strconv.Atoi(d.Spec.Template.Labels[tfv1.LabelRelease])
	if err != nil {
		return 0
	}
	return int32(n)
}

// ResourceErrors returns, for each resource a process both requests and
// limits, a sentence when the request exceeds the limit: the API server
// refuses such a pod template. The CRD cannot say it within CEL's cost budget
// (resource values are unbounded strings), so the reconciler does.
func ResourceErrors(p tfv1.ProcessSpec) []string {
	if p.Resources == nil {
		return nil
	}
	var out []string
	names := make([]string, 0, len(p.Resources.Requests))
	for n := range p.Resources.Requests {
		names = append(names, string(n))
	}
	sort.Strings(names)
	for _, n := range names {
		req := p.Resources.Requests[corev1.ResourceName(n)]
		lim, ok := p.Resources.Limits[corev1.ResourceName(n)]
		if ok && req.Cmp(lim) > 0 {
			out = append(out, fmt.Sprintf("spec.processes[%s].resources: requests.%s (%s) exceeds limits.%s (%s): lower the request or raise the limit",
				p.Name, n, req.String(), n, lim.String()))
		}
	}
	return out
}

// JobFailure says why a Job failed, in a sentence that names the field to
// change: the deadline that stopped it, or the command's exit.
func JobFailure(job *batchv1.Job, what, deadlineField string) string {
	_, reason, msg := JobState(job)
	switch reason {
	case "DeadlineExceeded":
		d := int64(0)
		if job.Spec.ActiveDeadlineSeconds != nil {
			d = *job.Spec.ActiveDeadlineSeconds
		}
		return fmt.Sprintf("%s was stopped after %s (%ds) passed (DeadlineExceeded): raise it, or make the command finish sooner", what, deadlineField, d)
	case "BackoffLimitExceeded":
		return fmt.Sprintf("%s's command failed (BackoffLimitExceeded): read its output with kubectl logs job/%s", what, job.Name)
	}
	if msg != "" {
		return fmt.Sprintf("%s failed (%s: %s)", what, reason, msg)
	}
	return fmt.Sprintf("%s failed (%s)", what, reason)
}
