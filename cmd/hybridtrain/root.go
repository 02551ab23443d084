package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

// newRootCmd builds the command tree. Commands are built by functions (no package-level
// commands, no init), each in its own file.
func newRootCmd(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:   "hybridtrain",
		Short: "Train Phase 3 futures-trading policies with maskable PPO",
		Long: `hybridtrain trains futures-trading policies with maskable PPO on 1-minute bars.

Phase 3 (the default) puts a learnable adapter (261 -> 228 features) in front of a
Phase 2 actor-critic, so that 33 context features can be added without losing what
Phase 2 learned (--base DIR transfers a Phase 2 checkpoint); --phase 2 trains the
228-feature network itself.

Configuration, highest first: flags > HYBRIDTRAIN_<KEY> environment variables >
config file (--config FILE, else ./hybridtrain.yaml) > test overlay (--test) > phase
defaults. Every key is listed in docs/configuration.md.

Exit codes: 0 success; 1 runtime failure (a failed test check, a declined
confirmation); 2 usage or configuration error; 3 bad or missing bar file;
4 missing, corrupt or incompatible checkpoint; 130 interrupted.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		// Reached only once cobra has parsed the flags and arguments of a command.
		PersistentPreRunE: func(*cobra.Command, []string) error {
			a.started = true
			return nil
		},
	}
	root.CompletionOptions.DisableDefaultCmd = true // our own completion command
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &configError{fmt.Errorf("%s: %w (see '%s --help')", c.CommandPath(), err, c.CommandPath())}
	})
	root.AddCommand(
		newTrainCmd(a),
		newTestCmd(a),
		newEvalCmd(a),
		newPlotCmd(a),
		newDataCmd(a),
		newInspectCmd(a),
		newImportCmd(a),
		newPredictCmd(a),
		newDeviceCmd(a),
		newSweepCmd(a),
		newWalkforwardCmd(a),
		newVersionCmd(a),
		newCompletionCmd(),
	)
	return root
}

// usageArgs wraps a cobra argument check so that its error is a usage error (exit 2).
func usageArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return &configError{fmt.Errorf("%s: %w (see '%s --help')", cmd.CommandPath(), err, cmd.CommandPath())}
		}
		return nil
	}
}
