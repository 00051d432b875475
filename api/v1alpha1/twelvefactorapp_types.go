package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TwelveFactorAppSpec declares one application: its build, config, backing
// services, process formation and admin commands.
type TwelveFactorAppSpec struct {
	// build is the one immutable artifact the app runs (factors I, II and V).
	// +required
	Build BuildSpec `json:"build"`

	// config is the app's configuration, environment variables only (factor III).
	// +optional
	Config ConfigSpec `json:"config,omitempty"`

	// services are the attached backing services (factor IV). Each is projected
	// as a servicebinding.io binding at $SERVICE_BINDING_ROOT/<name>. A
	// variable name in services[].env may be set by one service only.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:XValidation:rule="self.all(s, !has(s.env) || self.all(t, t.name <= s.name || !has(t.env) || !sets.intersects(s.env.map(e, e.name), t.env.map(e, e.name))))",message="spec.services[].env: a variable is set by two or more backing services; each name may be set once",messageExpression="[self.map(s, ['-' + s.name] + (has(s.env) ? s.env.map(e, e.name) : []))].map(names, self.map(s, has(s.env) ? s.env.map(e, names.exists(b, b[0] > '-' + s.name && e.name in b), 'spec.services[].env: variable ' + e.name + ' is set by two or more backing services; each name may be set once') : []).filter(l, l.size() > 0))[0][0][0]"
	Services []BackingService `json:"services,omitempty"`

	// processes is the process formation: one Deployment per process type
	// (factors VI, VII and VIII).
	// +required
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=16
	Processes []ProcessSpec `json:"processes"`

	// release configures the release phase and how much release history to keep.
	// +optional
	Release *ReleasePhaseSpec `json:"release,omitempty"`

	// rollbackTo pins the running release to release number N. Removing it
	// returns to the latest release.
	// +optional
	// +kubebuilder:validation:Minimum=1
	RollbackTo *int32 `json:"rollbackTo,omitempty"`

	// rollout configures how a release rolls out.
	// +optional
	Rollout *RolloutSpec `json:"rollout,omitempty"`

	// shutdown configures graceful shutdown (factor IX).
	// +optional
	Shutdown *ShutdownSpec `json:"shutdown,omitempty"`

	// imagePullSecrets are used by pods to pull the image and by the operator to
	// resolve a tag to a digest.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=8
	ImagePullSecrets []LocalObjectReference `json:"imagePullSecrets,omitempty"`

	// promotion names an upstream app whose digest this app must run (factor X).
	// +optional
	Promotion *PromotionSpec `json:"promotion,omitempty"`

	// serviceAccountName is the ServiceAccount the pods run as.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	ServiceAccountName string `json:"serviceAccountName,omitempty"`

	// automountServiceAccountToken mounts the ServiceAccount token into pods.
	// It is off unless asked for.
	// +optional
	AutomountServiceAccountToken *bool `json:"automountServiceAccountToken,omitempty"`
}

// BuildSpec names the build artifact.
type BuildSpec struct {
	// image is an OCI image reference, [host[:port]/]path[:tag][@sha256:digest],
	// in the distribution reference grammar: the path is lowercase, a digest is
	// sha256 with 64 lowercase hex digits, and a first component is a host only
	// when it has a '.' or a port or is localhost (otherwise it is a path
	// component of a Docker Hub image). A tag is resolved to a digest when a
	// release is made.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	// +kubebuilder:validation:XValidation:rule="!self.matches('\\\\s')",message="spec.build.image must not contain whitespace"
	// +kubebuilder:validation:XValidation:rule=`self.matches(r'^(([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?([.][a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)+(:[0-9]+)?|[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?:[0-9]+|localhost|\[[a-fA-F0-9:]+\](:[0-9]+)?)/)?[a-z0-9]+(([._]|__|-+)[a-z0-9]+)*(/[a-z0-9]+(([._]|__|-+)[a-z0-9]+)*)*(:[a-zA-Z0-9_][a-zA-Z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$')`,message="spec.build.image must be an image reference [host[:port]/]path[:tag][@sha256:digest]: a host has a '.' or a port, or is localhost; path components are lowercase letters and digits, joined by '.', '_', '__' or '-' and separated by '/'; a tag is 1 to 128 letters, digits, '_', '.' or '-', not starting with '.' or '-'; a digest is 64 lowercase hex digits"
	Image string `json:"image"`

	// revision is the source commit of the image. When empty it is read from the
	// image's org.opencontainers.image.revision label.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9._-]*$`
	Revision string `json:"revision,omitempty"`
}

