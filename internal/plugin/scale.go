package plugin

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
)

// maxReplicas is the API's bound on spec.processes[].replicas.
const maxReplicas = 1000

// NewScaleCommand sets process replicas, like `heroku ps:scale web=3`.
// Scaling is formation, not content: it never makes a release.
func NewScaleCommand(o *Options) *cobra.Command {
	return &cobra.Command{
		Use:   "scale APP TYPE=N... | TYPE-...",
		Short: "Scale process types, e.g. scale shop web=3 worker=2 (makes no release)",
		Long: "scale sets spec.processes[].replicas with server-side apply under the field manager\n" +
			"\"kubectl-twelvefactor\". Only the replicas are applied, so the rest of the spec keeps its owner.\n" +
			"Scaling never makes a release. Autoscaled process types are refused: change their autoscaling.\n" +
			"TYPE- gives TYPE's replicas back: the plugin stops owning them, and the value set by the spec's\n" +
			"other owner (or the default, 1) applies. Do this before removing a scaled process type from Git.",
		Example: "  kubectl twelvefactor scale shop web=3 worker=2\n" +
			"  kubectl twelvefactor scale shop worker=0\n" +
			"  kubectl twelvefactor scale shop web-",
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			type change struct {
				name     string
				replicas int64
				release  bool
			}
			var changes []change
			for _, arg := range args[1:] {
				if name, ok := strings.CutSuffix(arg, "-"); ok && name != "" && !strings.Contains(name, "=") {
					changes = append(changes, change{name: name, release: true})
					continue
				}
				name, val, ok := strings.Cut(arg, "=")
				n, err := strconv.ParseInt(val, 10, 32)
				if !ok || name == "" || err != nil || n < 0 || n > maxReplicas {
					return fmt.Errorf("%q is not TYPE=N with N a number of replicas from 0 to %d, or TYPE-", arg, maxReplicas)
				}
				changes = append(changes, change{name: name, replicas: n})
			}
			s, err := o.connect()
			if err != nil {
				return err
			}
			app, err := s.app(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			known := map[string]bool{}
			auto := map[string]bool{}
			var names []string
			for _, p := range app.Spec.Processes {
				known[p.Name] = true
				auto[p.Name] = p.Autoscaling != nil
				names = append(names, p.Name)
			}
			spec := owned(app)
			byName := map[string]any{}
			if prev, ok := spec["processes"].([]any); ok {
				for _, p := range prev {
					byName[p.(map[string]any)["name"].(string)] = p
				}
			}
			var scaled, given []string
			for _, c := range changes {
				if !known[c.name] {
					return fmt.Errorf("app %s has no process type %q; its process types are: %s", app.Name, c.name, strings.Join(names, ", "))
				}
				if c.release {
					delete(byName, c.name)
					given = append(given, c.name)
					continue
				}
				if auto[c.name] {
					return fmt.Errorf("process type %q of %s is autoscaled: change spec.processes[name=%s].autoscaling (minReplicas, maxReplicas) instead of scaling it",
						c.name, app.Name, c.name)
				}
				if foreign := others(app, replicasPath(c.name)); len(foreign) > 0 {
					fmt.Fprintf(cmd.ErrOrStderr(), "note: the replicas of %s were set by %s; if it applies the app again (kubectl apply, a GitOps sync), "+
						"it may set them back: change them there too\n", c.name, managerList(foreign))
				}
				byName[c.name] = map[string]any{"name": c.name, "replicas": c.replicas}
				scaled = append(scaled, fmt.Sprintf("%s=%d", c.name, c.replicas))
			}
			var procs []any
			for _, p := range app.Spec.Processes {
				if v, ok := byName[p.Name]; ok {
					procs = append(procs, v)
				}
			}
			// processes is a list-map keyed by name: entries of only
			// {name, replicas} merge into the owner's entries.
			if procs != nil {
				spec["processes"] = procs
			} else {
				delete(spec, "processes")
			}
			if err := s.apply(cmd.Context(), app.Name, spec); err != nil {
				return fmt.Errorf("scaling %s: %w", app.Name, err)
			}
			if len(scaled) > 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "Scaled %s: %s (no new release)\n", app.Name, strings.Join(scaled, ", "))
			}
			if len(given) > 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "Gave back the replicas of %s %s: the spec's value applies (no new release)\n",
					app.Name, strings.Join(given, ", "))
			}
			return nil
		},
	}
}
