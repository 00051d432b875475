package release

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"maps"
	"slices"
	"sort"
	"unicode/utf8"
)

// The hashed form of Content mirrors its JSON encoding field for field, with
// one difference: encoding/json writes a string that is not valid UTF-8 with
// each bad byte replaced by U+FFFD, so two different binary values would hash
// the same. Here such a string is written as the object {"base64": "..."}
// instead, and a map with such a key as a list of [key, value] pairs. A valid
// UTF-8 string is written exactly as encoding/json writes it, so the hash of
// content whose strings are all valid UTF-8 is the hash of json.Marshal(Content),
// the hash of every release made before this form existed.
//
// The form is injective: a valid string is a JSON string, an invalid one an
// object, and distinct byte strings have distinct encodings in either case; a
// map is an object when all its keys are valid and a list otherwise, never both.
// Byte values ([]byte) are base64 in encoding/json already.

// hashedContent mirrors Content's JSON tags. Keep them in step.
type hashedContent struct {
	Image          hstr            `json:"image"`
	Processes      []hashedProcess `json:"processes"`
	ReleaseCommand []hstr          `json:"releaseCommand,omitempty"`
	// Env is a map[string]hstr, or a list of [key, value] pairs when a key is
	// not valid UTF-8.
	Env      any             `json:"env"`
	Bindings []hashedBinding `json:"bindings,omitempty"`
}

// hashedProcess mirrors tfv1.ReleaseProcess's JSON tags.
type hashedProcess struct {
	Name    hstr   `json:"name"`
	Command []hstr `json:"command,omitempty"`
}

// hashedBinding mirrors Binding's JSON tags.
type hashedBinding struct {
	Name     hstr `json:"name"`
	Type     hstr `json:"type"`
	Provider hstr `json:"provider,omitempty"`
	// Data is the map[string][]byte itself (nil stays null), or a list of
	// [key, value] pairs when a key is not valid UTF-8.
	Data any                `json:"data"`
	Env  []hashedBindingEnv `json:"env,omitempty"`
}

// hashedBindingEnv mirrors tfv1.BindingEnv's JSON tags.
type hashedBindingEnv struct {
	Name hstr `json:"name"`
	Key  hstr `json:"key"`
}

// hstr is a string in the hashed form.
type hstr string

// MarshalJSON writes a valid UTF-8 string as encoding/json does, and any other
// string as {"base64": "<its bytes>"}.
func (s hstr) MarshalJSON() ([]byte, error) {
	if utf8.ValidString(string(s)) {
		return json.Marshal(string(s))
	}
	return json.Marshal(struct {
		Base64 []byte `json:"base64"`
	}{[]byte(s)})
}

// hashedForm converts normalized content to its hashed form. Nil and empty
// slices and maps are kept apart where encoding/json keeps them apart.
func hashedForm(c Content) hashedContent {
	h := hashedContent{Image: hstr(c.Image), ReleaseCommand: hstrs(c.ReleaseCommand), Env: hashedEnv(c.Env)}
	if c.Processes != nil {
		h.Processes = make([]hashedProcess, len(c.Processes))
		for i, p := range c.Processes {
			h.Processes[i] = hashedProcess{Name: hstr(p.Name), Command: hstrs(p.Command)}
		}
	}
	for _, b := range c.Bindings {
		hb := hashedBinding{Name: hstr(b.Name), Type: hstr(b.Type), Provider: hstr(b.Provider), Data: hashedData(b.Data)}
		for _, e := range b.Env {
			hb.Env = append(hb.Env, hashedBindingEnv{Name: hstr(e.Name), Key: hstr(e.Key)})
		}
		h.Bindings = append(h.Bindings, hb)
	}
	return h
}

func hstrs(ss []string) []hstr {
	if len(ss) == 0 {
		// Every []string of the form is omitempty.
		return nil
	}
	out := make([]hstr, len(ss))
	for i, s := range ss {
		out[i] = hstr(s)
	}
	return out
}

func hashedEnv(env map[string]string) any {
	if env == nil {
		return nil
	}
	if !validKeys(env) {
		pairs := make([][2]hstr, 0, len(env))
		for _, k := range slices.Sorted(maps.Keys(env)) {
			pairs = append(pairs, [2]hstr{hstr(k), hstr(env[k])})
		}
		return pairs
	}
	m := make(map[string]hstr, len(env))
	for k, v := range env {
		m[k] = hstr(v)
	}
	return m
}

func hashedData(data map[string][]byte) any {
	if data == nil {
		return nil
	}
	if !validKeys(data) {
		pairs := make([][2]any, 0, len(data))
		for _, k := range slices.Sorted(maps.Keys(data)) {
			pairs = append(pairs, [2]any{hstr(k), data[k]})
		}
		return pairs
	}
	return data
}

func validKeys[V any](m map[string]V) bool {
	for k := range m {
		if !utf8.ValidString(k) {
			return false
		}
	}
	return true
}

// dataHashDomain starts every DataHash input, so that it can never be the
// input of another hash of this package.
const dataHashDomain = "twelvefactor.dev/data-hash/v1\x00"

// DataHash returns a hex SHA-256 of a Secret's data in a canonical form: the
// number of entries, then each key in byte order with its value, each written
// as its length (8 bytes, big-endian) and its bytes. Lengths make the form
// unambiguous ({"a": "bc"} and {"ab": "c"} differ), and any bytes are hashed as
// they are. A nil and an empty map hash alike, as do a nil and an empty value:
// the API server stores them alike.
func DataHash(data map[string][]byte) string {
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	var n [8]byte
	write := func(b []byte) {
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	h.Write([]byte(dataHashDomain))
	binary.BigEndian.PutUint64(n[:], uint64(len(keys)))
	h.Write(n[:])
	for _, k := range keys {
		write([]byte(k))
		write(data[k])
	}
	return hex.EncodeToString(h.Sum(nil))
}
