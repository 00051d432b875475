// Command kubectl-twelvefactor is the kubectl plugin for TwelveFactorApps.
// Installed on the PATH, it runs as `kubectl twelvefactor <command>`. The
// commands live in internal/plugin.
package main

import (
	"os"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/twelvefactor/twelvefactor-operator/internal/plugin"
)

func main() {
	os.Exit(plugin.Main(os.Args[1:], genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}))
}
