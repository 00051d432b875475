// Package registry resolves image tags to digests with go-containerregistry,
// authenticating with the app's imagePullSecrets the way the kubelet does.
package registry

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/authn"
	kauth "github.com/google/go-containerregistry/pkg/authn/kubernetes"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	corev1 "k8s.io/api/core/v1"
)

// RevisionLabel is the OCI image label that carries the source revision.
const RevisionLabel = "org.opencontainers.image.revision"

// Resolved is an image pinned to a digest.
type Resolved struct {
	// Image is the reference with its digest: registry/repo@sha256:....
	Image string
	// Revision is the source revision from the image's OCI labels, if any.
	Revision string
}

// IsDigest reports whether an image reference is already pinned to a digest.
func IsDigest(image string) bool {
	ref, err := name.ParseReference(image)
	if err != nil {
		return false
	}
	_, ok := ref.(name.Digest)
	return ok
}

// Resolver resolves image references.
type Resolver struct {
	// Insecure allows plain HTTP registries (for local test registries).
	Insecure bool
}

// Resolve pins image to a digest. A digest reference needs no registry. The
// pull secrets are kubernetes.io/dockerconfigjson Secrets.
func (r Resolver) Resolve(ctx context.Context, image string, pullSecrets []corev1.Secret) (Resolved, error) {
	var opts []name.Option
	if r.Insecure {
		opts = append(opts, name.Insecure)
	}
	ref, err := name.ParseReference(image, opts...)
	if err != nil {
		return Resolved{}, fmt.Errorf("spec.build.image %q is not a valid image reference: %w", image, err)
	}
	if d, ok := ref.(name.Digest); ok {
		return Resolved{Image: d.String()}, nil
	}
	kc := authn.Keychain(authn.NewMultiKeychain())
	if len(pullSecrets) > 0 {
		kc, err = kauth.NewFromPullSecrets(ctx, pullSecrets)
		if err != nil {
			return Resolved{}, fmt.Errorf("reading imagePullSecrets: %w", err)
		}
	}
	desc, err := remote.Get(ref, remote.WithContext(ctx), remote.WithAuthFromKeychain(kc))
	if err != nil {
		return Resolved{}, fmt.Errorf("resolving %s: %w", ref.Context().Name()+":"+ref.Identifier(), err)
	}
	out := Resolved{Image: ref.Context().Digest(desc.Digest.String()).String()}
	out.Revision = revision(desc)
	return out, nil
}

// revision reads the source revision label from the image config. An index
// contributes the label of its first image. A missing label is not an error.
func revision(desc *remote.Descriptor) string {
	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		if err != nil {
			return ""
		}
		m, err := idx.IndexManifest()
		if err != nil || len(m.Manifests) == 0 {
			return ""
		}
		img, err := idx.Image(m.Manifests[0].Digest)
		if err != nil {
			return ""
		}
		cfg, err := img.ConfigFile()
		if err != nil {
			return ""
		}
		return cfg.Config.Labels[RevisionLabel]
	}
	img, err := desc.Image()
	if err != nil {
		return ""
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return ""
	}
	return cfg.Config.Labels[RevisionLabel]
}
