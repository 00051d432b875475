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
	fs := flag.NewFlagSet(os.Args[0], flag.ExitOnError)
	opts.BindFlags(fs)
	_ = fs.Parse(os.Args[1:])
	if err := manager.Run(opts); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
