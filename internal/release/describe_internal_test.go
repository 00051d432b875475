package release

import (
	"testing"
	"unicode/utf8"

	. "github.com/onsi/gomega"
)

func TestTruncateCutsOnARuneBoundary(t *testing.T) {
	cases := []struct {
		name string
		s    string
		max  int
		want string
	}{
		{"fits", "abc", 3, "abc"},
		{"ASCII", "abcdef", 5, "ab…"},
		{"two-byte runes", "ééé", 5, "é…"},
		{"four-byte rune not split", "a🚀b", 5, "a…"},
		{"room for the ellipsis only", "abcdef", 3, "…"},
		{"no room for the ellipsis", "abcdef", 2, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			got := truncate(tc.s, tc.max)
			g.Expect(got).To(Equal(tc.want))
			g.Expect(len(got)).To(BeNumerically("<=", tc.max))
			g.Expect(utf8.ValidString(got)).To(BeTrue())
		})
	}
}

func TestFitParts(t *testing.T) {
	cases := []struct {
		name  string
		parts []string
		max   int
		want  string
	}{
		{"all fit", []string{"Attach a", "Detach b"}, 18, "Attach a; Detach b"},
		{"last dropped", []string{"Attach a", "Detach b", "Detach cccccccccccccccccccccccccccccc"}, 40, "Attach a; Detach b; and 1 more changes"},
		{"two dropped", []string{"Attach aaaa", "Detach bbbbbbbb", "Detach c"}, 33, "Attach aaaa; and 2 more changes"},
		{"first part cut", []string{"Attach aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "Detach b"}, 20, "Attach aaaaaaaaaa…"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			got := fitParts(tc.parts, tc.max)
			g.Expect(got).To(Equal(tc.want))
			g.Expect(len(got)).To(BeNumerically("<=", tc.max))
		})
	}
}
