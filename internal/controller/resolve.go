package controller

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/google/go-containerregistry/pkg/name"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
	"github.com/twelvefactor/twelvefactor-operator/internal/lifecycle"
	"github.com/twelvefactor/twelvefactor-operator/internal/registry"
	"github.com/twelvefactor/twelvefactor-operator/internal/release"
)

// blocker explains why the spec cannot be released now (lifecycle.Blocker).
type blocker = lifecycle.Blocker

// contentResolver resolves a spec into release content. Data of ConfigMaps and
// Secrets is read directly from the API server (they are watched metadata-only).
type contentResolver struct {
	reader client.Reader
	// meta reads the metadata-only cache of ConfigMaps and Secrets.
	meta     client.Reader
	images   *imageResolutions
	insecure bool
	// watch starts a watch on a Provisioned Service kind, once per kind.
	watch func(gvk schema.GroupVersionKind) error
}

// resolveEnv returns the full environment: envFrom sources in order, then the
// inline env, each overriding the earlier ones.
func (r contentResolver) resolveEnv(ctx context.Context, app *tfv1.TwelveFactorApp, versions *[]string) (map[string]string, map[string]string, *blocker, error) {
	env, sources := map[string]string{}, map[string]string{}
	for i, src := range app.Spec.Config.EnvFrom {
		switch {
		case src.ConfigMapRef != nil:
			cm := &corev1.ConfigMap{}
			err := r.reader.Get(ctx, client.ObjectKey{Namespace: app.Namespace, Name: src.ConfigMapRef.Name}, cm)
			if apierrors.IsNotFound(err) {
				return nil, nil, &blocker{Reason: tfv1.ReasonConfigNotFound, Message: fmt.Sprintf(
					"ConfigMap %q named in spec.config.envFrom[%d] does not exist: create it or remove the reference", src.ConfigMapRef.Name, i)}, nil
			}
			if err != nil {
				return nil, nil, nil, err
			}
			*versions = append(*versions, version(refConfigMap, cm))
			for k, v := range cm.Data {
				env[src.Prefix+k] = v
				sources[src.Prefix+k] = "configmap/" + cm.Name
			}
		case src.SecretRef != nil:
			s := &corev1.Secret{}
			err := r.reader.Get(ctx, client.ObjectKey{Namespace: app.Namespace, Name: src.SecretRef.Name}, s)
			if apierrors.IsNotFound(err) {
				return nil, nil, &blocker{Reason: tfv1.ReasonConfigNotFound, Message: fmt.Sprintf(
					"Secret %q named in spec.config.envFrom[%d] does not exist: create it or remove the reference", src.SecretRef.Name, i)}, nil
			}
			if err != nil {
				return nil, nil, nil, err
			}
			*versions = append(*versions, version(refSecret, s))
			for k, v := range s.Data {
				env[src.Prefix+k] = string(v)
				sources[src.Prefix+k] = "secret/" + s.Name
			}
		}
	}
	for _, e := range app.Spec.Config.Env {
		env[e.Name] = e.Value
		sources[e.Name] = "env"
	}
	return env, sources, nil, nil
}

// resolveBindings reads each backing service's binding Secret.
func (r contentResolver) resolveBindings(ctx context.Context, app *tfv1.TwelveFactorApp, versions *[]string) ([]release.Binding, *blocker, error) {
	var out []release.Binding
	for i, svc := range app.Spec.Services {
		secretName := ""
		switch {
		case svc.SecretRef != nil:
			secretName = svc.SecretRef.Name
		case svc.ServiceRef != nil:
			name, b, err := r.provisionedSecret(ctx, app.Namespace, i, svc)
			if b != nil || err != nil {
				return nil, b, err
			}
			secretName = name
		}
		s := &corev1.Secret{}
		err := r.reader.Get(ctx, client.ObjectKey{Namespace: app.Namespace, Name: secretName}, s)
		if apierrors.IsNotFound(err) {
			return nil, &blocker{Reason: tfv1.ReasonBindingNotReady, Message: fmt.Sprintf(
				"backing service %q (spec.services[%d]): binding Secret %q does not exist: create it or fix the reference", svc.Name, i, secretName)}, nil
		}
		if err != nil {
			return nil, nil, err
		}
		*versions = append(*versions, svc.Name+":"+version(refSecret, s))
		b := release.Binding{Name: svc.Name, Data: map[string][]byte{}, Env: slices.Clone(svc.Env), Source: "secret/" + secretName}
		for k, v := range s.Data {
			switch k {
			case "type":
				b.Type = string(v)
			case "provider":
				b.Provider = string(v)
			default:
				b.Data[k] = v
			}
		}
		if svc.Type != "" {
			b.Type = svc.Type
		}
		if svc.Provider != "" {
			b.Provider = svc.Provider
		}
		if b.Type == "" {
			return nil, &blocker{Reason: tfv1.ReasonBindingNotReady, Message: fmt.Sprintf(
				"backing service %q (spec.services[%d]): binding Secret %q has no type entry: add a type key to the Secret or set spec.services[%d].type", svc.Name, i, secretName, i)}, nil
		}
		for j, e := range svc.Env {
			if _, ok := b.Data[e.Key]; !ok && e.Key != "type" && e.Key != "provider" {
				return nil, &blocker{Reason: tfv1.ReasonBindingNotReady, Message: fmt.Sprintf(
					"backing service %q (spec.services[%d].env[%d]): key %q is not in binding Secret %q: fix the key or add it to the Secret", svc.Name, i, j, e.Key, secretName)}, nil
			}
		}
		out = append(out, b)
	}
	return out, nil, nil
}

