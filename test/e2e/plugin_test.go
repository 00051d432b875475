package e2e

import (
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/twelvefactor/twelvefactor-operator/internal/plugin"
)

// testPluginRunSucceedsForReal runs `kubectl twelvefactor run` on the
// simulated cluster: the Job's pod really runs (KWOK completes it) and the
// plugin exits with the run's result.
func testPluginRunSucceedsForReal(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t)
	g.Expect(cluster.Client.Create(ctx(), newApp(ns, "shop"))).To(Succeed())
	waitReady(t, ns, "shop", 1)
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	code := plugin.Main([]string{"--kubeconfig", cluster.KubeconfigPath, "-n", ns, "run", "shop", "--timeout", "90s", "--", "rake", "db:seed"}, streams)
	g.Expect(code).To(Equal(0), "stdout: %s\nstderr: %s", out.String(), errOut.String())
	g.Expect(out.String()).To(ContainSubstring("Run succeeded"))
	g.Expect(out.String()).To(ContainSubstring("(release v1)"))

	streams, _, out, _ = genericiooptions.NewTestIOStreams()
	g.Expect(plugin.Main([]string{"--kubeconfig", cluster.KubeconfigPath, "-n", ns, "releases", "shop"}, streams)).To(Equal(0))
	g.Expect(out.String()).To(MatchRegexp(`v1\*\s+deployed\s+Deploy v1rev`))
}
