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
	paths []string
}

func newDataValidateCmd(a *app) *cobra.Command {
	opts := &dataValidateOptions{}
	cmd := &cobra.Command{
		Use:   "validate PATH...",
		Short: "Check bar files: every error with its line and column",
		Long: `Check bar files and print every error with its line and column (up to 100,
then "and N more"), and the warnings (gaps, bars that look divided by 100, jumps over
5%). Several files (arguments, comma-separated lists, or directories of .csv files)
are checked as --data merges them: each on its own, then for overlapping time
ranges. Exit 0 when the files are valid, 3 when they have errors.`,
		Example: "  hybridtrain data validate data/NQ_D1M.csv\n  hybridtrain data validate data/NQ_2024.csv data/NQ_2025.csv",
		Args:    usageArgs(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.paths, opts.flags = args, cmd.Flags()
			return runDataValidate(a, opts)
		},
	}
	opts.addFlags(a, cmd.Flags())
	return cmd
}

func runDataValidate(a *app, opts *dataValidateOptions) error {
	src, err := dataArgs(opts.paths)
	if err != nil {
		return err
	}
	s, inst, err := opts.dataSettings(a, src.files[0])
	if err != nil {
		return err
	}
	errs, warnings, err := env.ValidateFiles(src.files, inst, s.Env, maxListedErrors)
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
		return dataErrorf("data validate: %s: %s (instrument %s)", src, plural(found, "error", "errors"), inst.Symbol)
	}
	fmt.Fprintf(a.stdout, "%s: valid for %s (%s)\n", src, inst.Symbol, plural(len(warnings), "warning", "warnings"))
	return nil
}
