package main

import "github.com/spf13/cobra"

// newImportCmd groups the importers of models trained elsewhere: today stable-baselines3.
func newImportCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "import",
		Short: "Import a model trained elsewhere as a checkpoint",
		Long: `Import a model trained elsewhere as a checkpoint directory of this tool
(docs/checkpoints.md), which train --base, eval, inspect and predict accept.`,
		Args: usageArgs(cobra.NoArgs),
		// Runnable, so that cobra checks the arguments: "import foo" is a usage error.
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newImportSB3Cmd(a))
	return cmd
}
