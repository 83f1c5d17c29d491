package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newCompletionsCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "completions <bash|zsh|fish|powershell>",
		Short: "Print a shell completion script",
		Long: "completions writes a completion script for the given shell to stdout. For example:\n\n" +
			"  bash:        source <(nexus completions bash)\n" +
			"  zsh:         nexus completions zsh > \"${fpath[1]}/_nexus\"\n" +
			"  fish:        nexus completions fish > ~/.config/fish/completions/nexus.fish\n" +
			"  powershell:  nexus completions powershell | Out-String | Invoke-Expression",
		ValidArgs: []string{"bash", "zsh", "fish", "powershell"},
		Args:      cobra.MatchAll(cobra.ExactArgs(1), cobra.OnlyValidArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			root, out := cmd.Root(), cmd.OutOrStdout()
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(out, true)
			case "zsh":
				return root.GenZshCompletion(out)
			case "fish":
				return root.GenFishCompletion(out, true)
			case "powershell":
				return root.GenPowerShellCompletionWithDesc(out)
			}
			return fmt.Errorf("unsupported shell %q", args[0])
		},
	}
}
