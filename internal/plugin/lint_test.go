package plugin_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/yaml"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
	"github.com/twelvefactor/twelvefactor-operator/internal/plugin"
	"github.com/twelvefactor/twelvefactor-operator/internal/policy"
	"github.com/twelvefactor/twelvefactor-operator/internal/policy/policytest"
)

var sample = filepath.Join("..", "..", "config", "samples", "twelvefactor_v1alpha1_twelvefactorapp.yaml")

type run struct {
	code   int
	stdout string
	stderr string
}

func lint(stdin string, args ...string) run {
	streams, in, out, errOut := genericiooptions.NewTestIOStreams()
	in.WriteString(stdin)
	code := plugin.Main(append([]string{"lint"}, args...), streams)
	return run{code: code, stdout: out.String(), stderr: errOut.String()}
}

// row is one line of a lint table.
type row struct{ factor, status, reason, message string }

// tables parses lint's output: for each app, its title and its rows.
func tables(t *testing.T, stdout string) map[string][]row {
	t.Helper()
	out := map[string][]row{}
	var title string
	for _, line := range strings.Split(stdout, "\n") {
		fields := strings.Fields(line)
		switch {
		case len(fields) == 0:
			title = ""
		case fields[0] == "TwelveFactorApp":
			title = fields[1]
		case fields[0] == "FACTOR":
			if title == "" {
				t.Fatalf("table without a title in:\n%s", stdout)
			}
		default:
			if len(fields) < 4 {
				t.Fatalf("short row %q", line)
			}
			out[title] = append(out[title], row{fields[0], fields[1], fields[2], strings.Join(fields[3:], " ")})
		}
	}
	return out
}

func writeApp(t *testing.T, dir, file string, apps ...*tfv1.TwelveFactorApp) string {
	t.Helper()
	var docs []string
	for _, a := range apps {
		b, err := yaml.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, string(b))
	}
	path := filepath.Join(dir, file)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(strings.Join(docs, "---\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func fixture(t *testing.T, name string) *tfv1.TwelveFactorApp {
	t.Helper()
	for _, f := range policytest.Fixtures() {
		if f.Name == name {
			return f.App.DeepCopy()
		}
	}
	t.Fatalf("no fixture %q", name)
	return nil
}

func TestLintTheSamplePrintsTwelvePassingRowsAndSkipsOtherKinds(t *testing.T) {
	g := NewWithT(t)
	r := lint("", "-f", sample)
	g.Expect(r.code).To(Equal(plugin.ExitOK), r.stderr)
	g.Expect(r.stderr).To(BeEmpty())
	got := tables(t, r.stdout)
	g.Expect(got).To(HaveLen(1), "the ConfigMap and Secret in the sample are skipped")
	rows := got["shop"]
	g.Expect(rows).To(HaveLen(12))
	for i, row := range rows {
		g.Expect(row.factor).To(Equal(policy.Factors[i]))
		g.Expect(row.status).To(Equal(string(tfv1.FactorPass)), "factor %s: %s", row.factor, row.message)
	}
}

func TestLintFailsOnAFailingApp(t *testing.T) {
	g := NewWithT(t)
	app := fixture(t, "latest tag fails")
	path := writeApp(t, t.TempDir(), "app.yaml", app)
	r := lint("", "-f", path)
	g.Expect(r.code).To(Equal(plugin.ExitFail))
	g.Expect(r.stderr).To(ContainSubstring("1 of 1 TwelveFactorApps fail"))
	rows := tables(t, r.stdout)["shop"]
	g.Expect(rows).To(HaveLen(12))
	g.Expect(rows[1]).To(Equal(row{"II", "Fail", policy.ReasonImageNotPinned, strings.Join(strings.Fields(policy.Evaluate(app, policy.Observations{})[1].Message), " ")}))
}

func TestLintWarningsDoNotFail(t *testing.T) {
	g := NewWithT(t)
	path := writeApp(t, t.TempDir(), "app.yaml", fixture(t, "RAILS_ENV=production warns"))
	r := lint("", "-f", path)
	g.Expect(r.code).To(Equal(plugin.ExitOK))
	rows := tables(t, r.stdout)["shop"]
	g.Expect(rows).To(HaveLen(12))
	g.Expect(rows[2].status).To(Equal("Warn"))
	g.Expect(rows[2].reason).To(Equal(policy.ReasonEnvironmentGroup))
}

func TestLintReadsStdinDirectoriesAndLists(t *testing.T) {
	pass := policytest.App()
	pass.Name, pass.Namespace = "good", "shop"
	fail := fixture(t, "web without a port fails")
	fail.Name = "bad"
	list := `apiVersion: v1
kind: List
items:
- apiVersion: twelvefactor.dev/v1alpha1
  kind: TwelveFactorApp
  metadata: {name: listed}
  spec:
    build: {image: "shop:latest"}
    processes: [{name: web, port: 8080, replicas: 2}]
`
	dir := t.TempDir()
	writeApp(t, dir, "a/good.yaml", pass)
	writeApp(t, dir, "a/nested/bad.yml", fail)
	if err := os.WriteFile(filepath.Join(dir, "a", "list.json.txt"), []byte(list), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "a", "README.md"), []byte("# not a manifest: {"), 0o644); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name     string
		stdin    string
		args     []string
		wantApps []string
		wantCode int
	}{
		{"a directory without -R reads only its own files", "", []string{"-f", filepath.Join(dir, "a")}, []string{"shop/good"}, plugin.ExitOK},
		{"a directory with -R reads subdirectories", "", []string{"-R", "-f", filepath.Join(dir, "a")}, []string{"shop/good", "bad"}, plugin.ExitFail},
		{"stdin with a List", list, []string{"-f", "-"}, []string{"listed"}, plugin.ExitFail},
		{"several -f flags", "", []string{"-f", sample, "-f", filepath.Join(dir, "a", "good.yaml")}, []string{"shop", "shop/good"}, plugin.ExitOK},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			r := lint(tc.stdin, tc.args...)
			g.Expect(r.code).To(Equal(tc.wantCode), r.stderr)
			got := tables(t, r.stdout)
			g.Expect(got).To(HaveLen(len(tc.wantApps)))
			for _, name := range tc.wantApps {
				g.Expect(got[name]).To(HaveLen(12), "app %s", name)
			}
		})
	}
}