// ConfigSpec is the app's environment.
type ConfigSpec struct {
	// env lists literal environment variables.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=256
	Env []EnvVar `json:"env,omitempty"`

	// envFrom imports every key of a ConfigMap or Secret in the app's namespace.
	// Their data is snapshotted into each release.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=16
	EnvFrom []EnvFromSource `json:"envFrom,omitempty"`
}

// EnvVar is one literal environment variable.
type EnvVar struct {
	// name of the variable.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:Pattern=`^[A-Za-z_][A-Za-z0-9_]*$`
	Name string `json:"name"`

	// value of the variable.
	// +optional
	// +kubebuilder:validation:MaxLength=4096
	Value string `json:"value,omitempty"`
}

// EnvFromSource imports a ConfigMap or a Secret. Exactly one is set.
// +kubebuilder:validation:XValidation:rule="has(self.configMapRef) != has(self.secretRef)",message="spec.config.envFrom[]: exactly one of configMapRef or secretRef must be set"
type EnvFromSource struct {
	// configMapRef names a ConfigMap in the app's namespace.
	// +optional
	ConfigMapRef *LocalObjectReference `json:"configMapRef,omitempty"`

	// secretRef names a Secret in the app's namespace.
	// +optional
	SecretRef *LocalObjectReference `json:"secretRef,omitempty"`

	// prefix is prepended to every imported key.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^[A-Za-z_][A-Za-z0-9_]*$`
	Prefix string `json:"prefix,omitempty"`
}

// LocalObjectReference names an object in the same namespace.
type LocalObjectReference struct {
	// name of the object.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name"`
}

// BackingService is one attached resource, a servicebinding.io binding.
// +kubebuilder:validation:XValidation:rule="has(self.secretRef) != has(self.serviceRef)",message="spec.services[]: exactly one of secretRef or serviceRef must be set"
type BackingService struct {
	// name of the binding. It is projected at $SERVICE_BINDING_ROOT/<name>.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=40
	// +kubebuilder:validation:Pattern=`^[a-z]([-a-z0-9]*[a-z0-9])?$`
	Name string `json:"name"`

	// secretRef names a binding Secret in the app's namespace.
	// +optional
	SecretRef *LocalObjectReference `json:"secretRef,omitempty"`

	// serviceRef names a Provisioned Service: an object whose status.binding.name
	// names a binding Secret.
	// +optional
	ServiceRef *ServiceReference `json:"serviceRef,omitempty"`

	// type overrides the binding's type entry.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	Type string `json:"type,omitempty"`

	// provider overrides the binding's provider entry.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	Provider string `json:"provider,omitempty"`

	// env maps binding keys to environment variables. A name may not be one the
	// operator sets in every pod (PORT, RELEASE_VERSION, APP_NAME, PROCESS_TYPE,
	// OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, SERVICE_BINDING_ROOT), nor one
	// that another service's env sets.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:XValidation:rule="!(self.name in ['PORT', 'RELEASE_VERSION', 'APP_NAME', 'PROCESS_TYPE', 'OTEL_SERVICE_NAME', 'OTEL_RESOURCE_ATTRIBUTES', 'SERVICE_BINDING_ROOT'])",fieldPath=".name",message="spec.services[].env[].name must not be a variable the operator sets in every pod: PORT, RELEASE_VERSION, APP_NAME, PROCESS_TYPE, OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES or SERVICE_BINDING_ROOT",messageExpression="'spec.services[].env[].name: ' + self.name + ' is set by the operator in every pod; map the binding key to another variable'"
	Env []BindingEnv `json:"env,omitempty"`
}

// ServiceReference names a Provisioned Service.
type ServiceReference struct {
	// apiVersion of the Provisioned Service.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	APIVersion string `json:"apiVersion"`

	// kind of the Provisioned Service.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	Kind string `json:"kind"`

	// name of the Provisioned Service, in the app's namespace.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
}

