// Package plugin implements kubectl-twelvefactor, the kubectl plugin that
// feels like the Heroku CLI: `kubectl twelvefactor <command>`. cmd/
// kubectl-twelvefactor only calls Main, so every command is testable here.
//
// Each command lives in its own file with a NewXCommand(*Options) constructor
// and is added in NewRootCommand. Commands that talk to a cluster get their
// client from Options.ConfigFlags, which carries the standard kubectl flags
// (--namespace, --context, --kubeconfig…) registered on the root command.
package plugin

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// Exit codes of the plugin.
const (
	// ExitOK: the command succeeded and, for lint, no factor fails.
	ExitOK = 0
	// ExitFail: lint found an app with a failing factor, or the admin
	// process of run failed.
	ExitFail = 1
	// ExitError: the command could not run: bad flags, unreadable or invalid
	// input, an API error, a change refused because another field manager
	// owns the field (unpin), or run stopped waiting.
	ExitError = 2
)

// Options are shared by every command.
type Options struct {
	// ConfigFlags are the standard kubectl connection flags.
	ConfigFlags *genericclioptions.ConfigFlags
	genericiooptions.IOStreams
}

// exitError ends the command with a code, after the command has already told
// the user why.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// NewRootCommand returns the kubectl-twelvefactor command with every
// subcommand.
func NewRootCommand(streams genericiooptions.IOStreams) *cobra.Command {
	o := &Options{ConfigFlags: genericclioptions.NewConfigFlags(true), IOStreams: streams}
	cmd := &cobra.Command{
		Use:   "kubectl-twelvefactor",
		Short: "Run and check twelve-factor apps on Kubernetes",
		Long: "kubectl twelvefactor works with TwelveFactorApps: it checks them against the twelve-factor\n" +
			"policy offline (lint), and manages releases, rollbacks, config, processes and admin runs.",
		Annotations: map[string]string{
			cobra.CommandDisplayNameAnnotation: "kubectl twelvefactor",
		},
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	cmd.SetIn(streams.In)
	cmd.SetOut(streams.Out)
	cmd.SetErr(streams.ErrOut)
	o.ConfigFlags.AddFlags(cmd.PersistentFlags())

	cmd.AddCommand(NewLintCommand(o), NewReleasesCommand(o), NewRollbackCommand(o), NewUnpinCommand(o),
		NewScaleCommand(o), NewConfigCommand(o), NewStatusCommand(o), NewRunCommand(o))
	return cmd
}

// Main runs the plugin with args (without the program name) and returns the
// process's exit code.
func Main(args []string, streams genericiooptions.IOStreams) int {
	cmd := NewRootCommand(streams)
	cmd.SetArgs(args)
	// Ctrl-C ends a command's wait (run) cleanly, with a message.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := cmd.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	var exit exitError
	if errors.As(err, &exit) {
		return exit.code
	}
	fmt.Fprintln(streams.ErrOut, "error:", err)
	return ExitError
}
