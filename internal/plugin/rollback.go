package plugin

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
)

// NewRollbackCommand pins an app to an earlier release (spec.rollbackTo).
func NewRollbackCommand(o *Options) *cobra.Command {
	var to int32
	cmd := &cobra.Command{
		Use:   "rollback APP [--to N]",
		Short: "Run an earlier release again (sets spec.rollbackTo); without --to, the release before the current one",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := o.connect()
			if err != nil {
				return err
			}
			app, err := s.app(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			rels, err := s.releases(cmd, app.Name)
			if err != nil {
				return err
			}
			if to == 0 {
				for _, r := range rels { // newest first
					if r.Spec.Number < app.Status.CurrentRelease {
						to = r.Spec.Number
						break
					}
				}
				if to == 0 {
					return fmt.Errorf("app %s has no release before v%d to roll back to", app.Name, app.Status.CurrentRelease)
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
			spec := owned(app)
			spec["rollbackTo"] = to
			if err := s.apply(cmd.Context(), app.Name, spec); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Rolled back %s to v%d (pinned; run `kubectl twelvefactor unpin %s` to return to the latest)\n", app.Name, to, app.Name)
			return nil
		},
	}
	cmd.Flags().Int32Var(&to, "to", 0, "release number to run")
	return cmd
}

// NewUnpinCommand removes the pin, returning the app to its latest release.
func NewUnpinCommand(o *Options) *cobra.Command {
	return &cobra.Command{
		Use:   "unpin APP",
		Short: "Return an app to its latest release (removes spec.rollbackTo)",
		Args:  cobra.ExactArgs(1),
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
				fmt.Fprintf(cmd.OutOrStdout(), "%s is not pinned\n", app.Name)
				return nil
			}
			if owner := rollbackOwner(app); owner != "" && owner != tfv1.PluginFieldManager {
				fmt.Fprintf(cmd.ErrOrStderr(), "spec.rollbackTo of %s is set by %q, not by this plugin: remove it there (in Git, for a GitOps tool)\n", app.Name, owner)
				return exitError{code: ExitError}
			}
			// Applying without rollbackTo drops the field this manager owned.
			spec := owned(app)
			delete(spec, "rollbackTo")
			if err := s.apply(cmd.Context(), app.Name, spec); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Unpinned %s: returning to the latest release\n", app.Name)
			return nil
		},
	}
}

// rollbackOwner returns the field manager that owns spec.rollbackTo.
func rollbackOwner(app *tfv1.TwelveFactorApp) string {
	for _, mf := range app.ManagedFields {
		if mf.FieldsV1 != nil && strings.Contains(string(mf.FieldsV1.Raw), `"f:rollbackTo"`) {
			return mf.Manager
		}
	}
	return ""
}
