package plugin

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
	"github.com/twelvefactor/twelvefactor-operator/internal/policy"
)

// LintOptions are the options of `kubectl twelvefactor lint`.
type LintOptions struct {
	*Options
	// Filenames are files, directories, or "-" for stdin.
	Filenames []string
	// Recursive descends into subdirectories of directories in Filenames.
	Recursive bool
}

// NewLintCommand returns the lint command: it checks the TwelveFactorApps in
// manifests against the twelve-factor policy, offline, for CI in GitOps
// repositories.
func NewLintCommand(o *Options) *cobra.Command {
	l := &LintOptions{Options: o}
	cmd := &cobra.Command{
		Use:   "lint -f FILENAME",
		Short: "Check TwelveFactorApps in manifests against the twelve-factor policy",
		Long: "Check every TwelveFactorApp in the given manifests against the twelve-factor policy, the same\n" +
			"rules the operator reports in status.factors, and print one row per factor.\n\n" +
			"Other kinds of documents are skipped. Lint runs offline, so rules that need what the operator\n" +
			"observes (startup time, the digest of a promotion's upstream) pass or warn as unknown.\n\n" +
			"Exit status: 0 when no factor fails, 1 when a factor fails, 2 when the input cannot be read.",
		Example: "  # Check the apps in a file\n" +
			"  kubectl twelvefactor lint -f app.yaml\n\n" +
			"  # Check every manifest in a GitOps folder and its subfolders\n" +
			"  kubectl twelvefactor lint -R -f clusters/production\n\n" +
			"  # Check rendered manifests\n" +
			"  kustomize build overlays/production | kubectl twelvefactor lint -f -",
		Args: cobra.NoArgs,
		RunE: func(_ *cobra.Command, _ []string) error { return l.Run() },
	}
	cmd.Flags().StringSliceVarP(&l.Filenames, "filename", "f", nil,
		"Files or directories (.yaml, .yml and .json files in them) holding the manifests, or - for stdin.")
	cmd.Flags().BoolVarP(&l.Recursive, "recursive", "R", false,
		"Process the directories given with -f recursively.")
	_ = cmd.MarkFlagRequired("filename")
	return cmd
}

// lintedApp is an app read from a manifest.
type lintedApp struct {
	source string
	app    *tfv1.TwelveFactorApp
}

// Run reads the manifests and prints a table per app. It returns an error
// with ExitFail when an app fails a factor.
func (l *LintOptions) Run() error {
	apps, err := l.read()
	if err != nil {
		return err
	}
	if len(apps) == 0 {
		fmt.Fprintf(l.ErrOut, "No TwelveFactorApp found in %s\n", strings.Join(l.Filenames, ", "))
		return nil
	}
	failed := 0
	for i, a := range apps {
		if i > 0 {
			fmt.Fprintln(l.Out)
		}
		results := policy.Evaluate(a.app, policy.Observations{})
		if err := printResults(l.Out, a, results); err != nil {
			return err
		}
		if policy.Worst(results) == tfv1.FactorFail {
			failed++
		}
	}
	if failed > 0 {
		fmt.Fprintf(l.ErrOut, "%d of %d TwelveFactorApps fail the twelve-factor policy\n", failed, len(apps))
		return exitError{code: ExitFail}
	}
	return nil
}

func printResults(out io.Writer, a lintedApp, results []tfv1.FactorResult) error {
	name := a.app.Name
	if a.app.Namespace != "" {
		name = a.app.Namespace + "/" + name
	}
	fmt.Fprintf(out, "TwelveFactorApp %s (%s)\n", name, a.source)
	w := tabwriter.NewWriter(out, 6, 4, 3, ' ', 0)
	fmt.Fprintln(w, "FACTOR\tSTATUS\tREASON\tMESSAGE")
	for _, r := range results {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", r.Factor, r.Status, r.Reason, r.Message)
	}
	return w.Flush()
}

// read returns the apps in l.Filenames, in order: files as given, and the
// files of a directory in lexical order.
func (l *LintOptions) read() ([]lintedApp, error) {
	var apps []lintedApp
	for _, name := range l.Filenames {
		if name == "-" {
			got, err := readManifests(l.In, "<stdin>")
			if err != nil {
				return nil, err
			}
			apps = append(apps, got...)
			continue
		}
		info, err := os.Stat(name)
		if err != nil {
			return nil, err
		}
		if !info.IsDir() {
			got, err := readFile(name)
			if err != nil {
				return nil, err
			}
			apps = append(apps, got...)
			continue
		}
		err = filepath.WalkDir(name, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if path != name && !l.Recursive {
					return filepath.SkipDir
				}
				return nil
			}
			switch filepath.Ext(path) {
			case ".yaml", ".yml", ".json":
				got, err := readFile(path)
				apps = append(apps, got...)
				return err
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return apps, nil
}

func readFile(path string) ([]lintedApp, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	return readManifests(f, path)
}

// readManifests reads a stream of YAML or JSON documents and returns the
// TwelveFactorApps among them, including those inside a List.
func readManifests(r io.Reader, source string) ([]lintedApp, error) {
	var apps []lintedApp
	docs := utilyaml.NewYAMLReader(bufio.NewReader(r))
	for i := 1; ; i++ {
		doc, err := docs.Read()
		if errors.Is(err, io.EOF) {
			return apps, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", source, err)
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		got, err := decodeApps(doc)
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", source, i, err)
		}
		for _, a := range got {
			apps = append(apps, lintedApp{source: source, app: a})
		}
	}
}

// decodeApps returns the TwelveFactorApp in a document, or those in a List.
// Documents of other kinds, and documents that are not objects, hold none.
// A TwelveFactorApp is decoded strictly, so a misspelt field is an error.
func decodeApps(doc []byte) ([]*tfv1.TwelveFactorApp, error) {
	var obj any
	if err := yaml.Unmarshal(doc, &obj); err != nil {
		return nil, err
	}
	m, ok := obj.(map[string]any)
	if !ok {
		return nil, nil
	}
	apiVersion, _ := m["apiVersion"].(string)
	kind, _ := m["kind"].(string)
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return nil, nil
	}
	switch {
	case gv.Group == tfv1.GroupVersion.Group && kind == "TwelveFactorApp":
		if gv != tfv1.GroupVersion {
			return nil, fmt.Errorf("TwelveFactorApp %s is not supported: use %s", apiVersion, tfv1.GroupVersion)
		}
		app := &tfv1.TwelveFactorApp{}
		if err := yaml.UnmarshalStrict(doc, app); err != nil {
			return nil, fmt.Errorf("TwelveFactorApp: %w", err)
		}
		return []*tfv1.TwelveFactorApp{app}, nil
	case gv.Group == "" && strings.HasSuffix(kind, "List"):
		var list struct {
			Items []json.RawMessage `json:"items"`
		}
		if err := yaml.Unmarshal(doc, &list); err != nil {
			return nil, err
		}
		var apps []*tfv1.TwelveFactorApp
		for i, item := range list.Items {
			got, err := decodeApps(item)
			if err != nil {
				return nil, fmt.Errorf("items[%d]: %w", i, err)
			}
			apps = append(apps, got...)
		}
		return apps, nil
	}
	return nil, nil
}
