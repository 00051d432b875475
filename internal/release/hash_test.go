package release_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"testing"
	"unicode/utf8"

	. "github.com/onsi/gomega"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
	"github.com/twelvefactor/twelvefactor-operator/internal/release"
)

// legacyHash is Content.Hash as it was before binary values were hashed by
// their bytes: SHA-256 of json.Marshal of the normalized content.
func legacyHash(c release.Content) string {
	c.Processes = slices.Clone(c.Processes)
	c.Bindings = slices.Clone(c.Bindings)
	for i := range c.Bindings {
		c.Bindings[i].Env = slices.Clone(c.Bindings[i].Env)
	}
	c.Normalize()
	b, err := json.Marshal(c)
	if err != nil {
		panic(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// textContent holds every hashed string field, all valid UTF-8, with the
// characters encoding/json escapes (HTML, U+2028, control characters), and
// binary binding data.
func textContent() release.Content {
	return release.Content{
		Image:          "registry.example/shop@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		Revision:       "3f2c1a9",
		Processes:      []tfv1.ReleaseProcess{{Name: "worker", Command: []string{"sidekiq", "-c", "5"}}, {Name: "web", Command: []string{"puma", "--bind", "tcp://0.0.0.0:$PORT"}}},
		ReleaseCommand: []string{"rake", "db:migrate"},
		Env: map[string]string{
			"LOG_LEVEL": "info", "EMPTY": "", "GREETING": "héllo wörld ☃ 🚀", "HTML": "<a href=\"x\">&amp;</a>",
			"MULTILINE": "line1\nline2\ttab\\", "CONTROL": "\x00\x01\x7f", "LS": "\u2028\u2029",
		},
		Bindings: []release.Binding{
			{Name: "db", Type: "postgresql", Provider: "bitnami", Data: map[string][]byte{"uri": []byte("postgres://u:p@db/shop"), "ca.crt": {0x00, 0xff, 0xfe, 0x80}, "empty": {}},
				Env: []tfv1.BindingEnv{{Name: "DATABASE_URL", Key: "uri"}, {Name: "DB_CA", Key: "ca.crt"}}},
			{Name: "cache", Type: "redis", Data: map[string][]byte{"host": []byte("redis")}},
		},
	}
}

// The goldens were computed by Content.Hash before the hashed form existed
// (commit 60476ab). A release made then must keep its hash, or an upgrade
// would make a new release of every app.
func TestHashOfTextContentIsUnchangedSinceBeforeByteHashing(t *testing.T) {
	g := NewWithT(t)
	g.Expect(textContent().Hash()).To(Equal("6bf122257f4d79aca5ee56dec4325a6c1367cf27e8c20ac347b315b7b0500d44"))
	g.Expect(release.Content{Image: "x"}.Hash()).To(Equal("324d004a8f7297e37c86771ba73195a10b39ce2f4a98c607b5f3c46ea85c192e"))
}

func TestHashOfTextContentIsTheJSONHash(t *testing.T) {
	cases := map[string]func(c *release.Content){
		"as is":                      func(*release.Content) {},
		"nil processes":              func(c *release.Content) { c.Processes = nil },
		"empty processes":            func(c *release.Content) { c.Processes = []tfv1.ReleaseProcess{} },
		"process without command":    func(c *release.Content) { c.Processes[0].Command = nil },
		"empty release command":      func(c *release.Content) { c.ReleaseCommand = []string{} },
		"nil env":                    func(c *release.Content) { c.Env = nil },
		"no bindings":                func(c *release.Content) { c.Bindings = nil },
		"nil binding data":           func(c *release.Content) { c.Bindings[0].Data = nil },
		"empty binding data":         func(c *release.Content) { c.Bindings[0].Data = map[string][]byte{} },
		"nil binding value":          func(c *release.Content) { c.Bindings[0].Data["uri"] = nil },
		"no provider":                func(c *release.Content) { c.Bindings[0].Provider = "" },
		"empty strings":              func(c *release.Content) { c.Image = ""; c.ReleaseCommand = []string{""} },
		"non-ASCII key":              func(c *release.Content) { c.Env["ÜBER"] = "1" },
		"binding data non-ASCII key": func(c *release.Content) { c.Bindings[1].Data["ключ"] = []byte("v") },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			c := textContent()
			mutate(&c)
			NewWithT(t).Expect(c.Hash()).To(Equal(legacyHash(c)))
		})
	}
}

func TestHashIsInjectiveOnBytes(t *testing.T) {
	env := func(kv ...string) func(c *release.Content) {
		return func(c *release.Content) {
			c.Env = map[string]string{}
			for i := 0; i < len(kv); i += 2 {
				c.Env[kv[i]] = kv[i+1]
			}
		}
	}
	cases := []struct {
		name string
		a, b func(c *release.Content)
	}{
		{"two binary values JSON writes alike", env("KEY", "\xff\xfe"), env("KEY", "\xfe\xff")},
		{"binary value and its replacement character", env("KEY", "\xff"), env("KEY", "\uFFFD")},
		{"two invalid sequences of one length", env("KEY", "a\xc3"), env("KEY", "a\xe2")},
		{"truncated and whole rune", env("KEY", "\xe2\x98"), env("KEY", "\xe2\x98\x83")},
		{"binary value and its base64 object as text", env("KEY", "\xff"), env("KEY", `{"base64":"/w=="}`)},
		{"two binary keys", env("K\xff", "v"), env("K\xfe", "v")},
		{"binary key and replacement key", env("K\xff", "v"), env("K\uFFFD", "v")},
		{"empty value and missing key", env("A", "1", "B", ""), env("A", "1")},
		{"empty value and NUL value", env("A", ""), env("A", "\x00")},
		{"key/value boundary", env("a", "bc"), env("ab", "c")},
		{"binary command", func(c *release.Content) { c.Processes[0].Command = []string{"\xff"} },
			func(c *release.Content) { c.Processes[0].Command = []string{"\xfe"} }},
		{"binary release command", func(c *release.Content) { c.ReleaseCommand = []string{"\xff"} },
			func(c *release.Content) { c.ReleaseCommand = []string{"\xfe"} }},
		{"binary process name", func(c *release.Content) { c.Processes[0].Name = "w\xff" },
			func(c *release.Content) { c.Processes[0].Name = "w\xfe" }},
		{"binary image", func(c *release.Content) { c.Image = "i\xff" }, func(c *release.Content) { c.Image = "i\xfe" }},
		{"binary binding type", func(c *release.Content) { c.Bindings[0].Type = "\xff" },
			func(c *release.Content) { c.Bindings[0].Type = "\xfe" }},
		{"binary binding provider", func(c *release.Content) { c.Bindings[0].Provider = "\xff" },
			func(c *release.Content) { c.Bindings[0].Provider = "\xfe" }},
		{"binary binding env name", func(c *release.Content) { c.Bindings[0].Env[0].Name = "\xff" },
			func(c *release.Content) { c.Bindings[0].Env[0].Name = "\xfe" }},
		{"binary binding env key", func(c *release.Content) { c.Bindings[0].Env[0].Key = "\xff" },
			func(c *release.Content) { c.Bindings[0].Env[0].Key = "\xfe" }},
		{"binary binding data", func(c *release.Content) { c.Bindings[0].Data["ca.crt"] = []byte{0xff} },
			func(c *release.Content) { c.Bindings[0].Data["ca.crt"] = []byte{0xfe} }},
		{"binary binding data keys", func(c *release.Content) { c.Bindings[0].Data = map[string][]byte{"k\xff": nil} },
			func(c *release.Content) { c.Bindings[0].Data = map[string][]byte{"k\xfe": nil} }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			a, b := textContent(), textContent()
			tc.a(&a)
			tc.b(&b)
			g.Expect(a.Hash()).NotTo(Equal(b.Hash()))
			g.Expect(a.Hash()).To(Equal(a.Hash()))
		})
	}
}

