package release

import (
	"slices"
	"sort"
	"strings"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
)

// The environment of a release's containers is set by four layers. From the
// lowest precedence to the highest:
//
//  1. spec.config.envFrom, each ConfigMap or Secret in list order, a later one
//     overriding an earlier one;
//  2. spec.config.env;
//  3. the env mappings of the backing services (spec.services[].env), by
//     binding name, a later binding overriding an earlier one;
//  4. the names the operator sets (OperatorEnvNames).
//
// Layers 1 and 2 are merged into the release's env Secret (MergeEnv), which
// the pod reads with envFrom; layers 3 and 4 are the pod's env, which wins
// over envFrom. A key set by more than one layer is shadowed: AnalyzeEnv
// says which, by what, and names keys only.

// Sources of the environment, besides "configmap/NAME", "secret/NAME" and
// "binding/NAME".
const (
	// SourceInline is the source of the keys of spec.config.env.
	SourceInline = "env"
	// SourceOperator is the source of the names the operator sets.
	SourceOperator = "operator"
)

// bindingSourcePrefix starts the source of a binding's env mapping.
const bindingSourcePrefix = "binding/"

// OperatorEnvNames returns the names the operator sets as literal env in a
// release's containers (render.PodTemplate): PORT when the process has a port,
// SERVICE_BINDING_ROOT when the release has bindings, the others always.
func OperatorEnvNames() []string { return slices.Clone(tfv1.ReservedEnvNames) }

// PortableKey reports whether k is a portable environment variable name in
// POSIX's sense, ^[A-Za-z_][A-Za-z0-9_]*$: one a shell can read as $k.
// Kubernetes accepts more (such as "log.level" or "1KEY"), which the process
// receives but a shell cannot expand.
func PortableKey(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch {
		case c == '_', 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// EnvSource is one source of the env Secret: a ConfigMap or Secret of
// spec.config.envFrom with its prefix applied to its keys, or spec.config.env.
type EnvSource struct {
	// Source is "configmap/NAME", "secret/NAME" or SourceInline.
	Source string
	// Env holds the source's keys, prefixed, and values.
	Env map[string]string
}

// Shadow is a key set by two sources, where the pod sees only one value.
type Shadow struct {
	// Key is the environment variable.
	Key string
	// Source is the source whose value is hidden.
	Source string
	// By is the source whose value the pod sees.
	By string
}

// MergeEnv merges the sources of the env Secret in precedence order, a later
// source overriding an earlier one: the envFrom sources in order, then
// spec.config.env. It returns the merged environment, the source of each key,
// and the keys shadowed within it, sorted by key. A source listed twice does
// not shadow itself.
func MergeEnv(srcs []EnvSource) (env, sources map[string]string, shadowed []Shadow) {
	env, sources = map[string]string{}, map[string]string{}
	for _, src := range srcs {
		for _, k := range sortedKeys(src.Env) {
			if prev, ok := sources[k]; ok && prev != src.Source {
				shadowed = append(shadowed, Shadow{Key: k, Source: prev, By: src.Source})
			}
			env[k] = src.Env[k]
			sources[k] = src.Source
		}
	}
	sortShadows(shadowed)
	return env, sources, shadowed
}

// EnvKey is one variable of a container's environment and the source of its
// value.
type EnvKey struct {
	Name   string
	Source string
}

// EnvReport describes a release's environment by key, never by value.
type EnvReport struct {
	// Effective lists every variable the container gets, sorted by name, with
	// the source whose value it sees.
	Effective []EnvKey
	// NonPortable lists the keys that are not PortableKey, sorted.
	NonPortable []string
	// Shadowed lists the keys set by more than one layer, sorted by key.
	Shadowed []Shadow
}

// AnalyzeEnv applies the precedence to the keys of the env Secret with their
// sources (Content.EnvSources; an empty source reads as "config"), the env
// mappings of the bindings, and the names the operator sets in the container
// (OperatorEnvNames, or the subset a given process gets).
func AnalyzeEnv(sources map[string]string, bindings []Binding, operator []string) EnvReport {
	seen := make(map[string]string, len(sources))
	var r EnvReport
	set := func(k, src string) {
		if prev, ok := seen[k]; ok && prev != src {
			r.Shadowed = append(r.Shadowed, Shadow{Key: k, Source: prev, By: src})
		}
		seen[k] = src
	}
	for _, k := range sortedKeys(sources) {
		src := sources[k]
		if src == "" {
			src = "config"
		}
		set(k, src)
	}
	bs := slices.Clone(bindings)
	sort.SliceStable(bs, func(i, j int) bool { return bs[i].Name < bs[j].Name })
	for _, b := range bs {
		env := slices.Clone(b.Env)
		sort.SliceStable(env, func(i, j int) bool { return env[i].Name < env[j].Name })
		for _, e := range env {
			set(e.Name, bindingSourcePrefix+b.Name)
		}
	}
	for _, n := range operator {
		set(n, SourceOperator)
	}
	for _, k := range sortedKeys(seen) {
		r.Effective = append(r.Effective, EnvKey{Name: k, Source: seen[k]})
		if !PortableKey(k) {
			r.NonPortable = append(r.NonPortable, k)
		}
	}
	sortShadows(r.Shadowed)
	return r
}

// Overridden returns the keys of the env Secret whose value the pod does not
// see, because a binding's env mapping or the operator sets the key in the
// pod's env. Sorted. To drop them from a Secret shared by every process, pass
// AnalyzeEnv only the names set in every container of the release.
func (r EnvReport) Overridden() []string {
	var out []string
	for _, s := range r.Shadowed {
		if IsConfigSource(s.Source) && !IsConfigSource(s.By) {
			out = append(out, s.Key)
		}
	}
	return slices.Compact(out)
}

// IsConfigSource reports whether a source is one of the env Secret's
// (spec.config.envFrom or spec.config.env), not a binding's or the operator's.
func IsConfigSource(src string) bool {
	return src != SourceOperator && !strings.HasPrefix(src, bindingSourcePrefix)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func sortShadows(s []Shadow) {
	sort.SliceStable(s, func(i, j int) bool { return s[i].Key < s[j].Key })
}

// SecretEnv returns the environment the release's env Secret holds: the
// resolved environment less the keys every container of the release sets in
// its own env (the operator's names but PORT, which only a process with a port
// gets, SERVICE_BINDING_ROOT when there are bindings, and the bindings' env
// mappings). So the Secret holds what the pods see. The content hash is of the
// whole resolved environment, so the release's identity does not change.
func (c Content) SecretEnv() map[string]string {
	var inEveryPod []string
	for _, n := range OperatorEnvNames() {
		if n == "PORT" || (n == "SERVICE_BINDING_ROOT" && len(c.Bindings) == 0) {
			continue
		}
		inEveryPod = append(inEveryPod, n)
	}
	sources := make(map[string]string, len(c.Env))
	for k := range c.Env {
		sources[k] = SourceInline
		if src := c.EnvSources[k]; src != "" {
			sources[k] = src
		}
	}
	drop := AnalyzeEnv(sources, c.Bindings, inEveryPod).Overridden()
	if len(drop) == 0 {
		return c.Env
	}
	out := make(map[string]string, len(c.Env))
	for k, v := range c.Env {
		if !slices.Contains(drop, k) {
			out[k] = v
		}
	}
	return out
}
