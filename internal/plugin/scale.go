package plugin

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
)

// NewScaleCommand sets process replicas, like `heroku ps:scale web=3`.
// Scaling is formation, not content: it never makes a release.
func NewScaleCommand(o *Options) *cobra.Command {
	return &cobra.Command{
		Use:   "scale APP TYPE=N...",
		Short: "Scale process types, e.g. scale shop web=3 worker=2 (makes no release)",
		Args:  cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
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
			for _, p := range app.Spec.Processes {
				known[p.Name] = true
				auto[p.Name] = p.Autoscaling != nil
			}
			spec := owned(app)
			byName := map[string]any{}
			if prev, ok := spec["processes"].([]any); ok {
				for _, p := range prev {
					byName[p.(map[string]any)["name"].(string)] = p
				}
			}
			for _, arg := range args[1:] {
				name, val, ok := strings.Cut(arg, "=")
				n, err := strconv.Atoi(val)
				if !ok || err != nil || n < 0 {
					return fmt.Errorf("%q is not TYPE=N with N a number of replicas", arg)
				}
				if !known[name] {
					return fmt.Errorf("app %s has no process type %q", app.Name, name)
				}
				if auto[name] {
					return fmt.Errorf("process type %q of %s is autoscaled: change spec.processes[].autoscaling instead", name, app.Name)
				}
				byName[name] = map[string]any{"name": name, "replicas": n}
			}
			var procs []any
			for _, p := range app.Spec.Processes {
				if v, ok := byName[p.Name]; ok {
					procs = append(procs, v)
				}
			}
			spec["processes"] = procs
			// processes is a list keyed by name, so only replicas are applied.
			if err := s.apply(cmd.Context(), app.Name, spec); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Scaled %s: %s\n", app.Name, strings.Join(args[1:], " "))
			return nil
		},
	}
}
