package main

import (
	"io"

	"github.com/spf13/cobra"
)

// newRootCommand builds the command tree. Nothing here is global: every
// call returns a fresh tree bound to the given streams and environment.
func newRootCommand(stdout, stderr io.Writer, env func(string) (string, bool)) *cobra.Command {
	root := &cobra.Command{
		Use:           "nexus",
		Short:         "One OpenAI-compatible endpoint in front of many LLM backends",
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetVersionTemplate("nexus {{.Version}}\n")
	root.CompletionOptions.DisableDefaultCmd = true // `nexus completions` replaces it
	root.AddCommand(
		newServeCommand(env),
		newDemoCommand(),
		newConfigCommand(),
		newBackendsCommand(env),
		newModelsCommand(env),
		newHealthCommand(env),
		newDiscoverCommand(env, nil),
		newCompletionsCommand(),
		&cobra.Command{
			Use:   "version",
			Short: "Print the version",
			Args:  cobra.NoArgs,
			Run: func(cmd *cobra.Command, _ []string) {
				cmd.Println("nexus " + version)
			},
		},
	)
	return root
}
