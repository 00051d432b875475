package plugin

import (
	"fmt"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
	"github.com/twelvefactor/twelvefactor-operator/internal/release"
)

// NewReleasesCommand lists an app's releases, newest first, like `heroku releases`.
func NewReleasesCommand(o *Options) *cobra.Command {
	return &cobra.Command{
		Use:   "releases APP",
		Short: "List an app's releases, newest first",
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
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "VERSION\tSTATUS\tDESCRIPTION\tIMAGE\tWHEN")
			now := time.Now()
			for _, r := range rels {
				v := fmt.Sprintf("v%d", r.Spec.Number)
				if r.Spec.Number == app.Status.CurrentRelease {
					v += "*"
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", v, releaseStatus(&r), r.Spec.Description,
					release.ShortDigest(r.Spec.Image), age(r.CreationTimestamp.Time, now))
			}
			if err := w.Flush(); err != nil {
				return err
			}
			if app.Status.Pinned {
				fmt.Fprintf(cmd.OutOrStdout(), "* running v%d, pinned by spec.rollbackTo (latest is v%d)\n", app.Status.CurrentRelease, app.Status.LatestRelease)
			} else if app.Status.CurrentRelease != 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "* running v%d\n", app.Status.CurrentRelease)
			}
			return nil
		},
	}
}

func (s *session) releases(cmd *cobra.Command, app string) ([]tfv1.Release, error) {
	list := &tfv1.ReleaseList{}
	if err := s.List(cmd.Context(), list, client.InNamespace(s.namespace), client.MatchingLabels{tfv1.LabelApp: app}); err != nil {
		return nil, err
	}
	sort.Slice(list.Items, func(i, j int) bool { return list.Items[i].Spec.Number > list.Items[j].Spec.Number })
	return list.Items, nil
}

func releaseStatus(r *tfv1.Release) string {
	switch {
	case r.Status.ReleasePhase == tfv1.PhaseFailed:
		return "release phase failed"
	case r.Status.Rollout == tfv1.PhaseFailed:
		return "rollout failed"
	case r.Status.Rollout == tfv1.PhaseSucceeded:
		return "deployed"
	case r.Status.ReleasePhase == tfv1.PhaseRunning || r.Status.ReleasePhase == tfv1.PhasePending:
		return "release phase running"
	default:
		return "pending"
	}
}
