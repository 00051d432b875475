package plugin

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/meta"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
	"github.com/twelvefactor/twelvefactor-operator/internal/policy"
)

// NewStatusCommand shows an app's release, conditions, processes and its
// twelve-factor report, like `heroku ps` and `heroku info` together.
func NewStatusCommand(o *Options) *cobra.Command {
	return &cobra.Command{
		Use:     "status APP",
		Short:   "Show an app's release, conditions, processes and twelve-factor report",
		Example: "  kubectl twelvefactor status shop",
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
			return printStatus(cmd.OutOrStdout(), app)
		},
	}
}

func printStatus(out io.Writer, app *tfv1.TwelveFactorApp) error {
	st := app.Status
	fmt.Fprintf(out, "=== %s\n", app.Name)
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	release := "none yet"
	if st.CurrentRelease > 0 {
		release = fmt.Sprintf("v%d", st.CurrentRelease)
	}
	fmt.Fprintf(w, "Current release:\t%s\n", release)
	latest := "none yet"
	if st.LatestRelease > 0 {
		latest = fmt.Sprintf("v%d", st.LatestRelease)
	}
	fmt.Fprintf(w, "Latest release:\t%s\n", latest)
	pinned := "no"
	if app.Spec.RollbackTo != nil {
		pinned = fmt.Sprintf("yes, spec.rollbackTo=%d", *app.Spec.RollbackTo)
	}
	fmt.Fprintf(w, "Pinned:\t%s\n", pinned)
	if st.Image != "" {
		fmt.Fprintf(w, "Image:\t%s\n", st.Image)
	}
	for _, t := range []string{tfv1.ConditionReady, tfv1.ConditionStalled, tfv1.ConditionReconciling} {
		c := meta.FindStatusCondition(st.Conditions, t)
		switch {
		case c == nil && t == tfv1.ConditionReady:
			fmt.Fprintf(w, "%s:\tUnknown\t(not reported yet)\n", t)
			continue
		case c == nil && t == tfv1.ConditionStalled:
			// kstatus: the operator removes Stalled when nothing blocks.
			fmt.Fprintf(w, "%s:\tFalse\t(nothing blocks the app)\n", t)
			continue
		case c == nil:
			continue
		}
		fmt.Fprintf(w, "%s:\t%s\t%s: %s\n", c.Type, c.Status, c.Reason, c.Message)
	}
	if err := w.Flush(); err != nil {
		return err
	}

	fmt.Fprintln(out, "\n=== Processes")
	w = tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "NAME\tREADY\tUPDATED\tRELEASE")
	for _, p := range st.Processes {
		rel := "-"
		if p.Release > 0 {
			rel = fmt.Sprintf("v%d", p.Release)
		}
		fmt.Fprintf(w, "%s\t%d/%d\t%d\t%s\n", p.Name, p.ReadyReplicas, p.Replicas, p.UpdatedReplicas, rel)
	}
	if err := w.Flush(); err != nil {
		return err
	}

	fmt.Fprintln(out, "\n=== Twelve factors")
	if len(st.Factors) == 0 {
		fmt.Fprintln(out, "(not evaluated yet)")
		return nil
	}
	factors := slices.Clone(st.Factors)
	sort.SliceStable(factors, func(i, j int) bool {
		return slices.Index(policy.Factors, factors[i].Factor) < slices.Index(policy.Factors, factors[j].Factor)
	})
	w = tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "FACTOR\tSTATUS\tREASON\tMESSAGE")
	for _, f := range factors {
		fmt.Fprintf(w, "%s %s\t%s\t%s\t%s\n", f.Factor, policy.FactorName(f.Factor), f.Status, f.Reason, f.Message)
	}
	return w.Flush()
}
