package policy

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
	"github.com/twelvefactor/twelvefactor-operator/internal/release"
)

// Rule reasons. Each is reported in status.factors when its rule fires.
const (
	// ReasonImageNotPinned (II, Fail, static): spec.build.image has no digest
	// and its tag is latest or missing.
	ReasonImageNotPinned = "ImageNotPinned"
	// ReasonSecretInLiteral (III, Fail, static): a literal env var with a
	// secret-looking name holds a value.
	ReasonSecretInLiteral = "SecretInLiteral"
	// ReasonEnvironmentGroup (III, Warn, static): a literal env var selects a
	// named environment such as RAILS_ENV=production.
	ReasonEnvironmentGroup = "EnvironmentGroup"
	// ReasonCredentialsInURL (IV, Fail, static): a literal env value is a URL
	// with a password.
	ReasonCredentialsInURL = "CredentialsInURL"
	// ReasonWebWithoutPort (VII, Fail, static): the web process binds no port.
	ReasonWebWithoutPort = "WebWithoutPort"
	// ReasonSingleReplica (VIII, Warn, static): a process that serves a port
	// runs one replica without autoscaling.
	ReasonSingleReplica = "SingleReplica"
	// ReasonGracePeriodTooShort (IX, Fail, static): the grace period does not
	// exceed the preStop sleep.
	ReasonGracePeriodTooShort = "GracePeriodTooShort"
	// ReasonSlowStartup (IX, Warn): a process was observed to take longer than
	// the threshold to become Ready.
	ReasonSlowStartup = "SlowStartup"
	// ReasonDigestMismatch (X, Fail): the app runs another digest than its
	// spec.promotion.from upstream.
	ReasonDigestMismatch = "DigestMismatch"
	// ReasonUpstreamUnknown (X, Warn): the upstream's digest is not known.
	ReasonUpstreamUnknown = "UpstreamUnknown"
	// ReasonDigestUnknown (X, Warn): the upstream's digest is known but the
	// app's own image is not resolved yet.
	ReasonDigestUnknown = "DigestUnknown"
	// ReasonLogToFile (XI, Fail, static): a literal env var points logs at a file.
	ReasonLogToFile = "LogToFile"
	// ReasonNonPortableEnvName (III, Warn): a key of the resolved environment
	// is not a portable name (^[A-Za-z_][A-Za-z0-9_]*$), so a shell cannot
	// read it.
	ReasonNonPortableEnvName = "NonPortableEnvName"
	// ReasonEnvShadowed (III, Warn): a key of the resolved environment is
	// also set by the operator or by a binding's env mapping, which the
	// process sees instead.
	ReasonEnvShadowed = "EnvShadowed"
)

// What the rules match, shared with the CEL in config/policy. The patterns
// are RE2, so Go's regexp and CEL's matches() agree; the CEL uses each
// verbatim as a raw string, and the lists as list literals, and a test
// checks that it does. Like matches(), the patterns search: they are anchored
// only where they say so.
//
// The CEL must stay within the apiserver's cost limits for the largest app the
// CRD allows (256 env vars of 4096 characters), and CEL charges a regular
// expression by the length of the string times the length of the pattern.
// So long values are never matched against long patterns: lists and
// prefix/suffix tests are used instead, and a URL is checked in its first
// URLCheckLength characters.
const (
	// ImageTagPattern matches an image reference that ends with a tag.
	ImageTagPattern = `:[^:/]+$`
	// ImageLatestPattern matches an image reference whose tag is latest.
	ImageLatestPattern = `:latest$`
	// SecretNamePattern matches env var names that look like they hold a
	// secret: *PASSWORD*, *PASSWD*, *PASSPHRASE*, *SECRET*, *TOKEN*,
	// *CREDENTIAL*, *APIKEY* and *_KEY, in any case.
	SecretNamePattern = `(?i)(PASSWORD|PASSWD|PASSPHRASE|SECRET|TOKEN|CREDENTIAL|APIKEY|_KEY$)`
	// HarmlessValuePattern matches values that cannot be a secret: short
	// numbers and booleans, as in PASSWORD_MIN_LENGTH=12 or TOKEN_REFRESH=true.
	// A secret-looking name with such a value, at most HarmlessValueMaxLength
	// characters long, passes.
	HarmlessValuePattern = `(?i)^([0-9]+|true|false|yes|no|on|off)$`
	// HarmlessValueMaxLength bounds HarmlessValuePattern: a long number can
	// be a token.
	HarmlessValueMaxLength = 8
	// EnvironmentGroupValuePattern matches values that name an environment,
	// alone or as a word: production, shop.settings.staging, prod,metrics.
	EnvironmentGroupValuePattern = `(?i)(^|[^a-z0-9])(production|prod|staging|stage|development|dev|test|testing|qa|uat|preprod|preproduction|sandbox|live|local)($|[^a-z0-9])`
	// CredentialsURLPattern matches a URL whose user info holds a password,
	// scheme://user:password@host or scheme://:password@host.
	CredentialsURLPattern = `^[A-Za-z][A-Za-z0-9+.-]*://[^/?#@\s]*:[^/?#\s]+@`
	// URLCheckLength is how many characters of a value CredentialsURLPattern
	// looks at.
	URLCheckLength = 1024
	// LogFileNamePattern matches env var names that configure a log file:
	// LOG_FILE, LOGFILE, LOG_PATH, LOG_DIR, LOGS_DIR, *_LOG_FILE, *_LOG_PATH…
	LogFileNamePattern = `(?i)(^|_)LOGS?_?(FILE|FILENAME|PATH|DIR)$`
	// LogFolder is the conventional log folder: a value that is it, or is
	// under it, configures a log file.
	LogFolder = "/var/log"
	// LogFileSuffix is the extension of log files: a value ending with it
	// configures a log file.
	LogFileSuffix = ".log"
)

