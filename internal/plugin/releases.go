package plugin

import (
	"context"
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
		Short: "List an app's releases, newest first; * marks the one that runs",
		Example: "  kubectl twelvefactor releases shop\n" +
			"  kubectl twelvefactor releases shop -n production",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
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
			out := cmd.OutOrStdout()
			if len(rels) == 0 {
				fmt.Fprintf(out, "%s has no releases yet\n", app.Name)
				return nil
			}
			w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "VERSION\tSTATUS\tDESCRIPTION\tIMAGE\tWHEN")
			now := time.Now()
			for i := range rels {
				r := &rels[i]
				v := fmt.Sprintf("v%d", r.Spec.Number)
				if r.Spec.Number == app.Status.CurrentRelease {
					v += "*"
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", v, releaseStatus(r, app), r.Spec.Description,
					release.ShortDigest(r.Spec.Image), age(r.CreationTimestamp.Time, now))
			}
			if err := w.Flush(); err != nil {
				return err
			}
			switch {
			case app.Status.Pinned && app.Spec.RollbackTo != nil:
				fmt.Fprintf(out, "* runs v%d, pinned by spec.rollbackTo=%d (the spec's latest is v%d)\n",
					app.Status.CurrentRelease, *app.Spec.RollbackTo, app.Status.LatestRelease)
			case app.Status.CurrentRelease != 0 && app.Status.CurrentRelease != app.Status.LatestRelease:
				fmt.Fprintf(out, "* runs v%d (the spec's latest is v%d)\n", app.Status.CurrentRelease, app.Status.LatestRelease)
			case app.Status.CurrentRelease != 0:
				fmt.Fprintf(out, "* runs v%d\n", app.Status.CurrentRelease)
			}
			return nil
		},
	}
}

// releases lists an app's releases, newest first.
func (s *session) releases(ctx context.Context, app string) ([]tfv1.Release, error) {
	list := &tfv1.ReleaseList{}
	if err := s.List(ctx, list, client.InNamespace(s.namespace), client.MatchingLabels{tfv1.LabelApp: app}); err != nil {
		return nil, fmt.Errorf("listing releases of %s: %w", app, err)
	}
	// The label selects; spec.app is authoritative.
	items := list.Items[:0]
	for _, r := range list.Items {
		if r.Spec.App == app {
			items = append(items, r)
		}
	}
	sort.Slice(items, func(i, j int) bool { return items[i].Spec.Number > items[j].Spec.Number })
	return items, nil
}

// releaseStatus says where a release stands, in a few words.
func releaseStatus(r *tfv1.Release, app *tfv1.TwelveFactorApp) string {
	st := ""
	switch {
	case r.Status.ReleasePhase == tfv1.PhaseFailed:
		st = "release phase failed"
	case r.Status.Rollout == tfv1.PhaseFailed:
		st = "rollout failed"
	case r.Status.Rollout == tfv1.PhaseSucceeded:
		st = "deployed"
	case r.Status.ReleasePhase == tfv1.PhaseRunning || r.Status.ReleasePhase == tfv1.PhasePending:
		st = "release phase running"
	case r.Spec.Number == app.Status.CurrentRelease:
		st = "rolling out"
	default:
		st = "not rolled out"
	}
	if app.Spec.RollbackTo != nil && *app.Spec.RollbackTo == r.Spec.Number {
		st += ", pinned"
	}
	return st
}
