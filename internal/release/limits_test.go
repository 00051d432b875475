package release_test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"

	"github.com/twelvefactor/twelvefactor-operator/internal/release"
)

// secretValue is a value no limit message may contain.
const secretValue = "s3cr3t"

// sized returns a value of n bytes that starts with secretValue.
func sized(n int) string {
	if n < len(secretValue) {
		return strings.Repeat("x", n)
	}
	return secretValue + strings.Repeat("x", n-len(secretValue))
}

func manyKeys(n int) map[string]string {
	env := make(map[string]string, n)
	for i := range n {
		env[fmt.Sprintf("KEY_%04d", i)] = "v"
	}
	return env
}

func TestCheckLimits(t *testing.T) {
	cases := []struct {
		name string
		c    release.Content
		want []release.Limit
		// found is the size the first violation reports.
		found int
	}{
		{"empty content fits", release.Content{}, nil, 0},
		{"env values exactly at 1 MiB fit", release.Content{Env: map[string]string{"A": sized(release.MaxSecretSize - 1), "B": "x"}}, nil, 0},
		{"env values one byte over 1 MiB", release.Content{Env: map[string]string{"A": sized(release.MaxSecretSize), "B": "x"}},
			[]release.Limit{release.LimitEnvSecretSize}, release.MaxSecretSize + 1},
		{"env keys do not count towards the Secret's size", release.Content{Env: map[string]string{strings.Repeat("K", 200): sized(release.MaxSecretSize)}}, nil, 0},
		{"1024 keys fit", release.Content{Env: manyKeys(release.MaxConfigKeys)}, nil, 0},
		{"1025 keys", release.Content{Env: manyKeys(release.MaxConfigKeys + 1)}, []release.Limit{release.LimitConfigKeys}, release.MaxConfigKeys + 1},
		{"a 253-character key fits", release.Content{Env: map[string]string{strings.Repeat("K", 253): "v"}}, nil, 0},
		{"a 254-character key", release.Content{Env: map[string]string{strings.Repeat("K", 254): "v"}}, []release.Limit{release.LimitConfigKeyLength}, 254},
		{"a key a Secret cannot hold", release.Content{Env: map[string]string{"A B": "v"}}, []release.Limit{release.LimitConfigKeyName}, 0},
		{"a dotted key is a valid Secret key", release.Content{Env: map[string]string{"log.level": "v"}}, nil, 0},
		{"binding exactly at 1 MiB with type and provider fits", release.Content{Bindings: []release.Binding{{Name: "db", Type: "pg", Provider: "p",
			Data: map[string][]byte{"a": []byte(sized(release.MaxSecretSize - 3))}}}}, nil, 0},
		{"binding one byte over 1 MiB with type and provider", release.Content{Bindings: []release.Binding{{Name: "db", Type: "pg", Provider: "p",
			Data: map[string][]byte{"a": []byte(sized(release.MaxSecretSize - 2))}}}}, []release.Limit{release.LimitBindingSecretSize}, release.MaxSecretSize + 1},
		{"every violation, in order", release.Content{
			Env: func() map[string]string {
				env := manyKeys(release.MaxConfigKeys)
				env[strings.Repeat("K", 300)] = sized(release.MaxSecretSize)
				env["A B"] = "v"
				return env
			}(),
			Bindings: []release.Binding{
				{Name: "z", Type: "t", Data: map[string][]byte{"a": make([]byte, release.MaxSecretSize)}},
				{Name: "a", Type: "t", Data: map[string][]byte{"a": make([]byte, release.MaxSecretSize)}},
			}},
			[]release.Limit{release.LimitEnvSecretSize, release.LimitConfigKeys, release.LimitConfigKeyName, release.LimitConfigKeyLength,
				release.LimitBindingSecretSize, release.LimitBindingSecretSize}, release.MaxSecretSize + release.MaxConfigKeys + 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			vs := tc.c.CheckLimits()
			var got []release.Limit
			for _, v := range vs {
				got = append(got, v.Limit)
				g.Expect(v.Message).NotTo(ContainSubstring(secretValue))
				g.Expect(v.Message).To(ContainSubstring(v.Subject))
				if v.Max > 0 {
					g.Expect(v.Message).To(ContainSubstring(fmt.Sprint(v.Found)))
					g.Expect(v.Message).To(ContainSubstring(fmt.Sprint(v.Max)))
				}
			}
			g.Expect(got).To(Equal(tc.want))
			if len(vs) > 0 {
				g.Expect(vs[0].Found).To(Equal(tc.found))
			}
		})
	}
}