// EnvironmentGroupNames are the environment-group switches of common
// frameworks. Names are case-sensitive, as the frameworks read them.
var EnvironmentGroupNames = []string{
	"APP_ENV", "APP_ENVIRONMENT", "ENV", "ENVIRONMENT", "RAILS_ENV", "RACK_ENV", "NODE_ENV", "MIX_ENV", "GO_ENV",
	"FLASK_ENV", "DJANGO_SETTINGS_MODULE", "ASPNETCORE_ENVIRONMENT", "DOTNET_ENVIRONMENT", "SPRING_PROFILES_ACTIVE",
	"QUARKUS_PROFILE",
}

// LogStreamValues point logs at the process's own output streams: a log-file
// variable set to one of them passes.
var LogStreamValues = []string{"-", "stdout", "stderr", "/dev/stdout", "/dev/stderr", "/proc/self/fd/1", "/proc/self/fd/2"}

var (
	imageTagRE       = regexp.MustCompile(ImageTagPattern)
	imageLatestRE    = regexp.MustCompile(ImageLatestPattern)
	secretNameRE     = regexp.MustCompile(SecretNamePattern)
	harmlessValueRE  = regexp.MustCompile(HarmlessValuePattern)
	envGroupValueRE  = regexp.MustCompile(EnvironmentGroupValuePattern)
	credentialsURLRE = regexp.MustCompile(CredentialsURLPattern)
	logFileNameRE    = regexp.MustCompile(LogFileNamePattern)
)

