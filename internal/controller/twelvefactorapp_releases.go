package controller

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
	"github.com/twelvefactor/twelvefactor-operator/internal/release"
	"github.com/twelvefactor/twelvefactor-operator/internal/render"
)

// resolve turns the spec into release content: image digest, commands, the
// full environment and the bindings. A missing dependency blocks the release
// without touching what runs.
func (r *AppReconciler) resolve(ctx context.Context, s *appScope) (ctrl.Result, error) {
	var invalid []string
	for _, p := range s.app.Spec.Processes {
		invalid = append(invalid, render.ResourceErrors(p)...)
	}
	if len(invalid) > 0 {
		s.blocker = &blocker{Stalled: true, Reason: tfv1.ReasonInvalidSpec, Message: strings.Join(invalid, "; ")}
		return ctrl.Result{}, nil
	}
	cr := contentResolver{reader: r.Client, meta: r.cacheReader(), images: r.images, insecure: r.Resolver.Insecure}
	if r.services != nil {
		cr.watch = r.services.watch
	}
	if reused, err := r.reuseLatest(ctx, cr, s); reused || err != nil {
		return ctrl.Result{}, err
	}
	var versions []string
	env, sources, b, err := cr.resolveEnv(ctx, s.app, &versions)
	if err != nil {
		return ctrl.Result{}, err
	}
	if b == nil {
		var bindings []release.Binding
		bindings, b, err = cr.resolveBindings(ctx, s.app, &versions)
		if err != nil {
			return ctrl.Result{}, err
		}
		if b == nil {
			img, ib := cr.resolveImage(ctx, s.app, s.latest())
			b = ib
			if b == nil {
				c := &release.Content{
					Image: img.Image, Revision: img.Revision, SourceImage: s.app.Spec.Build.Image,
					Env: env, EnvSources: sources, Bindings: bindings,
				}
				for _, p := range s.app.Spec.Processes {
					c.Processes = append(c.Processes, tfv1.ReleaseProcess{Name: p.Name, Command: slices.Clone(p.Command)})
				}
				if rp := s.app.Spec.Release; rp != nil {
					c.ReleaseCommand = slices.Clone(rp.Command)
				}
				c.Normalize()
				if vs := c.CheckLimits(); len(vs) > 0 {
					// Checked before anything is made: no half-made Release.
					b = &blocker{Stalled: true, Reason: tfv1.ReasonLimitExceeded, Message: release.LimitsMessage(vs)}
				}
				s.content = c
				s.hash = c.Hash()
				s.fingerprint = sourcesFingerprint(s.app, versions)
			}
		}
	}
	if b != nil {
		s.blocker = b
		ctrl.LoggerFrom(ctx).Info("Release blocked", "app", klog.KObj(s.app), "reason", b.Reason)
		if !b.Stalled {
			if b.RetryAfter > 0 && b.RetryAfter < r.RetryAfter {
				return ctrl.Result{RequeueAfter: b.RetryAfter}, nil
			}
			return ctrl.Result{RequeueAfter: r.RetryAfter}, nil
		}
	}
	return ctrl.Result{}, nil
}

// reuseLatest takes the latest release's content without reading any data
// when nothing it was resolved from has changed: the same spec and the same
// resourceVersion of every ConfigMap and Secret, as the metadata cache has
// them. A pass over an unchanged app (a rollout, a rollback, a resync) is then
// served from the cache.
func (r *AppReconciler) reuseLatest(ctx context.Context, cr contentResolver, s *appScope) (bool, error) {
	latest := s.latest()
	if latest == nil || latest.Annotations[tfv1.AnnotationSources] == "" {
		return false, nil
	}
	versions, ok := cr.cachedVersions(ctx, s.app)
	if !ok || sourcesFingerprint(s.app, versions) != latest.Annotations[tfv1.AnnotationSources] {
		return false, nil
	}
	// Reused only while its Secrets are there: a missing one is made again
	// from content resolved live.
	states, err := r.secrets.verify(ctx, latest)
	if err != nil {
		return false, err
	}
	for _, st := range states {
		if st.missing {
			return false, nil
		}
	}
	s.content = &release.Content{Image: latest.Spec.Image, Revision: latest.Spec.Revision,
		SourceImage: latest.Annotations[tfv1.AnnotationSourceImage], Processes: latest.Spec.Processes,
		ReleaseCommand: latest.Spec.ReleaseCommand}
	s.hash = latest.Spec.ContentHash
	s.fingerprint = latest.Annotations[tfv1.AnnotationSources]
	s.reused = true
	return true, nil
}