func TestLimitMessagesNameTheLimitTheSizeAndTheFix(t *testing.T) {
	g := NewWithT(t)
	c := release.Content{
		Env:        map[string]string{"BIG": sized(release.MaxSecretSize), "SMALL": secretValue, strings.Repeat("L", 254): "v"},
		EnvSources: map[string]string{"BIG": "secret/blobs", strings.Repeat("L", 254): "configmap/long"},
		Bindings:   []release.Binding{{Name: "db", Type: "pg", Source: "secret/db-creds", Data: map[string][]byte{"ca": []byte(sized(release.MaxSecretSize))}}},
	}
	vs := c.CheckLimits()
	g.Expect(vs).To(HaveLen(3))
	g.Expect(vs[0].Message).To(Equal(`the environment's values total 1048583 bytes, over the 1048576 bytes (1 MiB) a Kubernetes Secret may hold ` +
		`(largest: "BIG" 1048576 bytes, "SMALL" 6 bytes, "` + strings.Repeat("L", 254)[:64] + `…" 1 byte): ` +
		`move large values out of spec.config, into a file in the image or a backing service binding`))
	g.Expect(vs[1].Message).To(Equal(`config key "` + strings.Repeat("L", 64) + `…" (from configmap/long) is 254 characters long, ` +
		`over the 253 a Secret key may have: shorten the key or the prefix of its spec.config.envFrom entry`))
	g.Expect(vs[2].Message).To(Equal(`binding "db" (secret/db-creds) holds 1048578 bytes with its type and provider entries, ` +
		`over the 1048576 bytes (1 MiB) a Kubernetes Secret may hold: remove large entries from the binding Secret`))
	msg := release.LimitsMessage(vs)
	g.Expect(msg).To(ContainSubstring(vs[0].Message))
	g.Expect(msg).NotTo(ContainSubstring(secretValue))
}

func TestLimitsMessage(t *testing.T) {
	v := func(m string) release.LimitViolation { return release.LimitViolation{Message: m} }
	cases := []struct {
		name string
		vs   []release.LimitViolation
		want string
	}{
		{"none", nil, ""},
		{"one", []release.LimitViolation{v("a")}, "a"},
		{"three", []release.LimitViolation{v("a"), v("b"), v("c")}, "a; b; c"},
		{"five", []release.LimitViolation{v("a"), v("b"), v("c"), v("d"), v("e")}, "a; b; c; and 2 more limits exceeded"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			NewWithT(t).Expect(release.LimitsMessage(tc.vs)).To(Equal(tc.want))
		})
	}
}

func TestBindingSecretSizeCountsWhatTheSnapshotHolds(t *testing.T) {
	cases := []struct {
		name string
		b    release.Binding
		want int
	}{
		{"data, type and provider", release.Binding{Type: "pg", Provider: "p", Data: map[string][]byte{"a": []byte("123"), "b": nil}}, 6},
		{"no provider entry", release.Binding{Type: "pg", Data: map[string][]byte{"a": []byte("123")}}, 5},
		{"type and provider replace data entries", release.Binding{Type: "pg", Provider: "p", Data: map[string][]byte{"type": []byte("xxxx"), "provider": []byte("yy")}}, 3},
		{"a provider data entry stays when provider is empty", release.Binding{Type: "pg", Data: map[string][]byte{"provider": []byte("yy")}}, 4},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			NewWithT(t).Expect(release.BindingSecretSize(tc.b)).To(Equal(tc.want))
		})
	}
}

// The api does not export the Release's schema bounds; the constants mirror
// the generated CRD.
func TestLimitConstantsMatchTheReleaseCRD(t *testing.T) {
	g := NewWithT(t)
	b, err := os.ReadFile("../../config/crd/bases/twelvefactor.dev_releases.yaml")
	g.Expect(err).NotTo(HaveOccurred())
	crd := &apiextensionsv1.CustomResourceDefinition{}
	g.Expect(yaml.Unmarshal(b, crd)).To(Succeed())
	g.Expect(crd.Spec.Versions).NotTo(BeEmpty())
	spec := crd.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"]
	keys := spec.Properties["configKeys"]
	g.Expect(keys.MaxItems).To(HaveValue(BeEquivalentTo(release.MaxConfigKeys)))
	g.Expect(keys.Items.Schema.MaxLength).To(BeNil(), "configKeys items are bounded now: check keys against that bound in CheckLimits")
	g.Expect(spec.Properties["description"].MaxLength).To(HaveValue(BeEquivalentTo(release.MaxDescriptionLength)))
}
