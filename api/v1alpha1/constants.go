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
	// AnnotationDataHash on a release Secret is the SHA-256 of its data, the
	// value the Release records in spec.envSecretHash or bindings[].secretHash.
	AnnotationDataHash = "twelvefactor.dev/data-hash"
	// LabelAdminRun on an AdminRun's Job names the run; LabelSerial marks the
	// Job of a serial run, so that no two serial runs of an app overlap.
	LabelAdminRun = "twelvefactor.dev/adminrun"
	LabelSerial   = "twelvefactor.dev/serial"
	// AnnotationSourceImage on a Release records spec.build.image as written;
	// AnnotationSources records the fingerprint of what its content was
	// resolved from (docs/decisions.md, "Steady state").
	AnnotationSourceImage = "twelvefactor.dev/source-image"
	AnnotationSources     = "twelvefactor.dev/sources"
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
	ReasonReady              = "Ready"
	ReasonProgressing        = "Progressing"
	ReasonRollingOut         = "RollingOut"
	ReasonReleaseCreated     = "ReleaseCreated"
	ReasonUpToDate           = "UpToDate"
	ReasonPinned             = "Pinned"
	ReasonReleaseNotFound    = "ReleaseNotFound"
	ReasonConfigNotFound     = "ConfigNotFound"
	ReasonBindingNotReady    = "BindingNotReady"
	ReasonImageResolveFailed = "ImageResolveFailed"
	// ReasonResolvingImage: a registry call resolving the image tag runs
	// outside the reconcile workers; the app is woken when it ends.
	ReasonResolvingImage      = "ResolvingImage"
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
	// ReasonNameConflict: an object under a name the operator derives exists
	// and is not the operator's. The operator never writes, adopts or deletes it.
	ReasonNameConflict = "NameConflict"
	// ReasonApplyFailed: the API server refused an object the operator wrote.
	ReasonApplyFailed = "ApplyFailed"
	// ReasonReleaseSecretMissing: a release's env or binding Secret is gone
	// and cannot be made again from the spec.
	ReasonReleaseSecretMissing = "ReleaseSecretMissing"
	// ReasonReleaseSecretAltered: a release's Secret no longer holds the data
	// the release recorded, or is not immutable.
	ReasonReleaseSecretAltered = "ReleaseSecretAltered"
	// ReasonLimitExceeded: the resolved content exceeds a Kubernetes limit
	// (a Secret's 1 MiB, the Release's 1,024 config keys); no release is made.
	ReasonLimitExceeded = "LimitExceeded"
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
