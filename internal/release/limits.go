package release

import (
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Limits that release content must fit. The api does not export the Release's
// schema bounds; these mirror the markers on ReleaseSpec in
// api/v1alpha1/release_types.go, and a test reads the generated CRD to keep
// them in step.
const (
	// MaxSecretSize is Kubernetes' limit on a Secret's data: the sum of the
	// lengths of its values (the API server does not count the keys).
	MaxSecretSize = corev1.MaxSecretSize
	// MaxSecretKeyLength is the longest key a Secret's data may have.
	MaxSecretKeyLength = validation.DNS1123SubdomainMaxLength
	// MaxConfigKeys mirrors +kubebuilder:validation:MaxItems on
	// ReleaseSpec.configKeys. Its items have no MaxLength: a key is bounded
	// by MaxSecretKeyLength, since every key is a key of the env Secret.
	MaxConfigKeys = 1024
	// MaxDescriptionLength mirrors +kubebuilder:validation:MaxLength on
	// ReleaseSpec.description.
	MaxDescriptionLength = 1024
)

// ReasonLimitExceeded is the condition reason of content that exceeds a limit.
// It belongs with the other reasons in api/v1alpha1; it is here until the api
// exports it.
const ReasonLimitExceeded = "LimitExceeded"

// Limit names one limit that release content must fit.
type Limit string

// The limits CheckLimits checks.
const (
	// LimitEnvSecretSize: the values of the environment exceed MaxSecretSize.
	LimitEnvSecretSize Limit = "EnvSecretSize"
	// LimitBindingSecretSize: a binding's data with its type and provider
	// entries exceeds MaxSecretSize.
	LimitBindingSecretSize Limit = "BindingSecretSize"
	// LimitConfigKeys: the environment has more keys than MaxConfigKeys.
	LimitConfigKeys Limit = "ConfigKeys"
	// LimitConfigKeyLength: a key is longer than MaxSecretKeyLength.
	LimitConfigKeyLength Limit = "ConfigKeyLength"
	// LimitConfigKeyName: a key is not a valid Secret key (alphanumerics,
	// '-', '_' and '.'; not "." or "..", not starting with "..").
	LimitConfigKeyName Limit = "ConfigKeyName"
)

// LimitViolation is one limit that content exceeds. It names keys and sizes,
// never a value.
type LimitViolation struct {
	// Limit is the limit exceeded.
	Limit Limit
	// Subject is what exceeds it: "the environment", `binding "db"`,
	// `config key "FOO"`.
	Subject string
	// Found is the size found: bytes, keys or characters, as Max. Zero for
	// LimitConfigKeyName, which is not a size.
	Found int
	// Max is the limit, zero for LimitConfigKeyName.
	Max int
	// Message is a sentence that names the limit, the size found and the fix.
	Message string
}

// maxKeyShown is the longest key quoted whole in a message.
const maxKeyShown = 64

// CheckLimits returns the limits the content exceeds, in a stable order: the
// environment's size and number of keys, then its keys in order, then each
// binding by name. Nil means the content fits.
func (c Content) CheckLimits() []LimitViolation {
	var out []LimitViolation
	size := 0
	for _, v := range c.Env {
		size += len(v)
	}
	if size > MaxSecretSize {
		out = append(out, LimitViolation{Limit: LimitEnvSecretSize, Subject: "the environment", Found: size, Max: MaxSecretSize,
			Message: fmt.Sprintf("the environment's values total %d bytes, over the %d bytes (1 MiB) a Kubernetes Secret may hold (largest: %s): "+
				"move large values out of spec.config, into a file in the image or a backing service binding", size, MaxSecretSize, largest(c))})
	}
	if n := len(c.Env); n > MaxConfigKeys {
		out = append(out, LimitViolation{Limit: LimitConfigKeys, Subject: "the environment", Found: n, Max: MaxConfigKeys,
			Message: fmt.Sprintf("the environment has %d keys, over the %d a Release's spec.configKeys may list: "+
				"remove keys from spec.config.env or from the ConfigMaps and Secrets of spec.config.envFrom", n, MaxConfigKeys)})
	}
	for _, k := range c.Keys() {
		subject := "config key " + showKey(k)
		from := ""
		if src := c.EnvSources[k]; src != "" {
			from = " (from " + src + ")"
		}
		if n := len(k); n > MaxSecretKeyLength {
			out = append(out, LimitViolation{Limit: LimitConfigKeyLength, Subject: subject, Found: n, Max: MaxSecretKeyLength,
				Message: fmt.Sprintf("%s%s is %d characters long, over the %d a Secret key may have: shorten the key or the prefix of its spec.config.envFrom entry",
					subject, from, n, MaxSecretKeyLength)})
			continue
		}
		if len(validation.IsConfigMapKey(k)) > 0 {
			out = append(out, LimitViolation{Limit: LimitConfigKeyName, Subject: subject,
				Message: fmt.Sprintf("%s%s is not a valid Secret key, which holds only letters, digits, '-', '_' and '.' and is not \".\", \"..\" or starting with \"..\": rename it",
					subject, from)})
		}
	}
	bindings := append([]Binding(nil), c.Bindings...)
	sort.Slice(bindings, func(i, j int) bool { return bindings[i].Name < bindings[j].Name })
	for _, b := range bindings {
		if size := BindingSecretSize(b); size > MaxSecretSize {
			from := ""
			if b.Source != "" {
				from = " (" + b.Source + ")"
			}
			subject := fmt.Sprintf("binding %q", b.Name)
			out = append(out, LimitViolation{Limit: LimitBindingSecretSize, Subject: subject, Found: size, Max: MaxSecretSize,
				Message: fmt.Sprintf("%s%s holds %d bytes with its type and provider entries, over the %d bytes (1 MiB) a Kubernetes Secret may hold: "+
					"remove large entries from the binding Secret", subject, from, size, MaxSecretSize)})
		}
	}
	return out
}

// BindingSecretSize returns the size of a binding's snapshot Secret as the API
// server counts it: the lengths of its values, with the type and provider
// entries the snapshot adds.
func BindingSecretSize(b Binding) int {
	size := len(b.Type)
	if b.Provider != "" {
		size += len(b.Provider)
	}
	for k, v := range b.Data {
		if k == "type" || (k == "provider" && b.Provider != "") {
			// The snapshot's own entries replace these.
			continue
		}
		size += len(v)
	}
	return size
}

// LimitsMessage joins the messages of violations into one condition message:
// the first three, then how many more.
func LimitsMessage(vs []LimitViolation) string {
	const shown = 3
	msgs := make([]string, 0, shown)
	for i, v := range vs {
		if i == shown {
			break
		}
		msgs = append(msgs, v.Message)
	}
	s := strings.Join(msgs, "; ")
	if len(vs) > shown {
		s += fmt.Sprintf("; and %d more limits exceeded", len(vs)-shown)
	}
	return s
}

// largest names the three largest values of the environment by key, with
// their sizes.
func largest(c Content) string {
	keys := c.Keys()
	sort.SliceStable(keys, func(i, j int) bool { return len(c.Env[keys[i]]) > len(c.Env[keys[j]]) })
	if len(keys) > 3 {
		keys = keys[:3]
	}
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = showKey(k) + " " + byteCount(len(c.Env[k]))
	}
	return strings.Join(parts, ", ")
}

func byteCount(n int) string {
	if n == 1 {
		return "1 byte"
	}
	return fmt.Sprintf("%d bytes", n)
}

// showKey quotes a key for a message, shortened to maxKeyShown characters.
func showKey(k string) string {
	if utf8.RuneCountInString(k) > maxKeyShown {
		return fmt.Sprintf("%q", string([]rune(k)[:maxKeyShown])+"…")
	}
	return fmt.Sprintf("%q", k)
}
