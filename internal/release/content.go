// Package release holds the pure logic of releases: what a release's content is,
// its hash, its name and its Heroku-style description. It has no client.
package release

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
)

// Content is everything that makes a release. Two specs with equal Content run
// the same code with the same config and bindings, so they are the same release.
// Scaling, ports, labels and annotations are formation, not content.
//
// The JSON tags name the fields of the hashed form (see hashedForm), which
// must keep them: changing a tag changes every hash.
type Content struct {
	// Image is the image reference pinned to a digest.
	Image string `json:"image"`
	// Revision is the source revision, when known. It is metadata, not hashed.
	Revision string `json:"-"`
	// SourceImage is spec.build.image as written. It is metadata, not hashed.
	SourceImage string `json:"-"`
	// Processes holds the command of each process type, sorted by name.
	Processes []tfv1.ReleaseProcess `json:"processes"`
	// ReleaseCommand is the release phase command.
	ReleaseCommand []string `json:"releaseCommand,omitempty"`
	// Env is the full resolved environment.
	Env map[string]string `json:"env"`
	// EnvSources says where each key came from ("env", "configmap/NAME",
	// "secret/NAME"). It is metadata, not hashed.
	EnvSources map[string]string `json:"-"`
	// Bindings holds each backing service's binding, sorted by name.
	Bindings []Binding `json:"bindings,omitempty"`
}

// Binding is the resolved data of one backing service.
type Binding struct {
	Name     string            `json:"name"`
	Type     string            `json:"type"`
	Provider string            `json:"provider,omitempty"`
	Data     map[string][]byte `json:"data"`
	Env      []tfv1.BindingEnv `json:"env,omitempty"`
	// Source names where the data came from ("secret/NAME"). Not hashed.
	Source string `json:"-"`
}

// Normalize sorts every list so equal content hashes equally.
func (c *Content) Normalize() {
	sort.Slice(c.Processes, func(i, j int) bool { return c.Processes[i].Name < c.Processes[j].Name })
	sort.Slice(c.Bindings, func(i, j int) bool { return c.Bindings[i].Name < c.Bindings[j].Name })
	for i := range c.Bindings {
		b := &c.Bindings[i]
		sort.Slice(b.Env, func(x, y int) bool { return b.Env[x].Name < b.Env[y].Name })
	}
	if c.Env == nil {
		c.Env = map[string]string{}
	}
}

// Hash returns the content hash: a hex SHA-256 of the canonical JSON of the
// content (see hashedForm). encoding/json sorts map keys, so the encoding is
// canonical. It is injective on bytes: contents that differ in any byte of a
// hashed field hash differently, binary values included.
func (c Content) Hash() string {
	c.Processes = slices.Clone(c.Processes)
	c.Bindings = slices.Clone(c.Bindings)
	for i := range c.Bindings {
		// Normalize sorts each binding's env in place: not the caller's.
		c.Bindings[i].Env = slices.Clone(c.Bindings[i].Env)
	}
	c.Normalize()
	b, err := json.Marshal(hashedForm(c))
	if err != nil {
		// The hashed form holds only strings, byte slices and lists of them.
		panic(fmt.Sprintf("release content is not serialisable: %v", err))
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// ShortHash is the hash truncated to fit a label value.
func ShortHash(hash string) string {
	if len(hash) > 32 {
		return hash[:32]
	}
	return hash
}

// Name returns the name of release N of an app: <app>-v<N>.
func Name(app string, n int32) string { return fmt.Sprintf("%s-v%d", app, n) }

// EnvSecretName returns the name of release N's environment Secret.
func EnvSecretName(app string, n int32) string { return fmt.Sprintf("%s-v%d-env", app, n) }

// BindingSecretName returns the name of release N's snapshot of a binding.
func BindingSecretName(app string, n int32, binding string) string {
	return fmt.Sprintf("%s-v%d-binding-%s", app, n, binding)
}

// JobName returns the name of release N's release phase Job.
func JobName(app string, n int32) string { return fmt.Sprintf("%s-v%d-release", app, n) }

// ProcessName returns the name of a process type's Deployment and Service.
func ProcessName(app, process string) string { return app + "-" + process }

// ShortDigest returns the first 12 hex characters of the digest in an image reference.
func ShortDigest(image string) string {
	_, d, ok := strings.Cut(image, "@")
	if !ok {
		return image
	}
	_, hex, _ := strings.Cut(d, ":")
	if len(hex) > 12 {
		hex = hex[:12]
	}
	return hex
}

// Keys returns the sorted environment keys.
func (c Content) Keys() []string {
	keys := make([]string, 0, len(c.Env))
	for k := range c.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