func TestLintErrors(t *testing.T) {
	dir := t.TempDir()
	typo := filepath.Join(dir, "typo.yaml")
	if err := os.WriteFile(typo, []byte("apiVersion: twelvefactor.dev/v1alpha1\nkind: TwelveFactorApp\nmetadata: {name: x}\nspec:\n  build: {image: x:1}\n  proceses: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	otherVersion := filepath.Join(dir, "v2.yaml")
	if err := os.WriteFile(otherVersion, []byte("apiVersion: twelvefactor.dev/v2\nkind: TwelveFactorApp\nmetadata: {name: x}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "cm.yaml")
	if err := os.WriteFile(empty, []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name       string
		args       []string
		wantCode   int
		wantStderr string
	}{
		{"missing file", []string{"-f", filepath.Join(dir, "nope.yaml")}, plugin.ExitError, "no such file"},
		{"no -f", nil, plugin.ExitError, `required flag(s) "filename" not set`},
		{"misspelt field", []string{"-f", typo}, plugin.ExitError, `typo.yaml: document 1: TwelveFactorApp: error unmarshaling JSON: while decoding JSON: json: unknown field "proceses"`},
		{"unsupported version", []string{"-f", otherVersion}, plugin.ExitError, "twelvefactor.dev/v2 is not supported"},
		{"no apps is not an error", []string{"-f", empty}, plugin.ExitOK, "No TwelveFactorApp found"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			r := lint("", tc.args...)
			g.Expect(r.code).To(Equal(tc.wantCode))
			g.Expect(r.stderr).To(ContainSubstring(tc.wantStderr))
		})
	}
}

func TestRootCommandHasTheKubectlConnectionFlags(t *testing.T) {
	g := NewWithT(t)
	cmd := plugin.NewRootCommand(genericiooptions.NewTestIOStreamsDiscard())
	for _, name := range []string{"namespace", "context", "kubeconfig"} {
		g.Expect(cmd.PersistentFlags().Lookup(name)).NotTo(BeNil(), "--%s", name)
	}
	lintCmd, _, err := cmd.Find([]string{"lint"})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(lintCmd.Name()).To(Equal("lint"))
}
