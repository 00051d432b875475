package release_test

import (
	"testing"

	. "github.com/onsi/gomega"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
	"github.com/twelvefactor/twelvefactor-operator/internal/release"
)

func TestPortableKey(t *testing.T) {
	cases := map[string]bool{
		"PORT": true, "_": true, "_X1": true, "a": true, "LOG_LEVEL": true, "x9": true,
		"": false, "1KEY": false, "9": false, "log.level": false, "my-key": false, "A B": false,
		"KEY=": false, "ÜBER": false, "K\xff": false, "K\x00": false,
	}
	for k, want := range cases {
		t.Run(k, func(t *testing.T) {
			NewWithT(t).Expect(release.PortableKey(k)).To(Equal(want))
		})
	}
}

func TestMergeEnv(t *testing.T) {
	g := NewWithT(t)
	env, sources, shadowed := release.MergeEnv([]release.EnvSource{
		{Source: "configmap/base", Env: map[string]string{"A": "1", "B": "1", "C": "1"}},
		{Source: "secret/creds", Env: map[string]string{"B": "2", "TOKEN": "s3cr3t"}},
		{Source: "configmap/base", Env: map[string]string{"C": "1"}},
		{Source: release.SourceInline, Env: map[string]string{"A": "3", "B": "3"}},
	})
	g.Expect(env).To(Equal(map[string]string{"A": "3", "B": "3", "C": "1", "TOKEN": "s3cr3t"}))
	g.Expect(sources).To(Equal(map[string]string{"A": "env", "B": "env", "C": "configmap/base", "TOKEN": "secret/creds"}))
	g.Expect(shadowed).To(Equal([]release.Shadow{
		{Key: "A", Source: "configmap/base", By: "env"},
		{Key: "B", Source: "configmap/base", By: "secret/creds"},
		{Key: "B", Source: "secret/creds", By: "env"},
	}))
}

