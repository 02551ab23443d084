package main

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/spf13/cobra"

	"hybridtrain/internal/atomicfile"
	"hybridtrain/internal/curves"
	"hybridtrain/internal/ppo"
)

type plotOptions struct {
	out string
}

func newPlotCmd(a *app) *cobra.Command {
	opts := &plotOptions{}
	cmd := &cobra.Command{
		Use:   "plot RUN...",
		Short: "Draw the training curves of one or more runs as one PNG",
		Long: `Draw training curves from the metrics.jsonl of each RUN (a run directory, or the
file itself) as one PNG, the runs over each other with a legend: the rollouts' and the
evaluations' mean episode reward, approx_kl, clip fraction, value loss, entropy loss,
explained variance, adapter/llm_features_learned and fps, against timesteps.

The picture is --out, else RUN/curves.png for one run (what train writes when it
ends) and ./curves.png for several. A metrics line that cannot be read is skipped with a
warning naming its file and line; a RUN without a single metrics line is an error (exit 1).`,
		Example: `  hybridtrain plot runs/nq-p3
  hybridtrain plot runs/nq-seed1 runs/nq-seed2 runs/nq-seed3 --out seeds.png`,
		Args: usageArgs(cobra.MinimumNArgs(1)),
		RunE: func(_ *cobra.Command, args []string) error {
			return runPlot(a, opts, args)
		},
	}
	cmd.Flags().StringVar(&opts.out, "out", "", "PNG to write (default RUN/curves.png for one run, curves.png for several)")
	return cmd
}

func runPlot(a *app, opts *plotOptions, args []string) error {
	var runs []*curves.Run
	for _, arg := range args {
		r, err := readCurves(a, arg)
		if err != nil {
			return fmt.Errorf("plot: %w", err)
		}
		runs = append(runs, r)
	}
	out := opts.out
	switch {
	case out != "":
	case len(runs) == 1:
		out = filepath.Join(filepath.Dir(runs[0].File), curves.FileName)
	default:
		out = curves.FileName
	}
	if err := writeCurves(out, runs); err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	fmt.Fprintln(a.stderr, "wrote", out)
	return nil
}

// readCurves reads a run's metrics, printing a warning for each line it skipped.
func readCurves(a *app, path string) (*curves.Run, error) {
	r, err := curves.Read(path)
	if r != nil {
		for _, s := range r.Skipped {
			fmt.Fprintf(a.stderr, "warning: %v\n", s)
		}
	}
	return r, err
}

// writeCurves draws runs into the PNG file out, all at once.
func writeCurves(out string, runs []*curves.Run) error {
	return atomicfile.WriteFunc(out, atomicfile.Perm, func(w io.Writer) error { return curves.WritePNG(w, runs) })
}

// drawTrainCurves draws the run's own curves.png when train has ended with res and err:
// finished, or interrupted with interrupted/ saved, after at least one rollout. A run that
// failed draws none (its metrics stop at the failure; plot draws them on demand). The
// run's outcome stands whatever happens here: a failure is a warning, not an error.
func (a *app) drawTrainCurves(res *ppo.Result, err error) {
	if res == nil || res.Rollouts == 0 || err != nil && !errors.Is(err, ppo.ErrInterrupted) {
		return
	}
	r, err := readCurves(a, res.RunDir)
	if err == nil {
		err = writeCurves(filepath.Join(res.RunDir, curves.FileName), []*curves.Run{r})
	}
	if err != nil {
		fmt.Fprintf(a.stderr, "warning: %s not drawn: %v\n", curves.FileName, err)
	}
}
