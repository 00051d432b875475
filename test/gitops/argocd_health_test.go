package gitops

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	lua "github.com/yuin/gopher-lua"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
)

// This file runs resource_customizations/<group>/<Kind>/health.lua the way
// Argo CD does (argoproj/argo-cd util/lua/lua.go: VM.runLua and
// VM.ExecuteHealthLua), on the same engine, github.com/yuin/gopher-lua,
// without importing Argo CD:
//   - a fresh LState per call; the standard libraries are skipped unless
//     UseOpenLibs, which Argo CD sets for its built-in scripts and for
//     argocd-cm scripts with useOpenLibs: true, but not by default;
//   - then package, base, table and a safe os (time/date only) are opened
//     regardless, so an argocd-cm script without useOpenLibs has no string,
//     math, io or full os library;
//   - the object is a Lua table built by decodeValue, bound to the global obj,
//     under a 1 second deadline;
//   - the script's return value must be a table; its status must be one of
//     Argo CD's health codes, else the result is Unknown.
// Every script is run in both library modes and with numbers decoded both as
// the live controller sees them (int64) and as Argo CD's own test harness does
// (float64 from YAML).

// healthTests is the layout of Argo CD's health_test.yaml.
type healthTests struct {
	Tests []struct {
		InputPath    string       `json:"inputPath"`
		HealthStatus healthStatus `json:"healthStatus"`
	} `json:"tests"`
}

type healthStatus struct {
	Status  string `json:"status,omitempty"`
	Message string `json:"message,omitempty"`
}

// Argo CD's health codes (gitops-engine pkg/health).
var healthCodes = []string{"Unknown", "Progressing", "Healthy", "Suspended", "Degraded", "Missing"}

// runHealthLua mirrors Argo CD's VM.runLua and VM.ExecuteHealthLua.
func runHealthLua(obj map[string]any, script string, useOpenLibs bool) (*healthStatus, error) {
	l := lua.NewState(lua.Options{SkipOpenLibs: !useOpenLibs})
	defer l.Close()
	for _, pair := range []struct {
		n string
		f lua.LGFunction
	}{
		{lua.LoadLibName, lua.OpenPackage},
		{lua.BaseLibName, lua.OpenBase},
		{lua.TabLibName, lua.OpenTable},
		{lua.OsLibName, openSafeOs},
	} {
		if err := l.CallByParam(lua.P{Fn: l.NewFunction(pair.f), NRet: 0, Protect: true}, lua.LString(pair.n)); err != nil {
			return nil, err
		}
	}
	l.PreloadModule(lua.OsLibName, safeOsLoader)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	l.SetContext(ctx)
	l.SetGlobal("obj", decodeValue(l, obj))
	if err := l.DoString(script); err != nil {
		return nil, err
	}
	ret := l.Get(-1)
	tbl, ok := ret.(*lua.LTable)
	if !ok {
		return nil, fmt.Errorf("expect table output from Lua script, not %s", ret.Type())
	}
	hs := &healthStatus{}
	if s, ok := tbl.RawGetString("status").(lua.LString); ok {
		hs.Status = string(s)
	}
	if m, ok := tbl.RawGetString("message").(lua.LString); ok {
		hs.Message = string(m)
	}
	if !slices.Contains(healthCodes, hs.Status) {
		return &healthStatus{Status: "Unknown", Message: "Lua returned an invalid health status"}, nil
	}
	return hs, nil
}

// decodeValue converts an object to a Lua table as Argo CD's decodeValue does.
func decodeValue(l *lua.LState, value any) lua.LValue {
	switch v := value.(type) {
	case bool:
		return lua.LBool(v)
	case float64:
		return lua.LNumber(v)
	case string:
		return lua.LString(v)
	case json.Number:
		return lua.LString(v)
	case int:
		return lua.LNumber(v)
	case int32:
		return lua.LNumber(v)
	case int64:
		return lua.LNumber(v)
	case []any:
		arr := l.CreateTable(len(v), 0)
		for _, item := range v {
			arr.Append(decodeValue(l, item))
		}
		return arr
	case map[string]any:
		tbl := l.CreateTable(0, len(v))
		for key, item := range v {
			tbl.RawSetH(lua.LString(key), decodeValue(l, item))
		}
		return tbl
	}
	return lua.LNil
}

