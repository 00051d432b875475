package controller

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tfv1 "github.com/twelvefactor/twelvefactor-operator/api/v1alpha1"
	"github.com/twelvefactor/twelvefactor-operator/internal/registry"
	"github.com/twelvefactor/twelvefactor-operator/internal/release"
)

// blocker explains why the spec cannot be released now. The running release
// keeps serving while a blocker holds.
type blocker struct {
	// stalled is true when only a change by the user can unblock (kstatus Stalled);
	// false when the operator retries by itself (kstatus Reconciling).
	stalled bool
	reason  string
	message string
}

func (b *blocker) Error() string { return b.reason + ": " + b.message }

// contentResolver resolves a spec into release content. Data of ConfigMaps and
// Secrets is read directly from the API server (they are watched metadata-only).
type contentResolver struct {
	reader   client.Reader
	resolver registry.Resolver
	// watch starts a watch on a Provisioned Service kind, once per kind.
	watch func(gvk schema.GroupVersionKind) error
}

// resolveEnv returns the full environment: envFrom sources in order, then the
// inline env, each overriding the earlier ones.
func (r contentResolver) resolveEnv(ctx context.Context, app *tfv1.TwelveFactorApp) (map[string]string, map[string]string, *blocker, error) {
	env, sources := map[string]string{}, map[string]string{}
	for i, src := range app.Spec.Config.EnvFrom {
		switch {
		case src.ConfigMapRef != nil:
			cm := &corev1.ConfigMap{}
			err := r.reader.Get(ctx, client.ObjectKey{Namespace: app.Namespace, Name: src.ConfigMapRef.Name}, cm)
			if apierrors.IsNotFound(err) {
				return nil, nil, &blocker{reason: tfv1.ReasonConfigNotFound, message: fmt.Sprintf(
					"ConfigMap %q named in spec.config.envFrom[%d] does not exist: create it or remove the reference", src.ConfigMapRef.Name, i)}, nil
			}
			if err != nil {
				return nil, nil, nil, err
			}
			for k, v := range cm.Data {
				env[src.Prefix+k] = v
				sources[src.Prefix+k] = "configmap/" + cm.Name
			}
		case src.SecretRef != nil:
			s := &corev1.Secret{}
			err := r.reader.Get(ctx, client.ObjectKey{Namespace: app.Namespace, Name: src.SecretRef.Name}, s)
			if apierrors.IsNotFound(err) {
				return nil, nil, &blocker{reason: tfv1.ReasonConfigNotFound, message: fmt.Sprintf(
					"Secret %q named in spec.config.envFrom[%d] does not exist: create it or remove the reference", src.SecretRef.Name, i)}, nil
			}
			if err != nil {
				return nil, nil, nil, err
			}
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
func (r contentResolver) resolveBindings(ctx context.Context, app *tfv1.TwelveFactorApp) ([]release.Binding, *blocker, error) {
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
			return nil, &blocker{reason: tfv1.ReasonBindingNotReady, message: fmt.Sprintf(
				"backing service %q (spec.services[%d]): binding Secret %q does not exist: create it or fix the reference", svc.Name, i, secretName)}, nil
		}
		if err != nil {
			return nil, nil, err
		}
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
			return nil, &blocker{reason: tfv1.ReasonBindingNotReady, message: fmt.Sprintf(
				"backing service %q (spec.services[%d]): binding Secret %q has no type entry: add a type key to the Secret or set spec.services[%d].type", svc.Name, i, secretName, i)}, nil
		}
		for j, e := range svc.Env {
			if _, ok := b.Data[e.Key]; !ok && e.Key != "type" && e.Key != "provider" {
				return nil, &blocker{reason: tfv1.ReasonBindingNotReady, message: fmt.Sprintf(
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
		return "", &blocker{stalled: true, reason: tfv1.ReasonInvalidSpec, message: fmt.Sprintf(
			"spec.services[%d].serviceRef.apiVersion %q is not a valid group/version", i, ref.APIVersion)}, nil
	}
	gvk := gv.WithKind(ref.Kind)
	if r.watch != nil {
		if err := r.watch(gvk); err != nil && !isNoMatch(err) {
			return "", nil, err
		}
	}
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvk)
	err = r.reader.Get(ctx, client.ObjectKey{Namespace: ns, Name: ref.Name}, u)
	if apierrors.IsNotFound(err) || isNoMatch(err) {
		return "", &blocker{reason: tfv1.ReasonBindingNotReady, message: fmt.Sprintf(
			"backing service %q (spec.services[%d]): %s %q does not exist: create it or fix spec.services[%d].serviceRef", svc.Name, i, ref.Kind, ref.Name, i)}, nil
	}
	if apierrors.IsForbidden(err) {
		return "", &blocker{reason: tfv1.ReasonBindingNotReady, message: fmt.Sprintf(
			"backing service %q (spec.services[%d]): the operator may not read %s: grant it with the chart's extraRBAC value", svc.Name, i, ref.Kind)}, nil
	}
	if err != nil {
		return "", nil, err
	}
	name, _, _ := unstructured.NestedString(u.Object, "status", "binding", "name")
	if name == "" {
		return "", &blocker{reason: tfv1.ReasonBindingNotReady, message: fmt.Sprintf(
			"backing service %q (spec.services[%d]): %s %q has no status.binding.name yet: wait for it to be provisioned", svc.Name, i, ref.Kind, ref.Name)}, nil
	}
	return name, nil, nil
}

func isNoMatch(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "no matches for kind") || strings.Contains(err.Error(), "the server could not find the requested resource"))
}

// resolveImage pins spec.build.image to a digest. When the latest release was
// made from the same reference, its digest is reused and no registry is asked:
// a tag is resolved when a release is made, not on every pass.
func (r contentResolver) resolveImage(ctx context.Context, app *tfv1.TwelveFactorApp, latest *tfv1.Release) (registry.Resolved, *blocker) {
	image := app.Spec.Build.Image
	if latest != nil && latest.Annotations[annotationSourceImage] == image {
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
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	res, err := r.resolver.Resolve(rctx, image, pull)
	if err != nil {
		return registry.Resolved{}, &blocker{reason: tfv1.ReasonImageResolveFailed, message: fmt.Sprintf(
			"cannot resolve spec.build.image to a digest (%v): the operator retries; check the registry and spec.imagePullSecrets", err)}
	}
	if app.Spec.Build.Revision != "" {
		res.Revision = app.Spec.Build.Revision
	}
	return res, nil
}

// annotationSourceImage records spec.build.image as written on a Release.
const annotationSourceImage = "twelvefactor.dev/source-image"
