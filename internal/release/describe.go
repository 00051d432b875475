package release

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"
)

// Previous is what a description compares new content against: the latest
// release's content, and the hash and number of every release in history.
type Previous struct {
	// Latest is the newest release's content, nil for the first release.
	Latest *Content
	// History maps the content hash of each existing release to its number.
	History map[string]int32
}

// Describe writes a Heroku-style description of new content: "Deploy 3f2c1a9",
// "Set LOG_LEVEL, FOO config", "Remove BAR config", "Attach db",
// "Detach cache", "Update db binding", "Rollback to v4". It names keys and
// bindings, never values. It always fits a Release's spec.description
// (MaxDescriptionLength): long lists end in "and N more", changes that do not
// fit end in "and N more changes", and a part still too long is cut on a rune
// boundary with an ellipsis.
func Describe(next Content, prev Previous) string {
	if n, ok := prev.History[next.Hash()]; ok {
		return fmt.Sprintf("Rollback to v%d", n)
	}
	if prev.Latest == nil {
		return truncate("Deploy "+deployRef(next), MaxDescriptionLength)
	}
	old := *prev.Latest
	var parts []string
	if old.Image != next.Image {
		parts = append(parts, "Deploy "+deployRef(next))
	}
	var set, removed []string
	for _, k := range next.Keys() {
		if v, ok := old.Env[k]; !ok || v != next.Env[k] {
			set = append(set, k)
		}
	}
	for _, k := range old.Keys() {
		if _, ok := next.Env[k]; !ok {
			removed = append(removed, k)
		}
	}
	if len(set) > 0 {
		parts = append(parts, fmt.Sprintf("Set %s config", joinLimited(set)))
	}
	if len(removed) > 0 {
		parts = append(parts, fmt.Sprintf("Remove %s config", joinLimited(removed)))
	}
	oldB := bindingsByName(old.Bindings)
	newB := bindingsByName(next.Bindings)
	for _, name := range slices.Sorted(maps.Keys(newB)) {
		ob, ok := oldB[name]
		switch {
		case !ok:
			parts = append(parts, "Attach "+name)
		case !sameBinding(ob, newB[name]):
			parts = append(parts, fmt.Sprintf("Update %s binding", name))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(oldB)) {
		if _, ok := newB[name]; !ok {
			parts = append(parts, "Detach "+name)
		}
	}
	var changed []string
	oldP := map[string][]string{}
	for _, p := range old.Processes {
		oldP[p.Name] = p.Command
	}
	for _, p := range next.Processes {
		if c, ok := oldP[p.Name]; !ok || !slices.Equal(c, p.Command) {
			changed = append(changed, p.Name)
		}
		delete(oldP, p.Name)
	}
	if len(changed) > 0 {
		parts = append(parts, fmt.Sprintf("Update %s command", joinLimited(changed)))
	}
	if len(oldP) > 0 {
		parts = append(parts, fmt.Sprintf("Remove %s process", joinLimited(slices.Sorted(maps.Keys(oldP)))))
	}
	if !slices.Equal(old.ReleaseCommand, next.ReleaseCommand) {
		parts = append(parts, "Update release command")
	}
	if len(parts) == 0 {
		parts = append(parts, "Deploy "+deployRef(next))
	}
	return fitParts(parts, MaxDescriptionLength)
}

// fitParts joins the parts of a description with "; " in at most max bytes
// (so at most max characters): as many whole parts as fit, then "and N more
// changes". A first part longer than max is cut.
func fitParts(parts []string, max int) string {
	if s := strings.Join(parts, "; "); len(s) <= max {
		return s
	}
	for n := len(parts) - 1; n >= 1; n-- {
		s := strings.Join(parts[:n], "; ") + fmt.Sprintf("; and %d more changes", len(parts)-n)
		if len(s) <= max {
			return s
		}
	}
	return truncate(parts[0], max)
}

// truncate cuts s to at most max bytes on a rune boundary, ending it with an
// ellipsis when it cuts.
func truncate(s string, max int) string {
	const ellipsis = "…"
	if len(s) <= max {
		return s
	}
	if max < len(ellipsis) {
		return ""
	}
	cut := max - len(ellipsis)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + ellipsis
}

func deployRef(c Content) string {
	if c.Revision != "" {
		return c.Revision
	}
	return ShortDigest(c.Image)
}

// joinLimited joins names for a description: at most eight, in at most
// listBudget bytes (the first name always), then "and N more".
func joinLimited(keys []string) string {
	const limit, listBudget = 8, 256
	n, size := 0, 0
	for n < len(keys) && n < limit {
		add := len(keys[n])
		if n > 0 {
			add += len(", ")
		}
		if n > 0 && size+add > listBudget {
			break
		}
		size += add
		n++
	}
	s := strings.Join(keys[:n], ", ")
	if n < len(keys) {
		s += fmt.Sprintf(" and %d more", len(keys)-n)
	}
	return s
}

func bindingsByName(bs []Binding) map[string]Binding {
	m := make(map[string]Binding, len(bs))
	for _, b := range bs {
		m[b.Name] = b
	}
	return m
}

func sameBinding(a, b Binding) bool {
	if a.Type != b.Type || a.Provider != b.Provider || !slices.Equal(a.Env, b.Env) || len(a.Data) != len(b.Data) {
		return false
	}
	for k, v := range a.Data {
		if w, ok := b.Data[k]; !ok || !bytes.Equal(v, w) {
			return false
		}
	}
	return true
}