// The safe subset of os that Argo CD exposes (util/lua/oslib_safe.go): time
// and date only. The scripts here use neither; os.exit, os.getenv, io and the
// rest do not exist.
var safeOsFuncs = map[string]lua.LGFunction{
	"time": func(l *lua.LState) int { l.Push(lua.LNumber(time.Now().Unix())); return 1 },
	"date": func(l *lua.LState) int { l.Push(lua.LString(time.Now().Format(time.RFC3339))); return 1 },
}

func openSafeOs(l *lua.LState) int {
	l.Push(l.RegisterModule(lua.OsLibName, safeOsFuncs))
	return 1
}

func safeOsLoader(l *lua.LState) int {
	l.Push(l.SetFuncs(l.NewTable(), safeOsFuncs))
	return 1
}

// liveObject decodes a YAML object as the Argo CD controller holds it: JSON
// numbers become int64.
func liveObject(t *testing.T, data []byte) map[string]any {
	t.Helper()
	j, err := yaml.YAMLToJSON(data)
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(j); err != nil {
		t.Fatal(err)
	}
	return u.Object
}

// yamlObject decodes it as Argo CD's health_test.go does: numbers are float64.
func yamlObject(t *testing.T, data []byte) map[string]any {
	t.Helper()
	m := map[string]any{}
	if err := yaml.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// customizations returns every directory with a health.lua.
func customizations(t *testing.T) []string {
	t.Helper()
	var dirs []string
	base := filepath.Join(root, "resource_customizations")
	err := filepath.WalkDir(base, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Name() == "health.lua" {
			dirs = append(dirs, filepath.Dir(path))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) == 0 {
		t.Fatal("no health.lua under resource_customizations")
	}
	return dirs
}

func TestArgoCDHealthChecks(t *testing.T) {
	for _, dir := range customizations(t) {
		key, _ := filepath.Rel(filepath.Join(root, "resource_customizations"), dir)
		script, err := os.ReadFile(filepath.Join(dir, "health.lua"))
		if err != nil {
			t.Fatal(err)
		}
		raw, err := os.ReadFile(filepath.Join(dir, "health_test.yaml"))
		if err != nil {
			t.Fatalf("%s has a health.lua but no health_test.yaml: %v", key, err)
		}
		var tests healthTests
		if err := yaml.UnmarshalStrict(raw, &tests); err != nil {
			t.Fatalf("%s/health_test.yaml: %v", key, err)
		}

		t.Run(key, func(t *testing.T) {
			used := map[string]bool{}
			seen := map[string]bool{}
			for _, tc := range tests.Tests {
				used[filepath.Clean(tc.InputPath)] = true
				seen[tc.HealthStatus.Status] = true
				data, err := os.ReadFile(filepath.Join(dir, tc.InputPath))
				if err != nil {
					t.Fatal(err)
				}
				for _, mode := range []struct {
					name        string
					useOpenLibs bool
				}{{"argocd-cm", false}, {"built-in", true}} {
					for _, dec := range []struct {
						name   string
						decode func(*testing.T, []byte) map[string]any
					}{{"live", liveObject}, {"yaml", yamlObject}} {
						t.Run(strings.Join([]string{tc.InputPath, mode.name, dec.name}, "/"), func(t *testing.T) {
							got, err := runHealthLua(dec.decode(t, data), string(script), mode.useOpenLibs)
							g := NewWithT(t)
							g.Expect(err).NotTo(HaveOccurred())
							g.Expect(*got).To(Equal(tc.HealthStatus))
						})
					}
				}
			}
			// Every fixture is a test case, and every outcome is tested.
			fixtures, _ := filepath.Glob(filepath.Join(dir, "testdata", "*.yaml"))
			for _, f := range fixtures {
				rel, _ := filepath.Rel(dir, f)
				if !used[rel] {
					t.Errorf("%s is not used by health_test.yaml", rel)
				}
			}
			if key == filepath.Join("twelvefactor.dev", "TwelveFactorApp") {
				for _, s := range []string{"Healthy", "Progressing", "Degraded", "Suspended"} {
					if !seen[s] {
						t.Errorf("no test case expects %s", s)
					}
				}
			}
		})
	}
}

// The fixtures must be real TwelveFactorApps: a misspelled status field would
// make the script test pass against a shape the operator never writes.
func TestArgoCDHealthFixturesMatchTheAPI(t *testing.T) {
	dir := filepath.Join(root, "resource_customizations", "twelvefactor.dev", "TwelveFactorApp", "testdata")
	fixtures, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if len(fixtures) == 0 {
		t.Fatal("no fixtures")
	}
	for _, f := range fixtures {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			app := &tfv1.TwelveFactorApp{}
			g := NewWithT(t)
			g.Expect(yaml.UnmarshalStrict(data, app)).To(Succeed())
			g.Expect(app.APIVersion).To(Equal(tfv1.GroupVersion.String()))
			g.Expect(app.Kind).To(Equal("TwelveFactorApp"))
			for _, c := range app.Status.Conditions {
				g.Expect([]string{tfv1.ConditionReady, tfv1.ConditionReconciling, tfv1.ConditionStalled, tfv1.ConditionReleased, tfv1.ConditionTwelveFactorCompliant}).To(ContainElement(c.Type))
			}
		})
	}
}

