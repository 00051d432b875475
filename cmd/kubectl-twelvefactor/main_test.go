package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
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