// ensureRelease finds the release with the content's hash or creates the next
// one. Names are deterministic (<app>-v<N>) and creation uses Create, so a
// repeated or crashed pass can never make a duplicate or a gap. A name that a
// foreign object holds stops the release, and nothing is created.
func (r *AppReconciler) ensureRelease(ctx context.Context, s *appScope) (ctrl.Result, error) {
	if s.content == nil || s.blocker != nil {
		return ctrl.Result{}, nil
	}
	hash := s.hash
	latest := s.latest()
	if latest != nil {
		states, err := r.secrets.verify(ctx, latest)
		if err != nil {
			return ctrl.Result{}, err
		}
		missing := map[string]bool{}
		for _, st := range states {
			if st.missing {
				missing[st.name] = true
			}
		}
		if latest.Spec.ContentHash == hash {
			if len(missing) > 0 && s.reused {
				// Its Secrets went since reuseLatest saw them: resolve again.
				return ctrl.Result{RequeueAfter: time.Second}, nil
			}
			if len(missing) > 0 {
				// Made again from the spec, which still resolves to this content.
				return ctrl.Result{}, r.createReleaseSecrets(ctx, latest, s.content, missing)
			}
			return ctrl.Result{}, nil
		}
		if len(missing) > 0 && latest.Spec.Number != s.applied && latest.Spec.Number != s.pin() {
			// A crash left this release without its Secrets, and the content has
			// moved on: it never ran, so it is made again with the new content.
			// It may carry the in-use label from its creation, which the release
			// protection policy honours, so the label goes first.
			if latest.Labels[tfv1.LabelInUse] == "true" {
				before := latest.DeepCopy()
				delete(latest.Labels, tfv1.LabelInUse)
				if err := r.Patch(ctx, latest, client.MergeFrom(before)); client.IgnoreNotFound(err) != nil {
					return ctrl.Result{}, err
				}
			}
			if err := r.Delete(ctx, latest, client.Preconditions{UID: &latest.UID}); client.IgnoreNotFound(err) != nil {
				return ctrl.Result{}, err
			}
			s.releases = s.releases[:len(s.releases)-1]
			// The release before it may hold the content already.
			return r.ensureRelease(ctx, s)
		}
	}
	n := int32(1)
	if latest != nil {
		n = latest.Spec.Number + 1
	}
	if p, wait, err := r.namesFree(ctx, s, n); err != nil || p != nil || wait {
		if p != nil {
			s.problems = append(s.problems, *p)
			s.blocker = &blocker{Reason: p.Reason, Message: p.Message}
		}
		return ctrl.Result{RequeueAfter: r.RetryAfter / 10}, err
	}
	prev, err := r.previous(ctx, s, latest)
	if err != nil {
		return ctrl.Result{}, err
	}
	rel := newRelease(s.app, n, s.content, hash, release.Describe(*s.content, prev))
	rel.Annotations[tfv1.AnnotationSources] = s.fingerprint
	if len(rel.Spec.ReleaseCommand) == 0 && s.pin() == 0 {
		// It runs at once (no release phase, no pin): label it in use now
		// rather than with a second write in markInUse.
		rel.Labels[tfv1.LabelInUse] = "true"
	}
	if err := r.Create(ctx, rel); err != nil {
		if apierrors.IsAlreadyExists(err) {
			// Our cache is behind a release made by an earlier pass; wait for it.
			return ctrl.Result{RequeueAfter: r.RetryAfter / 10}, nil
		}
		return ctrl.Result{}, err
	}
	if err := r.createReleaseSecrets(ctx, rel, s.content, nil); err != nil {
		return ctrl.Result{}, err
	}
	s.releases = append(s.releases, rel)
	ctrl.LoggerFrom(ctx).Info("Release created", "app", klog.KObj(s.app), "release", rel.Name, "description", rel.Spec.Description)
	r.Recorder.Eventf(s.app, rel, corev1.EventTypeNormal, tfv1.ReasonReleaseCreated, "Release",
		"Created release v%d: %s", n, rel.Spec.Description)
	releasesTotal.Inc()
	return ctrl.Result{}, nil
}

// namesFree checks, with live reads, that no object holds the names release n
// would take: the Release, its env Secret and its binding Secrets. A Release
// of this app that the cache does not show yet means wait.
func (r *AppReconciler) namesFree(ctx context.Context, s *appScope, n int32) (*problem, bool, error) {
	rel := &tfv1.Release{}
	err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: s.app.Namespace, Name: release.Name(s.app.Name, n)}, rel)
	switch {
	case err == nil && controlledBy(rel, s.app.UID):
		return nil, true, nil
	case err == nil:
		return &problem{Reason: tfv1.ReasonNameConflict, Message: newConflict("Release", rel).message()}, false, nil
	case !apierrors.IsNotFound(err):
		return nil, false, err
	}
	names := []string{release.EnvSecretName(s.app.Name, n)}
	for _, b := range s.content.Bindings {
		names = append(names, release.BindingSecretName(s.app.Name, n, b.Name))
	}
	for _, name := range names {
		m := secretMeta()
		err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: s.app.Namespace, Name: name}, m)
		if err == nil {
			return &problem{Reason: tfv1.ReasonNameConflict, Message: fmt.Sprintf(
				"Secret %q, the name of release v%d's Secret, is taken by an object the operator did not make for it: delete or rename it; no release is made until then",
				name, n)}, false, nil
		}
		if !apierrors.IsNotFound(err) {
			return nil, false, err
		}
	}
	return nil, false, nil
}