// BindingEnv maps one binding key to an environment variable.
type BindingEnv struct {
	// name of the environment variable.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:Pattern=`^[A-Za-z_][A-Za-z0-9_]*$`
	Name string `json:"name"`

	// key in the binding Secret.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Key string `json:"key"`
}

// ProcessSpec is one process type.
// +kubebuilder:validation:XValidation:rule="!(has(self.replicas) && has(self.autoscaling))",message="spec.processes[]: replicas and autoscaling are mutually exclusive"
type ProcessSpec struct {
	// name of the process type, such as web or worker. The Deployment is named
	// <app>-<name>.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=20
	// +kubebuilder:validation:Pattern=`^[a-z]([-a-z0-9]*[a-z0-9])?$`
	Name string `json:"name"`

	// command runs the process. When empty the image's entrypoint runs.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=1024
	Command []string `json:"command,omitempty"`

	// port the process binds (factor VII). PORT is set, a Service is created and
	// readiness checks the port.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	Port *int32 `json:"port,omitempty"`

	// replicas is the number of pods. It defaults to 1.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=1000
	Replicas *int32 `json:"replicas,omitempty"`

	// autoscaling runs a HorizontalPodAutoscaler instead of a fixed replica count.
	// +optional
	Autoscaling *AutoscalingSpec `json:"autoscaling,omitempty"`

	// resources are the container's compute resources.
	// +optional
	Resources *corev1.ResourceRequirements `json:"resources,omitempty"`
}

// AutoscalingSpec configures a HorizontalPodAutoscaler.
// +kubebuilder:validation:XValidation:rule="!has(self.minReplicas) || self.minReplicas <= self.maxReplicas",message="spec.processes[].autoscaling.minReplicas must not exceed maxReplicas"
type AutoscalingSpec struct {
	// minReplicas is the lower bound. It defaults to 1.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	MinReplicas *int32 `json:"minReplicas,omitempty"`

	// maxReplicas is the upper bound.
	// +required
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	MaxReplicas int32 `json:"maxReplicas"`

	// targetCPUUtilizationPercentage is the average CPU utilisation to aim for.
	// It defaults to 80.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	TargetCPUUtilizationPercentage *int32 `json:"targetCPUUtilizationPercentage,omitempty"`
}

// ReleasePhaseSpec configures the release phase and release history.
type ReleasePhaseSpec struct {
	// command runs as a Job for each new release. The release goes live only if
	// it succeeds.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=1024
	Command []string `json:"command,omitempty"`

	// backoffLimit is the number of retries of the release phase Job. Default 0.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=10
	BackoffLimit *int32 `json:"backoffLimit,omitempty"`

	// activeDeadlineSeconds bounds the release phase Job. Default 600.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=86400
	ActiveDeadlineSeconds *int64 `json:"activeDeadlineSeconds,omitempty"`

	// historyLimit is the number of releases kept. Default 10. The running and
	// the pinned release are never pruned.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	HistoryLimit *int32 `json:"historyLimit,omitempty"`
}

// RolloutSpec configures rollouts.
type RolloutSpec struct {
	// autoRollback returns to the last release that became Available when a
	// rollout exceeds its progress deadline.
	// +optional
	AutoRollback bool `json:"autoRollback,omitempty"`

	// progressDeadlineSeconds is how long a rollout may make no progress. Default 300.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=3600
	ProgressDeadlineSeconds *int32 `json:"progressDeadlineSeconds,omitempty"`
}

// ShutdownSpec configures graceful shutdown.
type ShutdownSpec struct {
	// gracePeriodSeconds is the pod's termination grace period. Default 30.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=3600
	GracePeriodSeconds *int64 `json:"gracePeriodSeconds,omitempty"`

	// preStopSleepSeconds is how long a pod keeps serving after it is asked to
	// stop, so endpoints drain. Default 5.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=3600
	PreStopSleepSeconds *int64 `json:"preStopSleepSeconds,omitempty"`
}

