package controller

import (
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
	"github.com/twelvefactor/twelvefactor-operator/internal/lifecycle"
	"github.com/twelvefactor/twelvefactor-operator/internal/render"
)

// appObservation is what one pass observed, the only input of the status;
// lifecycle.SetConditions turns it into the conditions.
type appObservation = lifecycle.Observation

// fillStatus writes what the pass observed into the status.
func (s *appScope) fillStatus(st *tfv1.TwelveFactorAppStatus, now time.Time) {
	o := appObservation{Generation: s.app.Generation, Blocker: s.blocker, Target: s.target, PinnedTo: s.pinnedTo,
		NotAvailable: s.notAvailable, Problems: s.problems, OutOfRelease: s.outOfRelease}
	if latest := s.latest(); latest != nil {
		o.ObserveLatest(lifecycle.ReleaseOf(latest))
	}
	if s.rolloutFailed != "" {
		o.RolloutFailed = true
		o.RolloutFailedMessage = s.rolloutFailed
	}
	st.LatestRelease = o.Latest
	st.CurrentRelease = s.target
	st.Pinned = s.pinnedTo != 0
	st.Image = ""
	if rel := s.release(s.target); rel != nil {
		st.Image = rel.Spec.Image
	}
	st.Processes = nil
	var summary []string
	for _, p := range s.app.Spec.Processes {
		d := s.deployments[p.Name]
		if d == nil {
			continue
		}
		want := int32(0)
		if d.Spec.Replicas != nil {
			want = *d.Spec.Replicas
		}
		st.Processes = append(st.Processes, tfv1.ProcessStatus{Name: p.Name, Replicas: want,
			ReadyReplicas: d.Status.ReadyReplicas, UpdatedReplicas: d.Status.UpdatedReplicas, Release: render.DeploymentRelease(d)})
		summary = append(summary, fmt.Sprintf("%s %d/%d", p.Name, d.Status.ReadyReplicas, want))
		if rel := s.release(s.target); rel != nil {
			for _, su := range rel.Status.Startup {
				if su.Name == p.Name {
					st.Processes[len(st.Processes)-1].StartupSeconds = &su.Seconds
				}
			}
		}
	}
	st.ProcessSummary = strings.Join(summary, ", ")
	lifecycle.SetConditions(st, o, now)
}

func setCondition(conds *[]metav1.Condition, t string, s metav1.ConditionStatus, reason, msg string, gen int64, now time.Time) {
	meta.SetStatusCondition(conds, metav1.Condition{Type: t, Status: s, Reason: reason, Message: msg,
		ObservedGeneration: gen, LastTransitionTime: metav1.NewTime(now)})
}

func metaStatus(s string) metav1.ConditionStatus { return metav1.ConditionStatus(s) }
