package main

import (
	"fmt"
	"io"
	"reflect"
	"strings"

	"github.com/spf13/cobra"
)

type dataInfoOptions struct {
	dataFlags
	paths  []string
	asJSON bool
}

func newDataInfoCmd(a *app) *cobra.Command {
	opts := &dataInfoOptions{}
	cmd := &cobra.Command{
		Use:   "info PATH...",
		Short: "Describe bar files: rows, sessions, range, dropped bars, gaps, split",
		Long: `Describe bar files: rows, sessions, first and last bar in the exchange zone,
bars dropped outside the data session, gaps, and the train/validation split of
train_fraction. Several files (arguments, comma-separated lists, or directories of
.csv files) are merged in time order, as --data merges them. The files must be valid
(see data validate); exit 3 otherwise.`,
		Example: "  hybridtrain data info data/NQ_D1M.csv --json\n  hybridtrain data info data/NQ/",
		Args:    usageArgs(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.paths, opts.flags = args, cmd.Flags()
			return runDataInfo(a, opts)
		},
	}
	opts.addFlags(a, cmd.Flags())
	cmd.Flags().BoolVar(&opts.asJSON, "json", false, "machine-readable output")
	return cmd
}

func runDataInfo(a *app, opts *dataInfoOptions) error {
	src, err := dataArgs(opts.paths)
	if err != nil {
		return err
	}
	s, inst, err := opts.dataSettings(a, src.files[0])
	if err != nil {
		return err
	}
	ds, err := loadData(src, inst, s.Env, a.stderr)
	if err != nil {
		return err
	}
	info := ds.DescribeSplit(s.Env.TrainFraction)
	if opts.asJSON {
		return writeJSON(a.stdout, info)
	}
	for _, w := range ds.Warnings {
		if !calendarWarning(w) { // loadData printed those
			fmt.Fprintln(a.stderr, w.String())
		}
	}
	printFields(a.stdout, info)
	return nil
}

// printFields prints a struct's exported fields as aligned "name  value" rows, named as
// their JSON tags name them, so that the text and --json outputs agree.
func printFields(w io.Writer, v any) {
	t := newTable(w)
	rv := reflect.Indirect(reflect.ValueOf(v))
	rt := rv.Type()
	for i := range rt.NumField() {
		f := rt.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		t.row(name, fmt.Sprint(rv.Field(i).Interface()))
	}
	t.flush()
}
