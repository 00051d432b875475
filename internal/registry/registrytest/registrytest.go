// Package registrytest runs go-containerregistry's in-process registry and
// pushes small images to it, for tests.
package registrytest

import (
	"io"
	"log"
	"net/http"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/twelvefactor/twelvefactor-operator/internal/registry"
)

// New returns the in-process registry handler.
func New() http.Handler { return ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))) }

// Push writes a random image labelled with a source revision to ref and
// returns its digest.
func Push(t testing.TB, ref, revision string) string {
	t.Helper()
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.Config
	c.Labels = map[string]string{registry.RevisionLabel: revision}
	img, err = mutate.Config(img, c)
	if err != nil {
		t.Fatal(err)
	}
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}