// provisionedSecret reads status.binding.name of a Provisioned Service.
func (r contentResolver) provisionedSecret(ctx context.Context, ns string, i int, svc tfv1.BackingService) (string, *blocker, error) {
	ref := svc.ServiceRef
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil {
		return "", &blocker{Stalled: true, Reason: tfv1.ReasonInvalidSpec, Message: fmt.Sprintf(
			"spec.services[%d].serviceRef.apiVersion %q is not a valid group/version", i, ref.APIVersion)}, nil
	}
	gvk := gv.WithKind(ref.Kind)
	if r.watch != nil {
		if err := r.watch(gvk); err != nil && !meta.IsNoMatchError(err) {
			return "", nil, err
		}
	}
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvk)
	err = r.reader.Get(ctx, client.ObjectKey{Namespace: ns, Name: ref.Name}, u)
	if apierrors.IsNotFound(err) || meta.IsNoMatchError(err) {
		return "", &blocker{Reason: tfv1.ReasonBindingNotReady, Message: fmt.Sprintf(
			"backing service %q (spec.services[%d]): %s %q does not exist: create it or fix spec.services[%d].serviceRef", svc.Name, i, ref.Kind, ref.Name, i)}, nil
	}
	if apierrors.IsForbidden(err) {
		return "", &blocker{Reason: tfv1.ReasonBindingNotReady, Message: fmt.Sprintf(
			"backing service %q (spec.services[%d]): the operator may not read %s: grant it with the chart's extraRBAC value", svc.Name, i, ref.Kind)}, nil
	}
	if err != nil {
		return "", nil, err
	}
	name, _, _ := unstructured.NestedString(u.Object, "status", "binding", "name")
	if name == "" {
		return "", &blocker{Reason: tfv1.ReasonBindingNotReady, Message: fmt.Sprintf(
			"backing service %q (spec.services[%d]): %s %q has no status.binding.name yet: wait for it to be provisioned", svc.Name, i, ref.Kind, ref.Name)}, nil
	}
	return name, nil, nil
}

// resolveImage pins spec.build.image to a digest. When the latest release was
// made from the same reference, its digest is reused and no registry is asked:
// a tag is resolved when a release is made, not on every pass.
func (r contentResolver) resolveImage(ctx context.Context, app *tfv1.TwelveFactorApp, latest *tfv1.Release) (registry.Resolved, *blocker) {
	image := app.Spec.Build.Image
	if latest != nil && latest.Annotations[tfv1.AnnotationSourceImage] == image {
		rev := latest.Spec.Revision
		if app.Spec.Build.Revision != "" {
			rev = app.Spec.Build.Revision
		}
		return registry.Resolved{Image: latest.Spec.Image, Revision: rev}, nil
	}
	var pull []corev1.Secret
	for _, ref := range app.Spec.ImagePullSecrets {
		s := corev1.Secret{}
		if err := r.reader.Get(ctx, client.ObjectKey{Namespace: app.Namespace, Name: ref.Name}, &s); err == nil {
			pull = append(pull, s)
		}
	}
	res, pending, retryIn, err := r.images.lookup(client.ObjectKeyFromObject(app), image, pull, r.insecure)
	switch {
	case pending:
		return registry.Resolved{}, &blocker{Reason: tfv1.ReasonResolvingImage, Message: fmt.Sprintf(
			"Resolving spec.build.image %q to a digest; the release follows", image)}
	case err != nil && retryIn == 0 && res.Image == "" && !isRegistryError(err):
		return registry.Resolved{}, &blocker{Stalled: true, Reason: tfv1.ReasonInvalidSpec, Message: fmt.Sprintf(
			"spec.build.image %q is not a valid image reference (%v): fix it", image, err)}
	case err != nil:
		return registry.Resolved{}, &blocker{Reason: tfv1.ReasonImageResolveFailed, RetryAfter: retryIn, Message: fmt.Sprintf(
			"cannot resolve spec.build.image to a digest (%v): the operator retries, backing off per registry; check the registry and spec.imagePullSecrets", err)}
	}
	if app.Spec.Build.Revision != "" {
		res.Revision = app.Spec.Build.Revision
	}
	return res, nil
}

