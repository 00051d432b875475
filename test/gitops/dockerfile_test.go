package gitops

import (
	"bytes"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	"sigs.k8s.io/yaml"
)

// dockerfile is the parsed Dockerfile: its instructions, with continuation
// lines joined and comments dropped.
type dockerfile []string

func readDockerfile(t *testing.T) dockerfile {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var out dockerfile
	var cur strings.Builder
	for _, line := range strings.Split(string(data), "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") || (trimmed == "" && cur.Len() == 0) {
			continue
		}
		if strings.HasSuffix(trimmed, `\`) {
			cur.WriteString(strings.TrimSuffix(trimmed, `\`) + " ")
			continue
		}
		cur.WriteString(trimmed)
		if s := strings.TrimSpace(cur.String()); s != "" {
			out = append(out, s)
		}
		cur.Reset()
	}
	return out
}

// with returns the instructions that start with op (FROM, RUN, ...).
func (d dockerfile) with(op string) []string {
	var out []string
	for _, i := range d {
		if strings.HasPrefix(i, op+" ") {
			out = append(out, strings.TrimSpace(strings.TrimPrefix(i, op+" ")))
		}
	}
	return out
}

// buildCommand is the shell command of the RUN instruction that builds the
// manager, without its --mount flags.
func (d dockerfile) buildCommand(t *testing.T) string {
	t.Helper()
	var cmds []string
	for _, r := range d.with("RUN") {
		if !strings.Contains(r, "go build") {
			continue
		}
		fields := strings.Fields(r)
		for len(fields) > 0 && strings.HasPrefix(fields[0], "--") {
			fields = fields[1:]
		}
		cmds = append(cmds, strings.Join(fields, " "))
	}
	if len(cmds) != 1 {
		t.Fatalf("want one RUN with go build in the Dockerfile, got %d", len(cmds))
	}
	return cmds[0]
}

func TestDockerfileStages(t *testing.T) {
	g := NewWithT(t)
	d := readDockerfile(t)
	from := d.with("FROM")
	g.Expect(from).To(HaveLen(2))

	// The builder's Go is the go directive of go.mod.
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	g.Expect(err).NotTo(HaveOccurred())
	goVersion := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindStringSubmatch(string(gomod))
	g.Expect(goVersion).To(HaveLen(2))
	g.Expect(from[0]).To(MatchRegexp(`(^| )golang:%s( |$)`, regexp.QuoteMeta(goVersion[1])))
	g.Expect(from[0]).To(HaveSuffix(" AS builder"))

	g.Expect(from[1]).To(Equal("gcr.io/distroless/static:nonroot"))
	g.Expect(d.with("USER")).To(Equal([]string{"65532:65532"}))
	g.Expect(d.with("ENTRYPOINT")).To(Equal([]string{`["/manager"]`}))
	g.Expect(d.with("COPY")).To(ContainElement("--from=builder /workspace/manager /manager"))

	cmd := d.buildCommand(t)
	g.Expect(cmd).To(ContainSubstring("CGO_ENABLED=0 go build -trimpath"))
	g.Expect(cmd).To(ContainSubstring(`-X github.com/twelvefactor/twelvefactor-operator/internal/manager.Version=${VERSION}`))
	g.Expect(cmd).To(HaveSuffix("-o manager ./cmd/manager"))

	// The chart runs the image as the user the image declares.
	values := map[string]any{}
	raw, err := os.ReadFile(filepath.Join(root, chartDir, "values.yaml"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(yaml.Unmarshal(raw, &values)).To(Succeed())
	g.Expect(values["podSecurityContext"]).To(HaveKeyWithValue("runAsUser", BeNumerically("==", 65532)))
}

// Every package the manager is built from is in the build context: inside a
// directory the Dockerfile copies, not excluded by .dockerignore.
func TestDockerBuildContextHoldsTheManager(t *testing.T) {
	g := NewWithT(t)
	d := readDockerfile(t)
	var copied []string
	for _, c := range d.with("COPY") {
		f := strings.Fields(c)
		if strings.HasPrefix(f[0], "--from") {
			continue
		}
		for _, src := range f[:len(f)-1] {
			copied = append(copied, filepath.Join(root, strings.TrimSuffix(src, "/")))
		}
	}
	ignore, err := os.ReadFile(filepath.Join(root, ".dockerignore"))
	g.Expect(err).NotTo(HaveOccurred())
	for _, want := range []string{"*", "!go.mod", "!go.sum"} {
		g.Expect(strings.Split(string(ignore), "\n")).To(ContainElement(want))
	}
	for _, dir := range copied {
		rel, _ := filepath.Rel(root, dir)
		g.Expect(dir).To(BeAnExistingFile(), "the Dockerfile copies %s", rel)
		if rel != "go.mod" && rel != "go.sum" {
			g.Expect(strings.Split(string(ignore), "\n")).To(ContainElement("!"+rel+"/"), ".dockerignore must let %s/ in", rel)
		}
	}

	out, err := run("go", "list", "-deps", "-f", `{{if .Module}}{{if .Module.Main}}{{.Dir}}{{range .EmbedFiles}} {{.}}{{end}}{{end}}{{end}}`, "./cmd/manager")
	g.Expect(err).NotTo(HaveOccurred())
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		rel, _ := filepath.Rel(root, f[0])
		g.Expect(hasPrefix(f[0], copied)).To(BeTrue(), "package %s is outside the directories the Dockerfile copies", rel)
		for _, e := range f[1:] {
			g.Expect(e).NotTo(Or(HaveSuffix("_test.go"), ContainSubstring("testdata/")), "%s embeds %s, which .dockerignore excludes", rel, e)
		}
	}
}

// The Dockerfile's build command, run outside Docker, builds a static,
// stamped manager that starts.
func TestDockerfileBuildCommandBuildsTheManager(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the manager; not run with -short")
	}
	g := NewWithT(t)
	cmd := readDockerfile(t).buildCommand(t)
	bin := filepath.Join(t.TempDir(), "manager")
	local := strings.Replace(cmd, "-o manager ", "-o "+bin+" ", 1)
	g.Expect(local).NotTo(Equal(cmd))

	sh := exec.Command("sh", "-c", local)
	sh.Dir = root
	sh.Env = append(os.Environ(), "VERSION=v9.9.9-gitops-test", "TARGETOS="+runtime.GOOS, "TARGETARCH="+runtime.GOARCH)
	out, err := sh.CombinedOutput()
	g.Expect(err).NotTo(HaveOccurred(), "%s\n%s", cmd, out)

	info, err := run("go", "version", "-m", bin)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(info).To(ContainSubstring("CGO_ENABLED=0"))
	g.Expect(info).To(ContainSubstring("-trimpath=true"))
	// -trimpath keeps -ldflags out of the build info: look for their effects.
	data, err := os.ReadFile(bin)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(bytes.Contains(data, []byte("v9.9.9-gitops-test"))).To(BeTrue(), "-X stamps the version into the binary")
	if runtime.GOOS == "linux" {
		f, err := elf.Open(bin)
		g.Expect(err).NotTo(HaveOccurred())
		defer f.Close()
		g.Expect(f.Section(".symtab")).To(BeNil(), "-s strips the symbol table")
		g.Expect(f.Section(".debug_info")).To(BeNil(), "-w strips DWARF")
	}

	help := exec.Command(bin, "--help")
	out, err = help.CombinedOutput()
	g.Expect(err).NotTo(HaveOccurred(), "%s --help: %s", bin, out)
	for _, flag := range []string{"-leader-elect", "-metrics-bind-address", "-health-probe-bind-address", "-default-policy", "-log-level", "-log-format"} {
		g.Expect(string(out)).To(ContainSubstring(flag))
	}
}