func newRelease(app *tfv1.TwelveFactorApp, n int32, c *release.Content, hash, description string) *tfv1.Release {
	rel := &tfv1.Release{
		ObjectMeta: metav1.ObjectMeta{
			Name:      release.Name(app.Name, n),
			Namespace: app.Namespace,
			Labels: map[string]string{
				tfv1.LabelApp: app.Name, tfv1.LabelManagedBy: tfv1.ManagedByValue, tfv1.LabelName: app.Name,
				tfv1.LabelPartOf: app.Name, tfv1.LabelRelease: strconv.Itoa(int(n)),
				tfv1.LabelContentHash: release.ShortHash(hash),
			},
			Annotations: map[string]string{tfv1.AnnotationSourceImage: c.SourceImage},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: tfv1.GroupVersion.String(), Kind: "TwelveFactorApp", Name: app.Name, UID: app.UID,
				Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true),
			}},
		},
		Spec: tfv1.ReleaseSpec{
			App: app.Name, Number: n, Image: c.Image, Revision: c.Revision,
			Processes: c.Processes, ReleaseCommand: c.ReleaseCommand,
			EnvSecretName: release.EnvSecretName(app.Name, n), ConfigKeys: c.Keys(),
			EnvSecretHash: release.DataHash(render.EnvSecretData(c.SecretEnv())),
			ContentHash:   hash, Description: description,
		},
	}
	for _, b := range c.Bindings {
		rel.Spec.Bindings = append(rel.Spec.Bindings, tfv1.ReleaseBinding{
			Name: b.Name, SecretName: release.BindingSecretName(app.Name, n, b.Name),
			SecretHash: release.DataHash(render.BindingSecretData(b)),
			Type:       b.Type, Provider: b.Provider, Env: b.Env,
		})
	}
	return rel
}

// cacheReader reads the informer cache: r.Cache, or the client when unset.
func (r *AppReconciler) cacheReader() client.Reader {
	if r.Cache != nil {
		return r.Cache
	}
	return r.Client
}

func secretMeta() *metav1.PartialObjectMetadata {
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	return m
}

// createReleaseSecrets creates the release's immutable env and binding
// Secrets (only the names in only, when it is not nil). A name that exists is
// left alone: the verifier tells whether it is the release's.
func (r *AppReconciler) createReleaseSecrets(ctx context.Context, rel *tfv1.Release, c *release.Content, only map[string]bool) error {
	secrets := []*corev1.Secret{render.EnvSecret(rel, c.SecretEnv())}
	for _, b := range c.Bindings {
		secrets = append(secrets, render.BindingSecret(rel, b))
	}
	for _, sec := range secrets {
		if only != nil && !only[sec.Name] {
			continue
		}
		if err := r.Create(ctx, sec, client.FieldOwner(tfv1.FieldManager)); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating Secret %s of %s: %w", sec.Name, rel.Name, err)
		}
	}
	return nil
}

// previous reconstructs the latest release's content, for the description of
// the next one. It reads the release's own Secrets.
func (r *AppReconciler) previous(ctx context.Context, s *appScope, latest *tfv1.Release) (release.Previous, error) {
	prev := release.Previous{History: map[string]int32{}}
	for _, rel := range s.releases {
		prev.History[rel.Spec.ContentHash] = rel.Spec.Number
	}
	if latest == nil {
		return prev, nil
	}
	c := &release.Content{Image: latest.Spec.Image, Revision: latest.Spec.Revision,
		Processes: latest.Spec.Processes, ReleaseCommand: latest.Spec.ReleaseCommand, Env: map[string]string{}}
	sec := &corev1.Secret{}
	if err := r.Get(ctx, client.ObjectKey{Namespace: latest.Namespace, Name: latest.Spec.EnvSecretName}, sec); client.IgnoreNotFound(err) != nil {
		return prev, err
	}
	for k, v := range sec.Data {
		c.Env[k] = string(v)
	}
	for _, k := range latest.Spec.ConfigKeys {
		// A key the pods never see is not in the Secret (Content.SecretEnv);
		// it makes no change of its own in the description.
		if _, ok := c.Env[k]; !ok && s.content != nil {
			if v, ok := s.content.Env[k]; ok {
				c.Env[k] = v
			}
		}
	}
	for _, b := range latest.Spec.Bindings {
		bs := &corev1.Secret{}
		if err := r.Get(ctx, client.ObjectKey{Namespace: latest.Namespace, Name: b.SecretName}, bs); client.IgnoreNotFound(err) != nil {
			return prev, err
		}
		data := map[string][]byte{}
		for k, v := range bs.Data {
			if k != "type" && k != "provider" {
				data[k] = v
			}
		}
		c.Bindings = append(c.Bindings, release.Binding{Name: b.Name, Type: b.Type, Provider: b.Provider, Env: b.Env, Data: data})
	}
	prev.Latest = c
	return prev, nil
}
