package release_test

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	. "github.com/onsi/gomega"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
	"github.com/twelvefactor/twelvefactor-operator/internal/release"
)

// longKey returns a 250-character key, distinct for each i.
func longKey(prefix string, i int) string {
	k := fmt.Sprintf("%s_%d_", prefix, i)
	return k + strings.Repeat("K", 250-len(k))
}

func TestDescribeFitsTheReleaseDescription(t *testing.T) {
	prev := content()
	cases := []struct {
		name   string
		mutate func(c *release.Content)
		want   string
	}{
		{"nine new 250-character keys", func(c *release.Content) {
			for i := range 9 {
				c.Env[longKey("NEW", i)] = "v"
			}
		}, "Set " + longKey("NEW", 0) + " and 8 more config"},
		{"nine set and nine removed 250-character keys, with a new image", func(c *release.Content) {
			c.Image = img[:len(img)-1] + "b"
			c.Env = map[string]string{}
			for i := range 9 {
				c.Env[longKey("NEW", i)] = "v"
			}
		}, "Deploy 3f2c1a9; Set " + longKey("NEW", 0) + " and 8 more config; Remove CURRENCY, LOG_LEVEL config"},
		{"eight short keys are all named", func(c *release.Content) {
			for i := range 8 {
				c.Env[fmt.Sprintf("K%d", i)] = "v"
			}
		}, "Set K0, K1, K2, K3, K4, K5, K6, K7 config"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			c := content()
			tc.mutate(&c)
			d := release.Describe(c, release.Previous{Latest: &prev})
			g.Expect(d).To(Equal(tc.want))
			g.Expect(len(d)).To(BeNumerically("<=", release.MaxDescriptionLength))
		})
	}
}

func TestDescribeDropsChangesThatDoNotFit(t *testing.T) {
	g := NewWithT(t)
	prev := content()
	prev.Bindings = nil
	c := content()
	c.Bindings = nil
	// 32 bindings with 40-character names: "Attach <name>" 32 times is 1,630 bytes.
	for i := range 32 {
		c.Bindings = append(c.Bindings, release.Binding{Name: fmt.Sprintf("b%02d-%s", i, strings.Repeat("x", 36)), Type: "t"})
	}
	d := release.Describe(c, release.Previous{Latest: &prev})
	g.Expect(len(d)).To(BeNumerically("<=", release.MaxDescriptionLength))
	g.Expect(d).To(HavePrefix("Attach b00-"))
	g.Expect(d).To(MatchRegexp(`; and \d+ more changes$`))
}

func TestDescribeCutsALongFirstPartOnARuneBoundary(t *testing.T) {
	g := NewWithT(t)
	c := content()
	c.Revision = strings.Repeat("é", 600) // 1,200 bytes
	d := release.Describe(c, release.Previous{})
	g.Expect(len(d)).To(BeNumerically("<=", release.MaxDescriptionLength))
	g.Expect(utf8.ValidString(d)).To(BeTrue())
	g.Expect(d).To(HavePrefix("Deploy éé"))
	g.Expect(d).To(HaveSuffix("é…"))
}

func TestDescribeCommandListIsLimited(t *testing.T) {
	prev := content()
	c := content()
	c.Processes = nil
	prev.Processes = nil
	for i := range 10 {
		c.Processes = append(c.Processes, tfv1.ReleaseProcess{Name: fmt.Sprintf("p%d", i), Command: []string{"x"}})
	}
	NewWithT(t).Expect(release.Describe(c, release.Previous{Latest: &prev})).To(Equal("Update p0, p1, p2, p3, p4, p5, p6, p7 and 2 more command"))
}