func TestAnalyzeEnv(t *testing.T) {
	db := release.Binding{Name: "db", Env: []tfv1.BindingEnv{{Name: "DATABASE_URL", Key: "uri"}, {Name: "PORT", Key: "port"}}}
	cache := release.Binding{Name: "cache", Env: []tfv1.BindingEnv{{Name: "DATABASE_URL", Key: "url"}, {Name: "REDIS_URL", Key: "url"}}}
	cases := []struct {
		name        string
		sources     map[string]string
		bindings    []release.Binding
		operator    []string
		effective   []release.EnvKey
		nonPortable []string
		shadowed    []release.Shadow
		overridden  []string
	}{
		{name: "nothing"},
		{name: "config only, with non-portable keys",
			sources:     map[string]string{"LOG_LEVEL": "env", "log.level": "configmap/app", "1KEY": "secret/x", "NO_SOURCE": ""},
			effective:   []release.EnvKey{{Name: "1KEY", Source: "secret/x"}, {Name: "LOG_LEVEL", Source: "env"}, {Name: "NO_SOURCE", Source: "config"}, {Name: "log.level", Source: "configmap/app"}},
			nonPortable: []string{"1KEY", "log.level"}},
		{name: "a binding mapping overrides config",
			sources:    map[string]string{"DATABASE_URL": "secret/legacy"},
			bindings:   []release.Binding{{Name: "db", Env: []tfv1.BindingEnv{{Name: "DATABASE_URL", Key: "uri"}}}},
			effective:  []release.EnvKey{{Name: "DATABASE_URL", Source: "binding/db"}},
			shadowed:   []release.Shadow{{Key: "DATABASE_URL", Source: "secret/legacy", By: "binding/db"}},
			overridden: []string{"DATABASE_URL"}},
		{name: "the operator overrides config and bindings; bindings apply by name",
			sources:  map[string]string{"PORT": "env", "APP_NAME": "configmap/app", "X": "env"},
			bindings: []release.Binding{db, cache},
			operator: release.OperatorEnvNames(),
			effective: []release.EnvKey{
				{Name: "APP_NAME", Source: "operator"}, {Name: "DATABASE_URL", Source: "binding/db"},
				{Name: "OTEL_RESOURCE_ATTRIBUTES", Source: "operator"}, {Name: "OTEL_SERVICE_NAME", Source: "operator"},
				{Name: "PORT", Source: "operator"}, {Name: "PROCESS_TYPE", Source: "operator"},
				{Name: "REDIS_URL", Source: "binding/cache"}, {Name: "RELEASE_VERSION", Source: "operator"},
				{Name: "SERVICE_BINDING_ROOT", Source: "operator"}, {Name: "X", Source: "env"},
			},
			shadowed: []release.Shadow{
				{Key: "APP_NAME", Source: "configmap/app", By: "operator"},
				{Key: "DATABASE_URL", Source: "binding/cache", By: "binding/db"},
				{Key: "PORT", Source: "env", By: "binding/db"},
				{Key: "PORT", Source: "binding/db", By: "operator"},
			},
			overridden: []string{"APP_NAME", "PORT"}},
		{name: "PORT from config stays where the operator does not set it",
			sources:   map[string]string{"PORT": "env"},
			operator:  []string{"APP_NAME", "APP_NAME"},
			effective: []release.EnvKey{{Name: "APP_NAME", Source: "operator"}, {Name: "PORT", Source: "env"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			r := release.AnalyzeEnv(tc.sources, tc.bindings, tc.operator)
			g.Expect(r.Effective).To(Equal(tc.effective))
			g.Expect(r.NonPortable).To(Equal(tc.nonPortable))
			g.Expect(r.Shadowed).To(Equal(tc.shadowed))
			g.Expect(r.Overridden()).To(Equal(tc.overridden))
		})
	}
}

func TestAnalyzeEnvDoesNotReorderTheCallersBindings(t *testing.T) {
	bs := []release.Binding{{Name: "z", Env: []tfv1.BindingEnv{{Name: "B"}, {Name: "A"}}}, {Name: "a"}}
	_ = release.AnalyzeEnv(nil, bs, nil)
	g := NewWithT(t)
	g.Expect(bs[0].Name).To(Equal("z"))
	g.Expect(bs[0].Env[0].Name).To(Equal("B"))
}

func TestOperatorEnvNamesArePortable(t *testing.T) {
	for _, n := range release.OperatorEnvNames() {
		NewWithT(t).Expect(release.PortableKey(n)).To(BeTrue(), n)
	}
}

func TestSecretEnvHoldsWhatThePodsSee(t *testing.T) {
	cases := []struct {
		name string
		c    release.Content
		want []string
	}{
		{"nothing shadowed", release.Content{Env: map[string]string{"A": "1", "PORT": "9"}}, []string{"A", "PORT"}},
		{"operator names set in every pod are dropped, PORT is kept for workers",
			release.Content{Env: map[string]string{"A": "1", "APP_NAME": "x", "RELEASE_VERSION": "v9", "PORT": "9"}}, []string{"A", "PORT"}},
		{"SERVICE_BINDING_ROOT only when there are bindings",
			release.Content{Env: map[string]string{"SERVICE_BINDING_ROOT": "/b"}}, []string{"SERVICE_BINDING_ROOT"}},
		{"a binding's env mapping wins over config",
			release.Content{Env: map[string]string{"DATABASE_URL": "literal", "SERVICE_BINDING_ROOT": "/b", "B": "2"},
				Bindings: []release.Binding{{Name: "db", Env: []tfv1.BindingEnv{{Name: "DATABASE_URL", Key: "uri"}}}}}, []string{"B"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.c.SecretEnv()
			keys := make([]string, 0, len(got))
			for k := range got {
				keys = append(keys, k)
			}
			NewWithT(t).Expect(keys).To(ConsistOf(tc.want))
		})
	}
}
