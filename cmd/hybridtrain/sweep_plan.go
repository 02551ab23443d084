package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"
)

type sweepPlanOptions struct {
	path   string
	asJSON bool
}

func newSweepPlanCmd(a *app) *cobra.Command {
	opts := &sweepPlanOptions{}
	cmd := &cobra.Command{
		Use:   "plan FILE",
		Short: "List a sweep's trials with their index, directory and values",
		Long: `List the trials of the sweep file FILE in index order: each one's index,
run directory, grid values, market, seed and total_timesteps, then the number of
trials and the timesteps they add up to. Every trial's configuration is resolved
and checked, so a sweep that plans cleanly starts cleanly. --json prints the plan
that sweep run records as sweep.json in the sweep's out directory.`,
		Example: `  hybridtrain sweep plan sweeps/nq-lr.yaml
  hybridtrain sweep plan sweeps/nq-lr.yaml --json`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.path = args[0]
			return runSweepPlan(a, opts)
		},
	}
	cmd.Flags().BoolVar(&opts.asJSON, "json", false, "machine-readable output")
	return cmd
}

func runSweepPlan(a *app, opts *sweepPlanOptions) error {
	ls, err := loadSweep(a, opts.path)
	if err != nil {
		return err
	}
	p := ls.plan
	if opts.asJSON {
		return writeJSON(a.stdout, p)
	}
	// market and seed are columns of their own unless the grid has them already.
	extra := []string{"market", "seed"}
	extra = slices.DeleteFunc(extra, func(k string) bool { return slices.Contains(p.Grid, k) })
	t := newTable(a.stdout)
	header := append([]string{"index", "trial"}, p.Grid...)
	t.row(append(append(header, extra...), "timesteps", "dir")...)
	for _, tr := range p.Trials {
		row := []string{fmt.Sprint(tr.Index), tr.Name}
		for _, v := range ls.trials[tr.Index].Values {
			row = append(row, formatGridValue(v.Raw))
		}
		for _, k := range extra {
			if k == "market" {
				row = append(row, tr.Market)
			} else {
				row = append(row, fmt.Sprint(tr.Seed))
			}
		}
		t.row(append(row, fmt.Sprint(tr.TotalTimesteps), tr.Dir)...)
	}
	t.flush()
	fmt.Fprintf(a.stdout, "\nsweep %s: %s, %d timesteps in all, under %s\n", p.Name, plural(len(p.Trials), "trial", "trials"), p.TotalTimesteps, p.Out)
	return nil
}

// formatGridValue writes a grid value as the file would (lists in brackets).
func formatGridValue(raw any) string {
	if list, ok := raw.([]any); ok {
		parts := make([]string, len(list))
		for i, x := range list {
			parts[i] = fmt.Sprint(x)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return fmt.Sprint(raw)
}
