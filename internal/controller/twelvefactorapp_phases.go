package controller

import (
	"context"
	"sort"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
	"github.com/twelvefactor/twelvefactor-operator/internal/lifecycle"
	"github.com/twelvefactor/twelvefactor-operator/internal/release"
	"github.com/twelvefactor/twelvefactor-operator/internal/render"
)

// appScope carries what earlier phases of a pass observed and decided.
type appScope struct {
	app    *tfv1.TwelveFactorApp
	before *tfv1.TwelveFactorApp
	// observed is set once the pass has seen enough to write a status.
	observed bool

	releases    []*tfv1.Release // sorted by number
	deployments map[string]*appsv1.Deployment
	// applied is the release the Deployments run now (0 when none).
	applied int32

	content *release.Content
	// hash is the content hash; fingerprint hashes what content was resolved
	// from; reused is true when the content was taken from the latest release.
	hash        string
	fingerprint string
	reused      bool
	// deploymentsApplied is true when the pass created or changed a
	// Deployment: its watch event brings the next pass, which writes the
	// status with the Deployment in it.
	deploymentsApplied bool
	blocker            *blocker

	factors    []tfv1.FactorResult
	policyMode string

	target        int32
	pinnedTo      int32
	rolloutFailed string
	notAvailable  []string
	// problems are what is wrong with what runs (NameConflict, ApplyFailed,
	// release Secrets missing or altered); outOfRelease lists the process
	// types of the spec that the target release does not have.
	problems     []problem
	outOfRelease []string
	// complete is set when every phase ran: only then is the status written.
	complete bool
}

func (s *appScope) latest() *tfv1.Release {
	if len(s.releases) == 0 {
		return nil
	}
	return s.releases[len(s.releases)-1]
}

func (s *appScope) release(n int32) *tfv1.Release {
	for _, r := range s.releases {
		if r.Spec.Number == n {
			return r
		}
	}
	return nil
}

// lastGood returns the newest release below n whose rollout succeeded.
func (s *appScope) lastGood(below int32) int32 {
	return lifecycle.LastGood(lifecycle.Releases(s.releases), below)
}

func (s *appScope) selector() client.ListOption {
	return client.MatchingLabels{tfv1.LabelApp: s.app.Name, tfv1.LabelManagedBy: tfv1.ManagedByValue}
}

// observe lists the app's Releases and Deployments from the cache.
func (r *AppReconciler) observe(ctx context.Context, s *appScope) (ctrl.Result, error) {
	rels := &tfv1.ReleaseList{}
	if err := r.List(ctx, rels, client.InNamespace(s.app.Namespace), s.selector()); err != nil {
		return ctrl.Result{}, err
	}
	for i := range rels.Items {
		if controlledBy(&rels.Items[i], s.app.UID) {
			s.releases = append(s.releases, &rels.Items[i])
		}
	}
	sort.Slice(s.releases, func(i, j int) bool { return s.releases[i].Spec.Number < s.releases[j].Spec.Number })

	deps := &appsv1.DeploymentList{}
	if err := r.List(ctx, deps, client.InNamespace(s.app.Namespace), s.selector()); err != nil {
		return ctrl.Result{}, err
	}
	s.deployments = map[string]*appsv1.Deployment{}
	for i := range deps.Items {
		d := &deps.Items[i]
		if !controlledBy(d, s.app.UID) {
			continue
		}
		s.deployments[d.Labels[tfv1.LabelProcess]] = d
		if n := render.DeploymentRelease(d); n > s.applied {
			s.applied = n
		}
	}
	s.observed = true
	return ctrl.Result{}, nil
}

func (s *appScope) pin() int32 {
	if s.app.Spec.RollbackTo != nil {
		return *s.app.Spec.RollbackTo
	}
	return 0
}

// markInUse labels the running and the pinned release twelvefactor.dev/in-use,
// and only those, so the release protection policy refuses their deletion.
// A release runs while it is the target or a Deployment's pod template still
// has it (a rollout to the target not made yet, or refused).
func (r *AppReconciler) markInUse(ctx context.Context, s *appScope) (ctrl.Result, error) {
	running := map[int32]bool{}
	for _, d := range s.deployments {
		running[render.DeploymentRelease(d)] = true
	}
	for _, rel := range s.releases {
		want := rel.Spec.Number == s.target || rel.Spec.Number == s.pin() || running[rel.Spec.Number]
		if (rel.Labels[tfv1.LabelInUse] == "true") == want {
			continue
		}
		before := rel.DeepCopy()
		if want {
			rel.Labels[tfv1.LabelInUse] = "true"
		} else {
			delete(rel.Labels, tfv1.LabelInUse)
		}
		if err := r.Patch(ctx, rel, client.MergeFrom(before)); client.IgnoreNotFound(err) != nil {
			return ctrl.Result{}, err
		}
	}
	return ctrl.Result{}, nil
}

// pruneHistory deletes releases beyond spec.release.historyLimit, never the
// running, pinned or last good release.
func (r *AppReconciler) pruneHistory(ctx context.Context, s *appScope) (ctrl.Result, error) {
	limit := int(tfv1.DefaultHistoryLimit)
	if rp := s.app.Spec.Release; rp != nil && rp.HistoryLimit != nil {
		limit = int(*rp.HistoryLimit)
	}
	prune := map[int32]bool{}
	for _, n := range lifecycle.Prune(lifecycle.Releases(s.releases), limit, s.target, s.applied, s.pin()) {
		prune[n] = true
	}
	var kept []*tfv1.Release
	for _, rel := range s.releases {
		if !prune[rel.Spec.Number] {
			kept = append(kept, rel)
			continue
		}
		if err := r.Delete(ctx, rel, client.Preconditions{UID: &rel.UID}, client.PropagationPolicy(metav1.DeletePropagationBackground)); client.IgnoreNotFound(err) != nil {
			return ctrl.Result{}, err
		}
		ctrl.LoggerFrom(ctx).V(1).Info("Pruned release", "app", klog.KObj(s.app), "release", rel.Name)
	}
	s.releases = kept
	return ctrl.Result{}, nil
}
