package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// AdminRunSpec is a one-off admin process (factor XII).
// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec is immutable: create a new AdminRun instead"
type AdminRunSpec struct {
	// app is the name of the TwelveFactorApp in the same namespace.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=40
	App string `json:"app"`

	// command runs in the release's image, environment and bindings.
	// +required
	// +listType=atomic
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=1024
	Command []string `json:"command"`

	// release is the release number to run. It defaults to the app's current release.
	// +optional
	// +kubebuilder:validation:Minimum=1
	Release *int32 `json:"release,omitempty"`

	// serial waits while another serial run of the same app is active.
	// +optional
	Serial bool `json:"serial,omitempty"`

	// ttlSecondsAfterFinished deletes the run this long after it finishes.
	// It defaults to the operator's --adminrun-ttl.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=2592000
	TTLSecondsAfterFinished *int32 `json:"ttlSecondsAfterFinished,omitempty"`

	// activeDeadlineSeconds bounds the run. Default 3600.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=86400
	ActiveDeadlineSeconds *int64 `json:"activeDeadlineSeconds,omitempty"`
}

// AdminRunStatus mirrors the run's Job.
type AdminRunStatus struct {
	// release is the release number the run uses.
	// +optional
	Release int32 `json:"release,omitempty"`
	// jobName is the name of the Job.
	// +optional
	JobName string `json:"jobName,omitempty"`
	// podName is the name of the run's latest pod.
	// +optional
	PodName string `json:"podName,omitempty"`
	// phase is Pending, Running, Succeeded or Failed.
	// +optional
	Phase ReleasePhase `json:"phase,omitempty"`
	// startTime is when the Job started.
	// +optional
	StartTime *metav1.Time `json:"startTime,omitempty"`
	// completionTime is when the run finished.
	// +optional
	CompletionTime *metav1.Time `json:"completionTime,omitempty"`
	// conditions: Running, Succeeded, Failed and Waiting.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// AdminRun is a one-off admin process run from a release's image and config.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=tfrun,categories=twelvefactor
// +kubebuilder:printcolumn:name="App",type=string,JSONPath=`.spec.app`
// +kubebuilder:printcolumn:name="Release",type=integer,JSONPath=`.status.release`
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="self.metadata.name.size() <= 52",message="metadata.name must be at most 52 characters, so that the Job name stays valid"
type AdminRun struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the run.
	// +required
	Spec AdminRunSpec `json:"spec"`

	// status mirrors the Job.
	// +optional
	Status AdminRunStatus `json:"status,omitempty"`
}

// AdminRunList is a list of AdminRuns.
// +kubebuilder:object:root=true
type AdminRunList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []AdminRun `json:"items"`
}

func init() {
	SchemeBuilder.Register(&AdminRun{}, &AdminRunList{})
}
