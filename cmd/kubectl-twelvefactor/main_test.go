package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	"sigs.k8s.io/yaml"
)

// The test binary runs main when this variable is set, so the tests can run
// the real command and see its exit status.
const runMain = "KUBECTL_TWELVEFACTOR_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMain) == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

func TestExitStatus(t *testing.T) {
	sample := filepath.Join("..", "..", "config", "samples", "twelvefactor_v1alpha1_twelvefactorapp.yaml")
	failing := `apiVersion: twelvefactor.dev/v1alpha1
kind: TwelveFactorApp
metadata: {name: shop}
spec:
  build: {image: ghcr.io/acme/shop:latest}
  processes: [{name: web, port: 8080, replicas: 2}]
`
	cases := []struct {
		name       string
		args       []string
		stdin      string
		wantCode   int
		wantStdout string
	}{
		{"the sample passes", []string{"lint", "-f", sample}, "", 0, "XII      Pass"},
		{"a failing app exits 1", []string{"lint", "-f", "-"}, failing, 1, "ImageNotPinned"},
		{"unreadable input exits 2", []string{"lint", "-f", "no-such-file.yaml"}, "", 2, ""},
		{"help lists the commands", []string{"--help"}, "", 0, "kubectl twelvefactor [command]"},
		{"a cluster command without a cluster exits 2", []string{"--kubeconfig", "no-such-kubeconfig", "releases", "shop"}, "", 2, ""},
		{"run without a command exits 2", []string{"run", "shop"}, "", 2, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			cmd := exec.Command(os.Args[0], tc.args...)
			cmd.Env = append(os.Environ(), runMain+"=1")
			cmd.Stdin = strings.NewReader(tc.stdin)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			code := 0
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				code = exit.ExitCode()
			} else {
				g.Expect(err).NotTo(HaveOccurred())
			}
			g.Expect(code).To(Equal(tc.wantCode), "stderr: %s", stderr.String())
			g.Expect(stdout.String()).To(ContainSubstring(tc.wantStdout))
		})
	}
}

func TestHelpListsEveryCommand(t *testing.T) {
	g := NewWithT(t)
	cmd := exec.Command(os.Args[0], "--help")
	cmd.Env = append(os.Environ(), runMain+"=1")
	out, err := cmd.Output()
	g.Expect(err).NotTo(HaveOccurred())
	for _, c := range []string{"lint", "releases", "rollback", "unpin", "scale", "config", "status", "run"} {
		g.Expect(string(out)).To(MatchRegexp(`(?m)^  `+c+`\s+\S`), "missing command %s", c)
	}
}

// TestKrewManifest checks plugins/krew/twelvefactor.yaml: one platform for
// each of linux and darwin on amd64 and arm64, each pointing at its release
// archive, with the binary this command builds and a checksum or a marked
// placeholder for one.
func TestKrewManifest(t *testing.T) {
	g := NewWithT(t)
	data, err := os.ReadFile(filepath.Join("..", "..", "plugins", "krew", "twelvefactor.yaml"))
	g.Expect(err).NotTo(HaveOccurred())
	var m struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name string `json:"name"`
		} `json:"metadata"`
		// The fields of krew's v1alpha2 PluginSpec and Platform, so that
		// UnmarshalStrict catches a misspelt one.
		Spec struct {
			Version          string `json:"version"`
			Homepage         string `json:"homepage"`
			ShortDescription string `json:"shortDescription"`
			Description      string `json:"description"`
			Caveats          string `json:"caveats"`
			Platforms        []struct {
				Selector struct {
					MatchLabels map[string]string `json:"matchLabels"`
				} `json:"selector"`
				URI    string `json:"uri"`
				SHA256 string `json:"sha256"`
				Files  []struct {
					From string `json:"from"`
					To   string `json:"to"`
				} `json:"files"`
				Bin string `json:"bin"`
			} `json:"platforms"`
		} `json:"spec"`
	}
	g.Expect(yaml.UnmarshalStrict(data, &m)).To(Succeed())
	g.Expect(m.APIVersion).To(Equal("krew.googlecontainertools.github.com/v1alpha2"))
	g.Expect(m.Kind).To(Equal("Plugin"))
	g.Expect(m.Metadata.Name).To(Equal("twelvefactor"))
	g.Expect(m.Spec.Version).To(Equal("{{ .TagName }}"))
	g.Expect(len(m.Spec.ShortDescription)).To(BeNumerically("<=", 80))
	var got []string
	for _, p := range m.Spec.Platforms {
		osName, arch := p.Selector.MatchLabels["os"], p.Selector.MatchLabels["arch"]
		got = append(got, osName+"/"+arch)
		g.Expect(p.URI).To(Equal(fmt.Sprintf("https://github.com/twelvefactor/twelvefactor-operator/releases/download/{{ .TagName }}/kubectl-twelvefactor_%s_%s.tar.gz", osName, arch)))
		g.Expect(p.SHA256).To(Or(MatchRegexp(`^[0-9a-f]{64}$`),
			Equal(fmt.Sprintf("PLACEHOLDER_SHA256_%s_%s", strings.ToUpper(osName), strings.ToUpper(arch)))))
		g.Expect(p.Bin).To(Equal("kubectl-twelvefactor"))
	}
	g.Expect(got).To(ConsistOf("linux/amd64", "linux/arm64", "darwin/amd64", "darwin/arm64"))
}
