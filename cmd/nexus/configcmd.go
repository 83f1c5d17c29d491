package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/nexusllm/nexus/config"
	"github.com/spf13/cobra"
)

func newConfigCommand() *cobra.Command {
	cfg := &cobra.Command{Use: "config", Short: "Work with configuration files"}
	var output string
	var force bool
	initCmd := &cobra.Command{
		Use:   "init",
		Short: "Write an annotated example configuration",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := os.Stat(output); err == nil && !force {
				return fmt.Errorf("file already exists: %s. Use --force to overwrite", output)
			} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			if err := os.WriteFile(output, config.Example(), 0o644); err != nil {
				return err
			}
			cmd.Printf("✓ Configuration file created: %s\n", output)
			return nil
		},
	}
	initCmd.Flags().StringVarP(&output, "output", "o", "nexus.toml", "where to write the file")
	initCmd.Flags().BoolVarP(&force, "force", "f", false, "overwrite an existing file")
	cfg.AddCommand(initCmd)
	return cfg
}