func TestHashIgnoresOrder(t *testing.T) {
	g := NewWithT(t)
	a := textContent()
	b := textContent()
	slices.Reverse(b.Processes)
	slices.Reverse(b.Bindings)
	slices.Reverse(b.Bindings[1].Env)
	// Maps built in another insertion order, with a binary key and value.
	a.Env["K\xff"], a.Env["BIN"] = "v", "\xff\x00"
	env := map[string]string{"BIN": "\xff\x00", "K\xff": "v"}
	for _, k := range slices.Backward(a.Keys()) {
		env[k] = a.Env[k]
	}
	b.Env = env
	g.Expect(a.Hash()).To(Equal(b.Hash()))
}

func TestHashDoesNotReorderTheCallersBindingEnv(t *testing.T) {
	c := textContent()
	c.Bindings[0].Env = []tfv1.BindingEnv{{Name: "Z", Key: "uri"}, {Name: "A", Key: "uri"}}
	_ = c.Hash()
	NewWithT(t).Expect(c.Bindings[0].Env[0].Name).To(Equal("Z"))
}

// FuzzHashInjective checks that two contents get one hash exactly when their
// bytes are equal, and that content whose strings are all valid UTF-8 keeps
// the hash it had before binary values were hashed by their bytes.
func FuzzHashInjective(f *testing.F) {
	f.Add("KEY", "value", "KEY", "value", []byte("data"), []byte("data"))
	f.Add("KEY", "\xff", "KEY", "\xfe", []byte{0xff}, []byte{0xff})
	f.Add("KEY", "\xff", "KEY", "\uFFFD", []byte{}, []byte{})
	f.Add("K\xff", "v", "K\xfe", "v", []byte{0}, []byte{1})
	f.Add("a", "bc", "ab", "c", []byte("x"), []byte("x"))
	f.Add("KEY", "", "KEY", "\x00", []byte(nil), []byte{})
	f.Add("HTML", "<&>", "HTML", `\u003c&>`, []byte("<"), []byte("<"))
	f.Add("KEY", `{"base64":"/w=="}`, "KEY", "\xff", []byte{}, []byte{})
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string, d1, d2 []byte) {
		build := func(k, v string, d []byte) release.Content {
			return release.Content{Image: "i", Env: map[string]string{k: v},
				Processes: []tfv1.ReleaseProcess{{Name: "web", Command: []string{v}}},
				Bindings:  []release.Binding{{Name: "db", Type: "t", Data: map[string][]byte{k: append([]byte{}, d...)}}}}
		}
		a, b := build(k1, v1, d1), build(k2, v2, d2)
		same := k1 == k2 && v1 == v2 && bytes.Equal(d1, d2)
		if (a.Hash() == b.Hash()) != same {
			t.Fatalf("contents equal: %v, hashes equal: %v", same, a.Hash() == b.Hash())
		}
		if utf8.ValidString(k1) && utf8.ValidString(v1) && a.Hash() != legacyHash(a) {
			t.Fatal("the hash of text content changed")
		}
	})
}

