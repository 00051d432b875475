// Command manager runs the twelvefactor-operator.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/twelvefactor/twelvefactor-operator/internal/manager"
)

func main() {
	opts := manager.DefaultOptions()
	// The global flag set also carries controller-runtime's --kubeconfig.
	opts.BindFlags(flag.CommandLine)
	flag.Parse()
	if err := manager.Run(opts); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