// PromotionSpec names an upstream app.
type PromotionSpec struct {
	// from is the name of the upstream TwelveFactorApp in the same namespace.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=40
	From string `json:"from"`
}

// TwelveFactorAppStatus is the observed state of a TwelveFactorApp.
type TwelveFactorAppStatus struct {
	// observedGeneration is the generation last reconciled to Ready or Stalled.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// latestRelease is the release the spec produces now.
	// +optional
	LatestRelease int32 `json:"latestRelease,omitempty"`

	// currentRelease is the release that runs.
	// +optional
	CurrentRelease int32 `json:"currentRelease,omitempty"`

	// pinned is true while spec.rollbackTo pins the running release.
	// +optional
	Pinned bool `json:"pinned,omitempty"`

	// image is the digest reference of the current release.
	// +optional
	Image string `json:"image,omitempty"`

	// processSummary is a one-line view of the formation, such as
	// "web 2/2, worker 1/1" (ready/desired), for kubectl get.
	// +optional
	ProcessSummary string `json:"processSummary,omitempty"`

	// processes reports each process Deployment.
	// +optional
	// +listType=map
	// +listMapKey=name
	Processes []ProcessStatus `json:"processes,omitempty"`

	// factors is the twelve-factor report, one entry per factor.
	// +optional
	// +listType=map
	// +listMapKey=factor
	Factors []FactorResult `json:"factors,omitempty"`

	// conditions: Ready, Reconciling, Stalled, Released and TwelveFactorCompliant.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// ProcessStatus reports one process Deployment.
type ProcessStatus struct {
	// name of the process type.
	Name string `json:"name"`
	// replicas is the number of pods desired.
	Replicas int32 `json:"replicas"`
	// readyReplicas is the number of ready pods.
	ReadyReplicas int32 `json:"readyReplicas"`
	// updatedReplicas is the number of pods at the current release.
	UpdatedReplicas int32 `json:"updatedReplicas"`
	// release is the release number of the Deployment's pod template.
	// +optional
	Release int32 `json:"release,omitempty"`
	// startupSeconds is the observed time from pod creation to Ready, measured
	// when the current release rolled out (factor IX).
	// +optional
	StartupSeconds *int32 `json:"startupSeconds,omitempty"`
}

// FactorStatus is the result of a twelve-factor rule.
// +kubebuilder:validation:Enum=Pass;Warn;Fail
type FactorStatus string

// Factor statuses.
const (
	FactorPass FactorStatus = "Pass"
	FactorWarn FactorStatus = "Warn"
	FactorFail FactorStatus = "Fail"
)

// FactorResult is the report for one factor.
type FactorResult struct {
	// factor is the Roman numeral of the factor, I to XII.
	Factor string `json:"factor"`
	// status is Pass, Warn or Fail.
	Status FactorStatus `json:"status"`
	// reason is a CamelCase reason.
	Reason string `json:"reason"`
	// message says how to fix a Warn or Fail.
	// +optional
	Message string `json:"message,omitempty"`
}

// TwelveFactorApp runs an application the twelve-factor way.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=tfa,categories=twelvefactor
// +kubebuilder:printcolumn:name="Release",type=integer,JSONPath=`.status.currentRelease`
// +kubebuilder:printcolumn:name="Latest",type=integer,JSONPath=`.status.latestRelease`,priority=1
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Processes",type=string,JSONPath=`.status.processSummary`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="self.metadata.name.size() <= 40",message="metadata.name must be at most 40 characters, so that derived names such as <app>-<process> stay within 63"
// +kubebuilder:validation:XValidation:rule="self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')",message="metadata.name must be a DNS label (lowercase letters, digits and '-', starting with a letter)"
type TwelveFactorApp struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the desired state.
	// +required
	Spec TwelveFactorAppSpec `json:"spec"`

	// status is the observed state.
	// +optional
	Status TwelveFactorAppStatus `json:"status,omitempty"`
}

// TwelveFactorAppList is a list of TwelveFactorApps.
// +kubebuilder:object:root=true
type TwelveFactorAppList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []TwelveFactorApp `json:"items"`
}

func init() {
	SchemeBuilder.Register(&TwelveFactorApp{}, &TwelveFactorAppList{})
}
