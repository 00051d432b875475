package registry_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/twelvefactor/twelvefactor-operator/internal/registry"
	"github.com/twelvefactor/twelvefactor-operator/internal/registry/registrytest"
)

func TestResolveTagToDigestAndRevision(t *testing.T) {
	g := NewWithT(t)
	srv := httptest.NewServer(registrytest.New())
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	digest := registrytest.Push(t, host+"/acme/shop:1.0", "3f2c1a9")

	res, err := registry.Resolver{Insecure: true}.Resolve(context.Background(), host+"/acme/shop:1.0", nil)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res.Image).To(Equal(host + "/acme/shop@" + digest))
	g.Expect(res.Revision).To(Equal("3f2c1a9"))
}

func TestDigestReferenceNeedsNoRegistry(t *testing.T) {
	g := NewWithT(t)
	img := "unreachable.invalid/acme/shop@sha256:" + strings.Repeat("ab", 32)
	res, err := registry.Resolver{}.Resolve(context.Background(), img, nil)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res.Image).To(Equal(img))
}

func TestUnreachableRegistryIsAnError(t *testing.T) {
	g := NewWithT(t)
	srv := httptest.NewServer(registrytest.New())
	host := strings.TrimPrefix(srv.URL, "http://")
	srv.Close()
	_, err := registry.Resolver{Insecure: true}.Resolve(context.Background(), host+"/acme/shop:1.0", nil)
	g.Expect(err).To(HaveOccurred())
}

func TestMissingTagIsAnError(t *testing.T) {
	g := NewWithT(t)
	srv := httptest.NewServer(registrytest.New())
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	_, err := registry.Resolver{Insecure: true}.Resolve(context.Background(), host+"/acme/none:1.0", nil)
	g.Expect(err).To(HaveOccurred())
}
