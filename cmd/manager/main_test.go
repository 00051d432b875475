package main

import (
	"flag"
	"testing"

	"github.com/twelvefactor/twelvefactor-operator/internal/manager"
)

// TestFlags checks that the binary takes every documented flag, including
// controller-runtime's --kubeconfig from the global flag set.
func TestFlags(t *testing.T) {
	opts := manager.DefaultOptions()
	opts.BindFlags(flag.CommandLine)
	for _, name := range []string{"kubeconfig", "metrics-bind-address", "health-probe-bind-address", "leader-elect",
		"leader-election-id", "log-level", "log-format", "default-policy", "adminrun-ttl"} {
		if flag.CommandLine.Lookup(name) == nil {
			t.Errorf("flag --%s is not registered", name)
		}
	}
}