// prefix returns the first n characters (not bytes) of s, like CEL's
// substring.
func prefix(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// Messages of the static rules. They are identical to the CEL messages in
// config/policy. Where a %s appears, the CEL builds the same text with
// messageExpression and joins the offending names with ", ", in spec order.
const (
	msgImageNotPinned      = "spec.build.image is not pinned: use a version tag (it is resolved to a digest when a release is made) or a digest (image@sha256:<digest>), never latest or no tag."
	msgSecretInLiteral     = "spec.config.env has secret-looking literal values (%s): move them to a Secret and import it with spec.config.envFrom[].secretRef, or attach the backing service with spec.services."
	msgEnvironmentGroup    = "spec.config.env selects a named environment group (%s): configure each setting as its own variable instead, and keep the switch only where the framework requires it."
	msgCredentialsInURL    = "spec.config.env has URLs with credentials (%s): attach the backing service with spec.services and map its uri key to the variable with spec.services[].env."
	msgWebWithoutPort      = "The web process binds no port: set spec.processes[].port for web, so it gets PORT and a Service."
	msgSingleReplica       = "Processes that serve a port run a single replica (%s): set replicas to 2 or more, or use autoscaling, so they scale out and survive disruption."
	msgGracePeriodTooShort = "spec.shutdown.gracePeriodSeconds must be greater than spec.shutdown.preStopSleepSeconds (defaults 30 and 5), so the process gets SIGTERM and time to finish its work after its endpoints drain."
	msgLogToFile           = "spec.config.env writes logs to files (%s): write logs unbuffered to stdout instead, and let the platform route them."
)

var rules = []Rule{
	{Factor: "II", Reason: ReasonImageNotPinned, Status: tfv1.FactorFail, Static: true, check: checkImageNotPinned},
	{Factor: "III", Reason: ReasonSecretInLiteral, Status: tfv1.FactorFail, Static: true, check: checkSecretInLiteral},
	{Factor: "III", Reason: ReasonEnvironmentGroup, Status: tfv1.FactorWarn, Static: true, check: checkEnvironmentGroup},
	{Factor: "IV", Reason: ReasonCredentialsInURL, Status: tfv1.FactorFail, Static: true, check: checkCredentialsInURL},
	{Factor: "VII", Reason: ReasonWebWithoutPort, Status: tfv1.FactorFail, Static: true, check: checkWebWithoutPort},
	{Factor: "VIII", Reason: ReasonSingleReplica, Status: tfv1.FactorWarn, Static: true, check: checkSingleReplica},
	{Factor: "IX", Reason: ReasonGracePeriodTooShort, Status: tfv1.FactorFail, Static: true, check: checkGracePeriodTooShort},
	{Factor: "IX", Reason: ReasonSlowStartup, Status: tfv1.FactorWarn, check: checkSlowStartup},
	{Factor: "X", Reason: ReasonDigestMismatch, Status: tfv1.FactorFail, check: checkDigestMismatch},
	{Factor: "X", Reason: ReasonUpstreamUnknown, Status: tfv1.FactorWarn, check: checkUpstreamUnknown},
	{Factor: "X", Reason: ReasonDigestUnknown, Status: tfv1.FactorWarn, check: checkDigestUnknown},
	{Factor: "XI", Reason: ReasonLogToFile, Status: tfv1.FactorFail, Static: true, check: checkLogToFile},
	{Factor: "III", Reason: ReasonNonPortableEnvName, Status: tfv1.FactorWarn, check: checkNonPortableEnvName},
	{Factor: "III", Reason: ReasonEnvShadowed, Status: tfv1.FactorWarn, check: checkEnvShadowed},
}

const (
	msgNonPortableEnvName = "The environment has keys that are not portable names (%s): a shell cannot read them; rename them to letters, digits and '_', not starting with a digit."
	msgEnvShadowed        = "The environment sets keys that the operator or a backing service's env mapping also sets, which the process sees instead (%s): rename or remove them."
)

// maxNamesShown bounds the keys a message names.
const maxNamesShown = 20

func shown(names []string) []string {
	if len(names) > maxNamesShown {
		return append(slices.Clone(names[:maxNamesShown]), fmt.Sprintf("and %d more", len(names)-maxNamesShown))
	}
	return names
}

// checkNonPortableEnvName (III) warns about keys a shell cannot read.
func checkNonPortableEnvName(_ *tfv1.TwelveFactorApp, obs Observations) (string, bool) {
	var bad []string
	for _, k := range obs.ConfigKeys {
		if !release.PortableKey(k) {
			bad = append(bad, fmt.Sprintf("%q", prefix(k, 64)))
		}
	}
	return firedWith(msgNonPortableEnvName, shown(bad))
}

// checkEnvShadowed (III) warns about config keys the pod's own env overrides:
// the names the operator sets and the binding env mappings.
func checkEnvShadowed(app *tfv1.TwelveFactorApp, obs Observations) (string, bool) {
	by := map[string]string{}
	for _, n := range release.OperatorEnvNames() {
		by[n] = "the operator"
	}
	for _, svc := range app.Spec.Services {
		for _, e := range svc.Env {
			by[e.Name] = "backing service " + svc.Name
		}
	}
	var hit []string
	for _, k := range obs.ConfigKeys {
		if who, ok := by[k]; ok {
			hit = append(hit, k+" by "+who)
		}
	}
	return firedWith(msgEnvShadowed, shown(hit))
}

// Factors I, V, VI and XII have no rules: the API makes them hold by
// construction. I: an app is one build image from one codebase. V: releases
// are immutable snapshots, and build, release and run are separate stages.
// VI: the API has no persistent volumes, the root filesystem is read-only and
// /tmp is an emptyDir. XII: admin processes are AdminRuns and release-phase
// Jobs that run the release's own image, config and bindings.

// literalEnv returns the literal env vars that hold a value.
func literalEnv(app *tfv1.TwelveFactorApp) []tfv1.EnvVar {
	var out []tfv1.EnvVar
	for _, e := range app.Spec.Config.Env {
		if e.Value != "" {
			out = append(out, e)
		}
	}
	return out
}

// envNames returns the names of the literal env vars that hold a value and
// match pred, in spec order.
func envNames(app *tfv1.TwelveFactorApp, pred func(e tfv1.EnvVar) bool) []string {
	var out []string
	for _, e := range literalEnv(app) {
		if pred(e) {
			out = append(out, e.Name)
		}
	}
	return out
}

// MaxMessageLength is the longest message that names the offending keys.
// A longer one leaves the names out, as the apiserver does with a
// messageExpression longer than 5 KiB, falling back to the static message.
const MaxMessageLength = 5 * 1024

// firedWith formats a message template with the offending names, joined
// with ", " in spec order, as the CEL messageExpression does.
func firedWith(format string, names []string) (string, bool) {
	if len(names) == 0 {
		return "", false
	}
	msg := fmt.Sprintf(format, strings.Join(names, ", "))
	if len(msg) > MaxMessageLength {
		msg = withoutNames(format)
	}
	return msg, true
}

// withoutNames is a message template without its list of names: the
// static message of the CEL validation.
func withoutNames(format string) string { return strings.Replace(format, " (%s)", "", 1) }

// checkImageNotPinned (II) fails an image without a digest whose tag is
// latest or missing. A version tag passes: the operator resolves it to a
// digest when it makes a release, and a release never changes after that.
func checkImageNotPinned(app *tfv1.TwelveFactorApp, _ Observations) (string, bool) {
	img := app.Spec.Build.Image
	if strings.Contains(img, "@") {
		return "", false
	}
	if imageTagRE.MatchString(img) && !imageLatestRE.MatchString(img) {
		return "", false
	}
	return msgImageNotPinned, true
}

// checkSecretInLiteral (III) fails literal env vars whose name looks like a
// secret and whose value could be one. The message names the keys, never the
// values.
func checkSecretInLiteral(app *tfv1.TwelveFactorApp, _ Observations) (string, bool) {
	return firedWith(msgSecretInLiteral, envNames(app, func(e tfv1.EnvVar) bool {
		harmless := utf8.RuneCountInString(e.Value) <= HarmlessValueMaxLength && harmlessValueRE.MatchString(e.Value)
		return secretNameRE.MatchString(e.Name) && !harmless
	}))
}

// checkEnvironmentGroup (III) warns about environment-group switches such as
// RAILS_ENV=production. It warns rather than fails: twelve-factor config is
// individual values, not named environments, but Rails, Node and others need
// the switch set to production to run correctly, so a failure would block
// apps that are doing nothing wrong.
func checkEnvironmentGroup(app *tfv1.TwelveFactorApp, _ Observations) (string, bool) {
	return firedWith(msgEnvironmentGroup, envNames(app, func(e tfv1.EnvVar) bool {
		return slices.Contains(EnvironmentGroupNames, e.Name) && envGroupValueRE.MatchString(e.Value)
	}))
}

// checkCredentialsInURL (IV) fails literal env values that are URLs with a
// password in their first URLCheckLength characters: the resource should be
// attached as a backing service, whose binding Secret carries the URL.
func checkCredentialsInURL(app *tfv1.TwelveFactorApp, _ Observations) (string, bool) {
	return firedWith(msgCredentialsInURL, envNames(app, func(e tfv1.EnvVar) bool {
		return credentialsURLRE.MatchString(prefix(e.Value, URLCheckLength))
	}))
}

// checkWebWithoutPort (VII) fails a process named web that binds no port.
func checkWebWithoutPort(app *tfv1.TwelveFactorApp, _ Observations) (string, bool) {
	for _, p := range app.Spec.Processes {
		if p.Name == "web" && p.Port == nil {
			return msgWebWithoutPort, true
		}
	}
	return "", false
}

// checkSingleReplica (VIII) warns about processes that serve a port with one
// replica (set or defaulted) and no autoscaling: they cannot scale out, and
// every rollout or node drain interrupts them. Zero replicas is a deliberate
// scale-down and passes, as do processes without a port.
func checkSingleReplica(app *tfv1.TwelveFactorApp, _ Observations) (string, bool) {
	var names []string
	for _, p := range app.Spec.Processes {
		if p.Port != nil && p.Autoscaling == nil && (p.Replicas == nil || *p.Replicas == 1) {
			names = append(names, p.Name)
		}
	}
	return firedWith(msgSingleReplica, names)
}

// checkGracePeriodTooShort (IX) fails when the termination grace period does
// not exceed the preStop sleep: the kubelet would kill the process before or
// as soon as it receives SIGTERM.
func checkGracePeriodTooShort(app *tfv1.TwelveFactorApp, _ Observations) (string, bool) {
	grace, sleep := int64(tfv1.DefaultGracePeriodSeconds), int64(tfv1.DefaultPreStopSleepSeconds)
	if s := app.Spec.Shutdown; s != nil {
		if s.GracePeriodSeconds != nil {
			grace = *s.GracePeriodSeconds
		}
		if s.PreStopSleepSeconds != nil {
			sleep = *s.PreStopSleepSeconds
		}
	}
	if grace > sleep {
		return "", false
	}
	return msgGracePeriodTooShort, true
}

// checkSlowStartup (IX) warns about process types observed to take longer
// than the threshold from pod creation to Ready. The message names the
// threshold, not the observed time, which changes on every observation.
func checkSlowStartup(app *tfv1.TwelveFactorApp, obs Observations) (string, bool) {
	limit := obs.StartupWarnSeconds
	if limit <= 0 {
		limit = DefaultStartupWarnSeconds
	}
	var names []string
	for _, p := range app.Spec.Processes {
		if s, ok := obs.StartupSeconds[p.Name]; ok && s > limit {
			names = append(names, p.Name)
		}
	}
	if len(names) == 0 {
		return "", false
	}
	return fmt.Sprintf("Processes took longer than %gs to become ready (%s): start fast, and move warm-up work out of startup or into the release phase.",
		limit, strings.Join(names, ", ")), true
}

// ownDigest is the digest the app runs: the observed one, or the digest in
// spec.build.image.
func ownDigest(app *tfv1.TwelveFactorApp, obs Observations) string {
	if obs.ImageDigest != "" {
		return digestOf(obs.ImageDigest)
	}
	if _, d, ok := strings.Cut(app.Spec.Build.Image, "@"); ok {
		return d
	}
	return ""
}

// digestOf returns the digest of a bare digest or a digest reference.
func digestOf(ref string) string {
	if _, d, ok := strings.Cut(ref, "@"); ok {
		return d
	}
	return ref
}

func promotedFrom(app *tfv1.TwelveFactorApp) string {
	if app.Spec.Promotion == nil {
		return ""
	}
	return app.Spec.Promotion.From
}

// checkDigestMismatch (X) fails a promoted app whose digest differs from the
// digest its upstream runs.
func checkDigestMismatch(app *tfv1.TwelveFactorApp, obs Observations) (string, bool) {
	from := promotedFrom(app)
	own := ownDigest(app, obs)
	if from == "" || obs.UpstreamDigest == nil || own == "" || own == digestOf(*obs.UpstreamDigest) {
		return "", false
	}
	return fmt.Sprintf("The image digest differs from the one upstream app %s runs: promote its digest by setting spec.build.image to its status.image.", from), true
}

// checkUpstreamUnknown (X) warns while the upstream's digest is unknown.
func checkUpstreamUnknown(app *tfv1.TwelveFactorApp, obs Observations) (string, bool) {
	from := promotedFrom(app)
	if from == "" || obs.UpstreamDigest != nil {
		return "", false
	}
	return fmt.Sprintf("The digest upstream app %s runs is not known, so dev/prod parity cannot be checked: make sure spec.promotion.from names an app in this namespace that has a running release.", from), true
}

// checkDigestUnknown (X) warns while the upstream is known but the app's own
// image is not resolved to a digest yet.
func checkDigestUnknown(app *tfv1.TwelveFactorApp, obs Observations) (string, bool) {
	from := promotedFrom(app)
	if from == "" || obs.UpstreamDigest == nil || ownDigest(app, obs) != "" {
		return "", false
	}
	return fmt.Sprintf("spec.build.image is not resolved to a digest yet, so it cannot be compared with upstream app %s: set spec.build.image to the digest reference it runs.", from), true
}

// checkLogToFile (XI) fails literal env vars that point logs at a file or a
// folder, by name (LOG_FILE, *_LOG_PATH, LOG_DIR…) or by value (/var/log/…,
// *.log). Values that name stdout or stderr pass.
func checkLogToFile(app *tfv1.TwelveFactorApp, _ Observations) (string, bool) {
	return firedWith(msgLogToFile, envNames(app, func(e tfv1.EnvVar) bool {
		if slices.Contains(LogStreamValues, e.Value) {
			return false
		}
		return logFileNameRE.MatchString(e.Name) ||
			e.Value == LogFolder || strings.HasPrefix(e.Value, LogFolder+"/") || strings.HasSuffix(e.Value, LogFileSuffix)
	}))
}

// Lookup returns the rule that reports reason.
func Lookup(reason string) (Rule, bool) {
	i := slices.IndexFunc(rules, func(r Rule) bool { return r.Reason == reason })
	if i < 0 {
		return Rule{}, false
	}
	return rules[i], true
}
