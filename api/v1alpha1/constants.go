package v1alpha1

// Field managers. Everything the operator writes is applied with server-side apply
// under one of these fixed owners.
const (
	// FieldManager owns every object the TwelveFactorApp controller applies.
	FieldManager = "twelvefactor-operator"
	// AdminRunFieldManager owns the Jobs the AdminRun controller applies.
	AdminRunFieldManager = "twelvefactor-operator-adminrun"
	// PluginFieldManager owns the fields the kubectl plugin sets (rollbackTo, replicas).
	PluginFieldManager = "kubectl-twelvefactor"
)

// Label and annotation keys set on every object the operator renders.
const (
	LabelName      = "app.kubernetes.io/name"
	LabelComponent = "app.kubernetes.io/component"
	LabelVersion   = "app.kubernetes.io/version"
	LabelManagedBy = "app.kubernetes.io/managed-by"
	LabelPartOf    = "app.kubernetes.io/part-of"

	// LabelApp names the TwelveFactorApp an object belongs to.
	LabelApp = "twelvefactor.dev/app"
	// LabelRelease carries the release number N of a pod template, Job or Secret.
	LabelRelease = "twelvefactor.dev/release"
	// LabelProcess carries the process type of a Deployment and its pods.
	LabelProcess = "twelvefactor.dev/process"
	// LabelContentHash carries a release's content hash.
	LabelContentHash = "twelvefactor.dev/content-hash"
	// LabelSecretKind says what a release-owned Secret holds: env or binding.
	LabelSecretKind = "twelvefactor.dev/secret-kind"
	// LabelPolicy on a Namespace selects the policy mode: enforce or warn.
	LabelPolicy = "twelvefactor.dev/policy"
	// LabelInUse marks the Release that runs or is pinned; the release
	// protection policy refuses to delete it.
	LabelInUse = "twelvefactor.dev/in-use"

	// ManagedByValue is the value of app.kubernetes.io/managed-by.
	ManagedByValue = "twelvefactor-operator"
)

// Policy modes, the values of the twelvefactor.dev/policy namespace label.
const (
	PolicyEnforce = "enforce"
	PolicyWarn    = "warn"
)

// Condition types of a TwelveFactorApp. Ready, Reconciling and Stalled follow kstatus.
const (
	ConditionReady                 = "Ready"
	ConditionReconciling           = "Reconciling"
	ConditionStalled               = "Stalled"
	ConditionReleased              = "Released"
	ConditionTwelveFactorCompliant = "TwelveFactorCompliant"
)

// Condition types of a Release and an AdminRun.
const (
	ConditionReleasePhaseSucceeded = "ReleasePhaseSucceeded"
	ConditionRolledOut             = "RolledOut"
	ConditionRunning               = "Running"
	ConditionSucceeded             = "Succeeded"
	ConditionFailed                = "Failed"
	ConditionWaiting               = "Waiting"
)

// Condition reasons. They are CamelCase and part of the API.
const (
	ReasonReady               = "Ready"
	ReasonProgressing         = "Progressing"
	ReasonRollingOut          = "RollingOut"
	ReasonReleaseCreated      = "ReleaseCreated"
	ReasonUpToDate            = "UpToDate"
	ReasonPinned              = "Pinned"
	ReasonReleaseNotFound     = "ReleaseNotFound"
	ReasonConfigNotFound      = "ConfigNotFound"
	ReasonBindingNotReady     = "BindingNotReady"
	ReasonImageResolveFailed  = "ImageResolveFailed"
	ReasonReleasePhaseRunning = "ReleasePhaseRunning"
	ReasonReleasePhaseFailed  = "ReleasePhaseFailed"
	ReasonReleasePhaseSucceed = "ReleasePhaseSucceeded"
	ReasonRolloutFailed       = "RolloutFailed"
	ReasonRolledBack          = "RolledBack"
	ReasonRolloutComplete     = "RolloutComplete"
	ReasonUnpinned            = "Unpinned"
	ReasonPolicyViolation     = "PolicyViolation"
	ReasonCompliant           = "Compliant"
	ReasonNotCompliant        = "NotCompliant"
	ReasonInvalidSpec         = "InvalidSpec"
	ReasonAppNotFound         = "AppNotFound"
	ReasonWaitingForSerialRun = "WaitingForSerialRun"
	ReasonJobCreated          = "JobCreated"
	ReasonJobSucceeded        = "JobSucceeded"
	ReasonJobFailed           = "JobFailed"
	ReasonReleaseInUse        = "ReleaseInUse"
)

// Defaults.
const (
	DefaultHistoryLimit               = 10
	DefaultGracePeriodSeconds         = 30
	DefaultPreStopSleepSeconds        = 5
	DefaultProgressDeadlineSeconds    = 300
	DefaultServiceBindingRoot         = "/bindings"
	DefaultReleaseBackoffLimit        = 0
	DefaultReleaseActiveDeadline      = 600
	DefaultJobTTLSecondsAfterFinished = 3600
)

// ReservedEnvNames are the environment variables the operator sets in every pod
// it renders: the release metadata always, PORT when the process binds a port,
// and SERVICE_BINDING_ROOT when the app has backing services. Admission refuses
// them as spec.services[].env[].name, which would shadow the operator's value.
// The CEL rule on BackingService.Env spells the names out, as a marker cannot
// refer to a Go value; TestReservedEnvNamesAreRefusedForBindings keeps the two
// in step, and internal/render's TestEveryVariableThePodSetsIsReserved keeps
// this list in step with what PodTemplate sets. Admission does not refuse them
// in spec.config.env; that is reported elsewhere.
var ReservedEnvNames = []string{
	"PORT",
	"RELEASE_VERSION",
	"APP_NAME",
	"PROCESS_TYPE",
	"OTEL_SERVICE_NAME",
	"OTEL_RESOURCE_ATTRIBUTES",
	"SERVICE_BINDING_ROOT",
}