// isRegistryError tells a failed registry call from a reference that does not
// parse (which lookup returns without calling any registry, and with no
// retry time).
func isRegistryError(err error) bool {
	var perr *name.ErrBadName
	return !errors.As(err, &perr)
}

// version names one object a release was read from, at its resourceVersion.
func version(prefix string, o client.Object) string {
	return prefix + o.GetName() + "@" + o.GetResourceVersion()
}

// cachedVersions lists what resolveEnv and resolveBindings would read, at the
// resourceVersions in the metadata-only cache, without reading any data. It
// returns false when a source is not in the cache: the full resolve then
// reports what is missing.
func (r contentResolver) cachedVersions(ctx context.Context, app *tfv1.TwelveFactorApp) ([]string, bool) {
	var versions []string
	get := func(kind, prefix, name string) (string, bool) {
		m := &metav1.PartialObjectMetadata{}
		m.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind(kind))
		if err := r.meta.Get(ctx, client.ObjectKey{Namespace: app.Namespace, Name: name}, m); err != nil {
			return "", false
		}
		return version(prefix, m), true
	}
	for _, src := range app.Spec.Config.EnvFrom {
		var v string
		ok := false
		switch {
		case src.ConfigMapRef != nil:
			v, ok = get("ConfigMap", refConfigMap, src.ConfigMapRef.Name)
		case src.SecretRef != nil:
			v, ok = get("Secret", refSecret, src.SecretRef.Name)
		}
		if !ok {
			return nil, false
		}
		versions = append(versions, v)
	}
	for i, svc := range app.Spec.Services {
		name := ""
		switch {
		case svc.SecretRef != nil:
			name = svc.SecretRef.Name
		case svc.ServiceRef != nil:
			n, b, err := r.provisionedSecret(ctx, app.Namespace, i, svc)
			if b != nil || err != nil {
				return nil, false
			}
			name = n
		}
		v, ok := get("Secret", refSecret, name)
		if !ok {
			return nil, false
		}
		versions = append(versions, svc.Name+":"+v)
	}
	return versions, true
}

// sourcesFingerprint hashes everything a release's content is resolved from:
// the parts of the spec that make content, and the resourceVersion of every
// ConfigMap and Secret read. Equal fingerprints resolve to equal content, so a
// pass whose fingerprint matches the latest release's reads no data at all.
func sourcesFingerprint(app *tfv1.TwelveFactorApp, versions []string) string {
	in := struct {
		Build     tfv1.BuildSpec        `json:"build"`
		Config    tfv1.ConfigSpec       `json:"config"`
		Processes []tfv1.ReleaseProcess `json:"processes"`
		Release   []string              `json:"release,omitempty"`
		Services  []tfv1.BackingService `json:"services,omitempty"`
		Versions  []string              `json:"versions"`
	}{Build: app.Spec.Build, Config: app.Spec.Config, Services: app.Spec.Services, Versions: versions}
	for _, p := range app.Spec.Processes {
		in.Processes = append(in.Processes, tfv1.ReleaseProcess{Name: p.Name, Command: p.Command})
	}
	if rp := app.Spec.Release; rp != nil {
		in.Release = rp.Command
	}
	b, err := json.Marshal(in)
	if err != nil {
		panic(fmt.Sprintf("spec is not serialisable: %v", err))
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}
