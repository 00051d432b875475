package controller

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/event"

	"github.com/twelvefactor/twelvefactor-operator/internal/registry"
)

const someDigest = "sha256:1111111111111111111111111111111111111111111111111111111111111111"

// fakeRegistries answers for registry.example at once and never answers for
// dead.example (until the call's context ends).
type fakeRegistries struct {
	calls   atomic.Int32
	fail    atomic.Bool
	started chan string
}

func (f *fakeRegistries) resolve(ctx context.Context, image string, _ []corev1.Secret) (registry.Resolved, error) {
	f.calls.Add(1)
	if f.started != nil {
		f.started <- image
	}
	if len(image) >= 12 && image[:12] == "dead.example" {
		<-ctx.Done()
		return registry.Resolved{}, ctx.Err()
	}
	if f.fail.Load() {
		return registry.Resolved{}, errors.New("registry said no")
	}
	return registry.Resolved{Image: "registry.example/shop@" + someDigest}, nil
}

func app(name string) types.NamespacedName { return types.NamespacedName{Namespace: "ns", Name: name} }

func TestADigestNeedsNoRegistry(t *testing.T) {
	g := NewWithT(t)
	f := &fakeRegistries{}
	ir := newImageResolutions(f.resolve, clocktesting.NewFakeClock(time.Unix(0, 0)))
	res, pending, _, err := ir.lookup(app("a"), "registry.example/shop@"+someDigest, nil, false)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(pending).To(BeFalse())
	g.Expect(res.Image).To(Equal("registry.example/shop@" + someDigest))
	g.Expect(f.calls.Load()).To(BeZero())
}

func TestAnInvalidReferenceIsAnErrorWithoutARetry(t *testing.T) {
	g := NewWithT(t)
	f := &fakeRegistries{}
	ir := newImageResolutions(f.resolve, clocktesting.NewFakeClock(time.Unix(0, 0)))
	_, pending, retry, err := ir.lookup(app("a"), "Acme/Shop:1.0", nil, false)
	g.Expect(err).To(HaveOccurred())
	g.Expect(isRegistryError(err)).To(BeFalse())
	g.Expect(pending).To(BeFalse())
	g.Expect(retry).To(BeZero())
	g.Expect(f.calls.Load()).To(BeZero())
}

func TestATagIsResolvedOutsideThePassAndWakesEveryWaiter(t *testing.T) {
	g := NewWithT(t)
	f := &fakeRegistries{}
	ir := newImageResolutions(f.resolve, clocktesting.NewFakeClock(time.Unix(0, 0)))
	_, pending, _, _ := ir.lookup(app("a"), "registry.example/shop:1.0", nil, false)
	g.Expect(pending).To(BeTrue())
	g.Eventually(ir.events).Should(Receive(WithTransform(nameOf, Equal("a"))))
	res, pending, _, err := ir.lookup(app("a"), "registry.example/shop:1.0", nil, false)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(pending).To(BeFalse())
	g.Expect(res.Image).To(HaveSuffix(someDigest))
	// Another app in the namespace asking for the same tag reuses the result.
	_, pending, _, _ = ir.lookup(app("b"), "registry.example/shop:1.0", nil, false)
	g.Expect(pending).To(BeFalse())
	g.Expect(f.calls.Load()).To(Equal(int32(1)))
}

func TestADeadRegistryHoldsNoOtherRegistry(t *testing.T) {
	g := NewWithT(t)
	f := &fakeRegistries{started: make(chan string, 100)}
	ir := newImageResolutions(f.resolve, clocktesting.NewFakeClock(time.Unix(0, 0)))
	ir.timeout = time.Hour // the dead registry's calls do not end during the test
	for _, n := range []string{"d1", "d2", "d3", "d4", "d5"} {
		_, pending, _, _ := ir.lookup(app(n), "dead.example/"+n+":1.0", nil, false)
		g.Expect(pending).To(BeTrue())
	}
	// At most perHost calls to one host are in flight; the rest wait in line.
	g.Eventually(f.started).Should(Receive())
	g.Eventually(f.started).Should(Receive())
	g.Consistently(f.started, 200*time.Millisecond).ShouldNot(Receive())
	ir.mu.Lock()
	g.Expect(ir.hosts["dead.example"].inflight).To(Equal(2))
	g.Expect(ir.hosts["dead.example"].queue).To(HaveLen(3))
	ir.mu.Unlock()

	// A healthy registry resolves while the dead one holds its calls.
	_, pending, _, _ := ir.lookup(app("healthy"), "registry.example/shop:2.0", nil, false)
	g.Expect(pending).To(BeTrue())
	g.Eventually(ir.events).Should(Receive(WithTransform(nameOf, Equal("healthy"))))
}

func TestAFailedRegistryIsBackedOff(t *testing.T) {
	g := NewWithT(t)
	f := &fakeRegistries{}
	f.fail.Store(true)
	clk := clocktesting.NewFakeClock(time.Unix(0, 0))
	ir := newImageResolutions(f.resolve, clk)
	_, pending, _, _ := ir.lookup(app("a"), "registry.example/shop:1.0", nil, false)
	g.Expect(pending).To(BeTrue())
	g.Eventually(ir.events).Should(Receive())
	// Within the back-off every app on that host gets the error at once.
	_, pending, retry, err := ir.lookup(app("b"), "registry.example/other:1.0", nil, false)
	g.Expect(pending).To(BeFalse())
	g.Expect(err).To(MatchError("registry said no"))
	g.Expect(retry).To(Equal(ir.backoff))
	g.Expect(f.calls.Load()).To(Equal(int32(1)))
	// After it, the registry is asked again; a second failure doubles the wait.
	clk.Step(ir.backoff)
	_, pending, _, _ = ir.lookup(app("a"), "registry.example/shop:1.0", nil, false)
	g.Expect(pending).To(BeTrue())
	g.Eventually(ir.events).Should(Receive())
	_, _, retry, _ = ir.lookup(app("a"), "registry.example/shop:1.0", nil, false)
	g.Expect(retry).To(Equal(2 * ir.backoff))
	// A success ends the back-off.
	f.fail.Store(false)
	clk.Step(2 * ir.backoff)
	_, pending, _, _ = ir.lookup(app("a"), "registry.example/shop:1.0", nil, false)
	g.Expect(pending).To(BeTrue())
	g.Eventually(ir.events).Should(Receive())
	res, _, _, err := ir.lookup(app("a"), "registry.example/shop:1.0", nil, false)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res.Image).To(HaveSuffix(someDigest))
}

func nameOf(e event.GenericEvent) string { return e.Object.GetName() }
