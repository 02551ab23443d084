package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"hybridtrain/internal/env"
)

// maxListedErrors is how many errors `data validate` lists before "and N more".
const maxListedErrors = 100

type dataValidateOptions struct {
	dataFlags
	path string
}

func newDataValidateCmd(a *app) *cobra.Command {
	opts := &dataValidateOptions{}
	cmd := &cobra.Command{
		Use:   "validate PATH",
		Short: "Check a bar file: every error with its line and column",
		Long: `Check a bar file and print every error with its line and column (up to 100,
then "and N more"), and the warnings (gaps, bars that look divided by 100, jumps over
5%). Exit 0 when the file is valid, 3 when it has errors.`,
		Example: "  hybridtrain data validate data/NQ_D1M.csv",
		Args:    usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.path, opts.flags = args[0], cmd.Flags()
			return runDataValidate(a, opts)
		},
	}
	opts.addFlags(a, cmd.Flags())
	return cmd
}

func runDataValidate(a *app, opts *dataValidateOptions) error {
	if err := dataPathArg(opts.path); err != nil {
		return err
	}
	s, inst, err := opts.dataSettings(a, opts.path)
	if err != nil {
		return err
	}
	errs, warnings, err := env.ValidateFile(opts.path, inst, s.Env, maxListedErrors)
	if err != nil {
		return &configError{fmt.Errorf("data validate: %w", err)}
	}
	for _, w := range warnings {
		fmt.Fprintln(a.stdout, w.String())
	}
	found := 0
	for _, e := range errs {
		var omitted *env.OmittedError
		if errors.As(e, &omitted) {
			found += omitted.Count
		} else {
			found++
		}
		fmt.Fprintln(a.stdout, e)
	}
	if found > 0 {
		return dataErrorf("data validate: %s: %s (instrument %s)", opts.path, plural(found, "error", "errors"), inst.Symbol)
	}
	fmt.Fprintf(a.stdout, "%s: valid for %s (%s)\n", opts.path, inst.Symbol, plural(len(warnings), "warning", "warnings"))
	return nil
}
