package lifecycle

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// Available reports whether a Deployment finished rolling out: every replica
// updated and available, and no old replica left.
func Available(d *appsv1.Deployment) bool {
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	st := d.Status
	return st.ObservedGeneration >= d.Generation && st.UpdatedReplicas >= want &&
		st.AvailableReplicas >= want && st.Replicas == st.UpdatedReplicas
}

// DeadlineExceeded reports whether the Deployment controller gave up on the
// Deployment's current generation: Progressing=False, ProgressDeadlineExceeded.
func DeadlineExceeded(d *appsv1.Deployment) bool {
	if d.Status.ObservedGeneration < d.Generation {
		return false
	}
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentProgressing && c.Status == corev1.ConditionFalse && c.Reason == "ProgressDeadlineExceeded" {
			return true
		}
	}
	return false
}