// A script that needs the standard libraries fails in argocd-cm mode, so the
// harness really is as strict as Argo CD.
func TestArgoCDHarnessHasNoStandardLibraries(t *testing.T) {
	for _, script := range []string{
		`return {status = string.upper("healthy")}`,
		`return {status = "Healthy", message = tostring(math.floor(1.5))}`,
		`os.exit(1)`,
		`return {status = io.read()}`,
	} {
		_, err := runHealthLua(map[string]any{}, script, false)
		if err == nil {
			t.Errorf("script %q ran without the standard libraries", script)
		}
	}
	got, err := runHealthLua(map[string]any{}, `return {status = "Fine"}`, true)
	if err != nil || got.Status != "Unknown" {
		t.Errorf("an invalid status must become Unknown, got %v, %v", got, err)
	}
}

// docs/gitops.md shows the argocd-cm entry; it must carry health.lua verbatim.
func TestArgoCDDocsCarryTheHealthCheck(t *testing.T) {
	g := NewWithT(t)
	script, err := os.ReadFile(filepath.Join(root, "resource_customizations", "twelvefactor.dev", "TwelveFactorApp", "health.lua"))
	g.Expect(err).NotTo(HaveOccurred())
	doc, err := os.ReadFile(filepath.Join(root, "docs", "gitops.md"))
	g.Expect(err).NotTo(HaveOccurred())
	var found bool
	for _, block := range regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(string(doc), -1) {
		if !strings.Contains(block[1], "name: argocd-cm") {
			continue
		}
		cm := &corev1.ConfigMap{}
		g.Expect(yaml.Unmarshal([]byte(block[1]), cm)).To(Succeed())
		lua, ok := cm.Data["resource.customizations.health.twelvefactor.dev_TwelveFactorApp"]
		g.Expect(ok).To(BeTrue(), "the argocd-cm example has no health customization for TwelveFactorApp")
		g.Expect(lua).To(Equal(string(script)), "docs/gitops.md's argocd-cm health check differs from health.lua")
		found = true
	}
	g.Expect(found).To(BeTrue(), "docs/gitops.md has no argocd-cm example")
}
