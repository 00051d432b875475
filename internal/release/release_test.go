package release_test

import (
	"testing"

	. "github.com/onsi/gomega"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
	"github.com/twelvefactor/twelvefactor-operator/internal/release"
)

const img = "registry.example/shop@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

func content() release.Content {
	return release.Content{
		Image:     img,
		Revision:  "3f2c1a9",
		Processes: []tfv1.ReleaseProcess{{Name: "web", Command: []string{"puma"}}, {Name: "worker", Command: []string{"sidekiq"}}},
		Env:       map[string]string{"LOG_LEVEL": "info", "CURRENCY": "EUR"},
		Bindings:  []release.Binding{{Name: "db", Type: "postgresql", Data: map[string][]byte{"uri": []byte("postgres://x")}}},
	}
}

func TestHashIgnoresOrderAndMetadata(t *testing.T) {
	g := NewWithT(t)
	a := content()
	b := content()
	b.Processes[0], b.Processes[1] = b.Processes[1], b.Processes[0]
	b.Revision = "other"
	b.SourceImage = "registry.example/shop:1.0"
	b.EnvSources = map[string]string{"LOG_LEVEL": "env"}
	g.Expect(a.Hash()).To(Equal(b.Hash()))
	g.Expect(a.Hash()).To(HaveLen(64))
}

func TestHashChangesWithContent(t *testing.T) {
	cases := map[string]func(c *release.Content){
		"image":           func(c *release.Content) { c.Image = img[:len(img)-1] + "b" },
		"env value":       func(c *release.Content) { c.Env["LOG_LEVEL"] = "debug" },
		"env key":         func(c *release.Content) { c.Env["NEW"] = "" },
		"command":         func(c *release.Content) { c.Processes[0].Command = []string{"unicorn"} },
		"release command": func(c *release.Content) { c.ReleaseCommand = []string{"migrate"} },
		"binding data":    func(c *release.Content) { c.Bindings[0].Data = map[string][]byte{"uri": []byte("postgres://y")} },
		"binding type":    func(c *release.Content) { c.Bindings[0].Type = "mysql" },
		"process removed": func(c *release.Content) { c.Processes = c.Processes[:1] },
	}
	base := content().Hash()
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			c := content()
			mutate(&c)
			NewWithT(t).Expect(c.Hash()).NotTo(Equal(base))
		})
	}
}

func TestDescribe(t *testing.T) {
	prevContent := content()
	cases := []struct {
		name   string
		mutate func(c *release.Content)
		prev   release.Previous
		want   string
	}{
		{"first release", func(*release.Content) {}, release.Previous{}, "Deploy 3f2c1a9"},
		{"first release without revision", func(c *release.Content) { c.Revision = "" }, release.Previous{}, "Deploy aaaaaaaaaaaa"},
		{"new image", func(c *release.Content) { c.Image = img[:len(img)-1] + "b"; c.Revision = "9e8d7c6" }, release.Previous{Latest: &prevContent}, "Deploy 9e8d7c6"},
		{"set and remove config", func(c *release.Content) {
			c.Env = map[string]string{"LOG_LEVEL": "debug", "FOO": "1"}
		}, release.Previous{Latest: &prevContent}, "Set FOO, LOG_LEVEL config; Remove CURRENCY config"},
		{"attach and detach", func(c *release.Content) {
			c.Bindings = []release.Binding{{Name: "cache", Type: "redis"}}
		}, release.Previous{Latest: &prevContent}, "Attach cache; Detach db"},
		{"rotated binding", func(c *release.Content) {
			c.Bindings = []release.Binding{{Name: "db", Type: "postgresql", Data: map[string][]byte{"uri": []byte("postgres://rotated")}}}
		}, release.Previous{Latest: &prevContent}, "Update db binding"},
		{"command change", func(c *release.Content) {
			c.Processes = []tfv1.ReleaseProcess{{Name: "web", Command: []string{"unicorn"}}}
		}, release.Previous{Latest: &prevContent}, "Update web command; Remove worker process"},
		{"same content as an older release", func(c *release.Content) { c.Env = map[string]string{"X": "1"} },
			release.Previous{Latest: &prevContent, History: map[string]int32{withEnv(map[string]string{"X": "1"}).Hash(): 4}}, "Rollback to v4"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := content()
			tc.mutate(&c)
			NewWithT(t).Expect(release.Describe(c, tc.prev)).To(Equal(tc.want))
		})
	}
}

func withEnv(env map[string]string) release.Content {
	c := content()
	c.Env = env
	return c
}

func TestDescribeNeverNamesValues(t *testing.T) {
	g := NewWithT(t)
	prev := content()
	c := content()
	c.Env = map[string]string{"API_TOKEN": "s3cr3t-value", "LOG_LEVEL": "info", "CURRENCY": "EUR"}
	c.Bindings = []release.Binding{{Name: "db", Type: "postgresql", Data: map[string][]byte{"password": []byte("hunter2")}}}
	d := release.Describe(c, release.Previous{Latest: &prev})
	g.Expect(d).To(ContainSubstring("API_TOKEN"))
	g.Expect(d).NotTo(ContainSubstring("s3cr3t-value"))
	g.Expect(d).NotTo(ContainSubstring("hunter2"))
}

func TestNames(t *testing.T) {
	g := NewWithT(t)
	g.Expect(release.Name("shop", 3)).To(Equal("shop-v3"))
	g.Expect(release.EnvSecretName("shop", 3)).To(Equal("shop-v3-env"))
	g.Expect(release.BindingSecretName("shop", 3, "db")).To(Equal("shop-v3-binding-db"))
	g.Expect(release.JobName("shop", 3)).To(Equal("shop-v3-release"))
	g.Expect(release.ProcessName("shop", "web")).To(Equal("shop-web"))
}

// FuzzContentHash checks that hashing never panics, is deterministic, and
// ignores the order of process types.
func FuzzContentHash(f *testing.F) {
	f.Add("registry.example/a@sha256:00", "web", "puma", "worker", "sidekiq", "KEY", "value")
	f.Add("", "", "", "", "", "", "")
	f.Add("x", "a", "\x00", "b", "ü", "K\n", "v\"")
	f.Fuzz(func(t *testing.T, image, p1, c1, p2, c2, k, v string) {
		a := release.Content{Image: image, Env: map[string]string{k: v},
			Processes: []tfv1.ReleaseProcess{{Name: p1, Command: []string{c1}}, {Name: p2, Command: []string{c2}}}}
		b := release.Content{Image: image, Env: map[string]string{k: v},
			Processes: []tfv1.ReleaseProcess{{Name: p2, Command: []string{c2}}, {Name: p1, Command: []string{c1}}}}
		h := a.Hash()
		if h != a.Hash() {
			t.Fatal("hash is not deterministic")
		}
		if p1 != p2 && h != b.Hash() {
			t.Fatal("hash depends on the order of process types")
		}
		_ = release.Describe(a, release.Previous{Latest: &b})
	})
}