func TestDataHash(t *testing.T) {
	base := release.DataHash(map[string][]byte{"a": []byte("1"), "b": []byte("2")})
	cases := []struct {
		name string
		a, b map[string][]byte
		same bool
	}{
		{"order of insertion", map[string][]byte{"a": []byte("1"), "b": []byte("2")}, map[string][]byte{"b": []byte("2"), "a": []byte("1")}, true},
		{"nil and empty map", nil, map[string][]byte{}, true},
		{"nil and empty value", map[string][]byte{"a": nil}, map[string][]byte{"a": {}}, true},
		{"key/value boundary", map[string][]byte{"a": []byte("bc")}, map[string][]byte{"ab": []byte("c")}, false},
		{"entry boundary", map[string][]byte{"a": []byte("b"), "c": []byte("d")}, map[string][]byte{"a": []byte("bcd")}, false},
		{"binary values", map[string][]byte{"a": {0xff, 0xfe}}, map[string][]byte{"a": {0xfe, 0xff}}, false},
		{"invalid UTF-8 and its replacement", map[string][]byte{"a": {0xff}}, map[string][]byte{"a": []byte("\uFFFD")}, false},
		{"binary keys", map[string][]byte{"\xff": nil}, map[string][]byte{"\xfe": nil}, false},
		{"empty value and missing key", map[string][]byte{"a": {}}, map[string][]byte{}, false},
		{"NUL in a value", map[string][]byte{"a": {0}}, map[string][]byte{"a": {}}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			a, b := release.DataHash(tc.a), release.DataHash(tc.b)
			g.Expect(a).To(HaveLen(64))
			g.Expect(a == b).To(Equal(tc.same))
		})
	}
	NewWithT(t).Expect(base).To(Equal(release.DataHash(map[string][]byte{"b": []byte("2"), "a": []byte("1")})))
}
