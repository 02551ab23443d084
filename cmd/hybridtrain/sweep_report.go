package main

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/spf13/cobra"

	"hybridtrain/internal/sweep"
)

type sweepReportOptions struct {
	dir    string
	metric string
	asJSON bool
}

func newSweepReportCmd(a *app) *cobra.Command {
	opts := &sweepReportOptions{}
	cmd := &cobra.Command{
		Use:   "report DIR",
		Short: "Rank a sweep's trials by their final evaluations",
		Long: `Rank the trials of the sweep whose out directory is DIR (it holds sweep.json
and a run directory per trial) by --metric of their final evaluations: the
validation mean reward, and the net P&L, Sharpe ratio, max drawdown and Apex
verdict of the evaluation report's backtest, with timesteps, wall time and the
grid's values as columns. Trials without a final evaluation (not started,
unfinished, or not evaluated yet) are listed as such after the ranked ones.

Prints the table (or --json) and writes DIR/report.md, DIR/report.json and
DIR/report.png (a bar per trial, best at the top). Metrics: ` + strings.Join(sweep.MetricNames(), ", ") + `.`,
		Example: `  hybridtrain sweep report runs/sweeps/nq-lr
  hybridtrain sweep report runs/sweeps/nq-lr --metric sharpe --json`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.dir = args[0]
			return runSweepReport(a, opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.metric, "metric", sweep.Metrics[0].Name, "what to rank by: "+strings.Join(sweep.MetricNames(), ", "))
	f.BoolVar(&opts.asJSON, "json", false, "machine-readable output (report.json's document)")
	return cmd
}

func runSweepReport(a *app, opts *sweepReportOptions) error {
	known := sweep.MetricNames()
	found := false
	for _, m := range known {
		found = found || m == opts.metric
	}
	if !found {
		return configErrorf("sweep report: --metric: want one of %s, got %q%s", strings.Join(known, ", "), opts.metric, suggest(opts.metric, known))
	}
	lb, err := sweep.Collect(opts.dir, opts.metric)
	if errors.Is(err, fs.ErrNotExist) {
		return &configError{err} // DIR is not a sweep's out directory
	}
	if err != nil {
		return err
	}
	paths, err := lb.WriteFiles(opts.dir)
	if err != nil {
		return err
	}
	for _, p := range paths {
		fmt.Fprintln(a.stderr, "wrote", p)
	}
	if opts.asJSON {
		return lb.WriteJSON(a.stdout)
	}
	return lb.WriteText(a.stdout)
}
