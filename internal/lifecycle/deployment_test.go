package lifecycle

import (
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

func deployment(gen, observed int64, replicas *int32, st appsv1.DeploymentStatus) *appsv1.Deployment {
	d := &appsv1.Deployment{}
	d.Generation = gen
	d.Spec.Replicas = replicas
	d.Status = st
	d.Status.ObservedGeneration = observed
	return d
}

func TestAvailable(t *testing.T) {
	tests := []struct {
		name string
		d    *appsv1.Deployment
		want bool
	}{
		{"every replica updated and available", deployment(2, 2, ptr.To[int32](3),
			appsv1.DeploymentStatus{Replicas: 3, UpdatedReplicas: 3, AvailableReplicas: 3}), true},
		{"unset replicas mean one", deployment(1, 1, nil,
			appsv1.DeploymentStatus{Replicas: 1, UpdatedReplicas: 1, AvailableReplicas: 1}), true},
		{"unset replicas with none available", deployment(1, 1, nil, appsv1.DeploymentStatus{}), false},
		{"zero replicas are available at once", deployment(1, 1, ptr.To[int32](0), appsv1.DeploymentStatus{}), true},
		{"a generation not yet observed", deployment(3, 2, ptr.To[int32](1),
			appsv1.DeploymentStatus{Replicas: 1, UpdatedReplicas: 1, AvailableReplicas: 1}), false},
		{"replicas not all updated", deployment(1, 1, ptr.To[int32](2),
			appsv1.DeploymentStatus{Replicas: 2, UpdatedReplicas: 1, AvailableReplicas: 2}), false},
		{"replicas not all available", deployment(1, 1, ptr.To[int32](2),
			appsv1.DeploymentStatus{Replicas: 2, UpdatedReplicas: 2, AvailableReplicas: 1}), false},
		{"an old replica left", deployment(1, 1, ptr.To[int32](2),
			appsv1.DeploymentStatus{Replicas: 3, UpdatedReplicas: 2, AvailableReplicas: 3}), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			NewWithT(t).Expect(Available(tt.d)).To(Equal(tt.want))
		})
	}
}

func TestDeadlineExceeded(t *testing.T) {
	progressing := func(status corev1.ConditionStatus, reason string) appsv1.DeploymentStatus {
		return appsv1.DeploymentStatus{Conditions: []appsv1.DeploymentCondition{
			{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionFalse, Reason: "MinimumReplicasUnavailable"},
			{Type: appsv1.DeploymentProgressing, Status: status, Reason: reason},
		}}
	}
	tests := []struct {
		name string
		d    *appsv1.Deployment
		want bool
	}{
		{"progress deadline exceeded", deployment(2, 2, nil, progressing(corev1.ConditionFalse, "ProgressDeadlineExceeded")), true},
		{"still progressing", deployment(2, 2, nil, progressing(corev1.ConditionTrue, "ReplicaSetUpdated")), false},
		{"a stale verdict on an older generation", deployment(3, 2, nil, progressing(corev1.ConditionFalse, "ProgressDeadlineExceeded")), false},
		{"Progressing=False for another reason", deployment(2, 2, nil, progressing(corev1.ConditionFalse, "ReplicaSetCreateError")), false},
		{"no conditions", deployment(1, 1, nil, appsv1.DeploymentStatus{}), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			NewWithT(t).Expect(DeadlineExceeded(tt.d)).To(Equal(tt.want))
		})
	}
}
