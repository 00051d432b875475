package plugin

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/meta"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
	"github.com/twelvefactor/twelvefactor-operator/internal/policy"
)

// NewStatusCommand shows an app's releases, processes, conditions and its
// twelve-factor report.
func NewStatusCommand(o *Options) *cobra.Command {
	return &cobra.Command{
		Use:   "status APP",
		Short: "Show an app's release, processes, conditions and twelve-factor report",
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
			out := cmd.OutOrStdout()
			pin := ""
			if app.Status.Pinned {
				pin = " (pinned by spec.rollbackTo)"
			}
			fmt.Fprintf(out, "=== %s: running v%d%s, latest v%d\n", app.Name, app.Status.CurrentRelease, pin, app.Status.LatestRelease)
			for _, t := range []string{tfv1.ConditionReady, tfv1.ConditionReconciling, tfv1.ConditionStalled, tfv1.ConditionReleased, tfv1.ConditionTwelveFactorCompliant} {
				if c := meta.FindStatusCondition(app.Status.Conditions, t); c != nil {
					fmt.Fprintf(out, "%s=%s (%s): %s\n", c.Type, c.Status, c.Reason, c.Message)
				}
			}
			fmt.Fprintln(out, "\n=== Processes")
			w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "NAME\tREADY\tUPDATED\tRELEASE")
			for _, p := range app.Status.Processes {
				fmt.Fprintf(w, "%s\t%d/%d\t%d\tv%d\n", p.Name, p.ReadyReplicas, p.Replicas, p.UpdatedReplicas, p.Release)
			}
			if err := w.Flush(); err != nil {
				return err
			}
			fmt.Fprintln(out, "\n=== Twelve factors")
			w = tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "FACTOR\tSTATUS\tREASON\tMESSAGE")
			for _, f := range app.Status.Factors {
				fmt.Fprintf(w, "%s %s\t%s\t%s\t%s\n", f.Factor, policy.FactorName(f.Factor), f.Status, f.Reason, f.Message)
			}
			return w.Flush()
		},
	}
}
