package policy

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
)

// The CEL in config/policy must use the Go rules' regular expressions and
// messages verbatim. The admission agreement test proves they behave the
// same; this test points at the line to fix when they drift.
func TestCELUsesTheGoPatternsAndMessages(t *testing.T) {
	g := NewWithT(t)
	b, err := os.ReadFile(filepath.Join("..", "..", "config", "policy", "validatingadmissionpolicy.yaml"))
	g.Expect(err).NotTo(HaveOccurred())
	vap := string(b)
	for _, p := range []string{
		ImageTagPattern, ImageLatestPattern, SecretNamePattern, HarmlessValuePattern,
		EnvironmentGroupValuePattern, CredentialsURLPattern, LogFileNamePattern,
	} {
		g.Expect(vap).To(ContainSubstring("r'"+p+"'"), "pattern %s", p)
	}
	g.Expect(oneLine(vap)).To(ContainSubstring("e.name in " + celList(EnvironmentGroupNames)))
	g.Expect(oneLine(vap)).To(ContainSubstring("!(e.value in " + celList(LogStreamValues) + ")"))
	g.Expect(vap).To(ContainSubstring(fmt.Sprintf("e.value.size() <= %d && e.value.matches(r'%s')", HarmlessValueMaxLength, HarmlessValuePattern)))
	g.Expect(vap).To(ContainSubstring(fmt.Sprintf("(e.value.size() > %d ? e.value.substring(0, %d) : e.value)", URLCheckLength, URLCheckLength)))
	g.Expect(vap).To(ContainSubstring(fmt.Sprintf("e.value == '%s' || e.value.startsWith('%s/') || e.value.endsWith('%s')", LogFolder, LogFolder, LogFileSuffix)))
	for _, m := range []string{
		msgImageNotPinned, msgSecretInLiteral, msgEnvironmentGroup, msgCredentialsInURL,
		msgWebWithoutPort, msgSingleReplica, msgGracePeriodTooShort, msgLogToFile,
	} {
		before, after, templated := strings.Cut(m, "%s")
		if !templated {
			g.Expect(vap).To(ContainSubstring(`message: "`+m+`"`), "message %q", m)
			continue
		}
		g.Expect(vap).To(ContainSubstring("'"+before+"' + variables."), "messageExpression of %q", m)
		g.Expect(vap).To(ContainSubstring("'"+after+"'"), "messageExpression of %q", m)
		g.Expect(vap).To(ContainSubstring(`message: "`+withoutNames(m)+`"`), "fallback message of %q", m)
	}
}

// celList writes a CEL list literal of strings.
func celList(items []string) string {
	quoted := make([]string, len(items))
	for i, s := range items {
		quoted[i] = "'" + s + "'"
	}
	return "[" + strings.Join(quoted, ", ") + "]"
}

// oneLine joins folded YAML lines, so that a list literal split over lines
// compares as one.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
