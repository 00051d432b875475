package plugin

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
)

// NewRollbackCommand pins an app to an earlier release (spec.rollbackTo),
// like `heroku rollback`.
func NewRollbackCommand(o *Options) *cobra.Command {
	var to int32
	cmd := &cobra.Command{
		Use:   "rollback APP [--to N]",
		Short: "Run an earlier release again (pins spec.rollbackTo)",
		Long: "rollback pins the app to an earlier release by setting spec.rollbackTo with server-side apply\n" +
			"under the field manager \"" + tfv1.PluginFieldManager + "\". The release's image, commands, config and\n" +
			"bindings run again. Without --to it picks the release before the current one.\n" +
			"`kubectl twelvefactor unpin APP` returns to the latest release.",
		Example: "  kubectl twelvefactor rollback shop\n  kubectl twelvefactor rollback shop --to 4",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("to") && to < 1 {
				return fmt.Errorf("--to must be a release number, 1 or more")
			}
			s, err := o.connect()
			if err != nil {
				return err
			}
			app, err := s.app(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			rels, err := s.releases(cmd.Context(), app.Name)
			if err != nil {
				return err
			}
			if to == 0 {
				cur := app.Status.CurrentRelease
				if cur == 0 {
					return fmt.Errorf("app %s has no running release yet, so there is nothing to roll back from", app.Name)
				}
				for _, r := range rels { // newest first
					if r.Spec.Number < cur {
						to = r.Spec.Number
						break
					}
				}
				if to == 0 {
					return fmt.Errorf("app %s runs v%d and has no earlier release to roll back to", app.Name, cur)
				}
			}
			found := false
			var avail []string
			for _, r := range rels {
				avail = append(avail, fmt.Sprintf("v%d", r.Spec.Number))
				found = found || r.Spec.Number == to
			}
			if !found {
				return fmt.Errorf("app %s has no release v%d; available: %s", app.Name, to, strings.Join(avail, ", "))
			}
			if foreign := others(app, rollbackToPath); len(foreign) > 0 && app.Spec.RollbackTo != nil {
				refuseForeignPin(cmd.ErrOrStderr(), app, foreign)
				return exitError{code: ExitError}
			}
			spec := owned(app)
			spec["rollbackTo"] = int64(to)
			if err := s.apply(cmd.Context(), app.Name, spec); err != nil {
				return fmt.Errorf("pinning %s to v%d: %w", app.Name, to, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Rolled back %s to v%d (pinned; run `kubectl twelvefactor unpin %s` to return to the latest)\n",
				app.Name, to, app.Name)
			return nil
		},
	}
	cmd.Flags().Int32Var(&to, "to", 0, "release number to run (default: the release before the current one)")
	return cmd
}

// NewUnpinCommand removes the plugin's pin, returning the app to its latest
// release. A pin set by another field manager, such as a GitOps tool, is left
// alone: it must be removed where it was set.
func NewUnpinCommand(o *Options) *cobra.Command {
	return &cobra.Command{
		Use:   "unpin APP",
		Short: "Return an app to its latest release (removes the plugin's spec.rollbackTo)",
		Long: "unpin removes spec.rollbackTo when this plugin set it. When another field manager owns the pin\n" +
			"(kubectl apply, kubectl edit, Argo CD, Flux…), unpin names it and exits 2 without changing anything:\n" +
			"remove the pin where it was set, in Git for a GitOps tool, or the tool would set it again.",
		Example: "  kubectl twelvefactor unpin shop",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := o.connect()
			if err != nil {
				return err
			}
			app, err := s.app(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if app.Spec.RollbackTo == nil {
				fmt.Fprintf(cmd.OutOrStdout(), "%s is not pinned: it runs its latest release\n", app.Name)
				return nil
			}
			if foreign := others(app, rollbackToPath); len(foreign) > 0 {
				refuseForeignPin(cmd.ErrOrStderr(), app, foreign)
				return exitError{code: ExitError}
			}
			// The apply leaves rollbackTo out; as the plugin was its only
			// owner, the API server removes it.
			spec := owned(app)
			delete(spec, "rollbackTo")
			if err := s.apply(cmd.Context(), app.Name, spec); err != nil {
				return fmt.Errorf("unpinning %s: %w", app.Name, err)
			}
			after := &tfv1.TwelveFactorApp{}
			if err := s.Get(cmd.Context(), client.ObjectKeyFromObject(app), after); err != nil {
				return err
			}
			if after.Spec.RollbackTo != nil {
				return fmt.Errorf("spec.rollbackTo of %s is still v%d: it has no field manager the plugin can see; remove it with kubectl edit",
					app.Name, *after.Spec.RollbackTo)
			}
			latest := ""
			if after.Status.LatestRelease > 0 {
				latest = fmt.Sprintf(" (v%d)", after.Status.LatestRelease)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Unpinned %s from v%d: it returns to its latest release%s\n", app.Name, *app.Spec.RollbackTo, latest)
			return nil
		},
	}
}

func refuseForeignPin(w io.Writer, app *tfv1.TwelveFactorApp, foreign []string) {
	fmt.Fprintf(w, "error: spec.rollbackTo of %s (v%d) is owned by %s, not by %q.\n"+
		"Change or remove it where it was set (in Git, for a GitOps tool such as Argo CD or Flux);\n"+
		"the plugin does not override another owner's pin, which would be set again on the next sync.\n",
		app.Name, *app.Spec.RollbackTo, managerList(foreign), tfv1.PluginFieldManager)
}
