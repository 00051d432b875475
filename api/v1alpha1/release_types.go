package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ReleaseSpec is an immutable snapshot of everything a release runs.
// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec is immutable: a Release is a snapshot; change the TwelveFactorApp to make a new release"
type ReleaseSpec struct {
	// app is the name of the TwelveFactorApp this release belongs to.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=40
	App string `json:"app"`

	// number is the release number N. The release is named <app>-v<N>.
	// +required
	// +kubebuilder:validation:Minimum=1
	Number int32 `json:"number"`

	// image is the image reference, pinned to a digest.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	Image string `json:"image"`

	// revision is the source revision of the image, when known.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	Revision string `json:"revision,omitempty"`

	// processes holds the command of each process type.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=16
	Processes []ReleaseProcess `json:"processes,omitempty"`

	// releaseCommand is the release phase command, if any.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=64
	ReleaseCommand []string `json:"releaseCommand,omitempty"`

	// envSecretName names the immutable Secret holding the resolved environment.
	// +required
	// +kubebuilder:validation:MaxLength=253
	EnvSecretName string `json:"envSecretName"`

	// envSecretHash is the SHA-256 of the env Secret's data, as the operator
	// wrote it. The Secret is checked against it before the release runs, so
	// a Secret replaced under the same name is never used. Empty on releases
	// made before the operator recorded it.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	EnvSecretHash string `json:"envSecretHash,omitempty"`

	// configKeys lists the environment variable names of the release, never
	// their values.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=1024
	ConfigKeys []string `json:"configKeys,omitempty"`

	// bindings holds a snapshot Secret for each backing service.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=32
	Bindings []ReleaseBinding `json:"bindings,omitempty"`

	// contentHash identifies the release's content.
	// +required
	// +kubebuilder:validation:MaxLength=128
	ContentHash string `json:"contentHash"`

	// description says what changed, in Heroku's style: "Deploy 3f2c1a9",
	// "Set LOG_LEVEL config". It names config keys, never values.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Description string `json:"description,omitempty"`
}

// ReleaseProcess is the command of one process type.
type ReleaseProcess struct {
	// name of the process type.
	// +required
	Name string `json:"name"`
	// command of the process type.
	// +optional
	// +listType=atomic
	Command []string `json:"command,omitempty"`
}

// ReleaseBinding is the snapshot of one backing-service binding.
type ReleaseBinding struct {
	// name of the binding.
	// +required
	Name string `json:"name"`
	// secretName names the immutable snapshot Secret.
	// +required
	SecretName string `json:"secretName"`
	// secretHash is the SHA-256 of the snapshot Secret's data, as the
	// operator wrote it.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	SecretHash string `json:"secretHash,omitempty"`
	// type of the binding.
	// +optional
	Type string `json:"type,omitempty"`
	// provider of the binding.
	// +optional
	Provider string `json:"provider,omitempty"`
	// env maps binding keys to environment variables.
	// +optional
	// +listType=map
	// +listMapKey=name
	Env []BindingEnv `json:"env,omitempty"`
}

// ReleasePhase is the state of a release's release phase or rollout.
// +kubebuilder:validation:Enum=Pending;Running;Succeeded;Failed
type ReleasePhase string

// Release phases.
const (
	PhasePending   ReleasePhase = "Pending"
	PhaseRunning   ReleasePhase = "Running"
	PhaseSucceeded ReleasePhase = "Succeeded"
	PhaseFailed    ReleasePhase = "Failed"
)

// ReleaseStatus is the observed state of a Release.
type ReleaseStatus struct {
	// releasePhase is the state of the release phase Job. Empty when the
	// release has no release command.
	// +optional
	ReleasePhase ReleasePhase `json:"releasePhase,omitempty"`

	// rollout is Succeeded once every process was Available at this release,
	// and Failed when a rollout exceeded its progress deadline.
	// +optional
	Rollout ReleasePhase `json:"rollout,omitempty"`

	// startup is the observed time from pod creation to Ready of each process
	// type, measured when the rollout completed (factor IX).
	// +optional
	// +listType=map
	// +listMapKey=name
	Startup []ProcessStartup `json:"startup,omitempty"`

	// conditions: ReleasePhaseSucceeded and RolledOut.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// ProcessStartup is the observed startup time of a process type.
type ProcessStartup struct {
	// name of the process type.
	Name string `json:"name"`
	// seconds from pod creation to Ready, the slowest pod of the rollout.
	Seconds int32 `json:"seconds"`
}

// Release is an immutable, numbered release of a TwelveFactorApp.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=tfrel,categories=twelvefactor
// +kubebuilder:printcolumn:name="App",type=string,JSONPath=`.spec.app`
// +kubebuilder:printcolumn:name="Version",type=integer,JSONPath=`.spec.number`
// +kubebuilder:printcolumn:name="Description",type=string,JSONPath=`.spec.description`
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.releasePhase`
// +kubebuilder:printcolumn:name="Rollout",type=string,JSONPath=`.status.rollout`
// +kubebuilder:printcolumn:name="Image",type=string,JSONPath=`.spec.image`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Release struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the snapshot.
	// +required
	Spec ReleaseSpec `json:"spec"`

	// status is the observed state.
	// +optional
	Status ReleaseStatus `json:"status,omitempty"`
}

// ReleaseList is a list of Releases.
// +kubebuilder:object:root=true
type ReleaseList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Release `json:"items"`
}

func init() {
	SchemeBuilder.Register(&Release{}, &ReleaseList{})
}
