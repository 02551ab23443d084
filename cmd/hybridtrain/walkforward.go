package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"hybridtrain/internal/env"
	"hybridtrain/internal/ppo"
	"hybridtrain/internal/report"
	"hybridtrain/internal/sweep"
	"hybridtrain/internal/walkforward"
)

// walkforwardKeyFlags are train's key flags but resume: a walk-forward continues when run
// again with the same --out, each fold from its own checkpoints.
var walkforwardKeyFlags = []string{"market", "data", "phase", "base", "init_from", "device", "total_timesteps", "n_envs", "seed", "out", "plan",
	"first_session", "last_session", "quiet"}

type walkforwardOptions struct {
	configFile string
	test       bool
	folds      int
	window     int
	flags      *pflag.FlagSet
}

func newWalkforwardCmd(a *app) *cobra.Command {
	opts := &walkforwardOptions{}
	cmd := &cobra.Command{
		Use:   "walkforward --folds K",
		Short: "Train and test across time: K folds, each trained on the past and tested on the block after it",
		Long: `Walk-forward test of a training configuration. The sessions (every one of the
bars, or first_session to last_session) are cut into K+1 consecutive blocks of
equal size; fold i trains on blocks 0..i (--window N: on the N blocks before its
test block) and is tested on block i+1, which it never saw.

Each fold is an ordinary training run with train's settings and flags, confined
to its blocks by first_session and last_session (train_fraction of them train,
the rest validate), in <out>/fold-00, fold-01, ...; its final checkpoint is
backtested on its test block as eval would (the report in
<fold>/reports/final-test/). One line per fold goes to stdout, then the table:
net P&L, Sharpe, max drawdown, Apex verdict and trades per fold, and the test
blocks stitched into one out-of-sample account. <out> gets report.md,
report.json, equity.csv and equity.png of that account; walkforward.json records
the plan.

Without --out the directory is runs/walkforward-phase<P>-<MARKET>-<UTC time>/.
Running the same command with the same --out continues: finished folds are
skipped, an interrupted one resumes, as a sweep's trials do; a directory planned
with other data, folds, window or range is refused (exit 2). Ctrl-C finishes the
current update, saves the fold's interrupted/ and exits 130. --test makes each
fold a test-mode run.`,
		Example: `  hybridtrain walkforward --market NQ --folds 4 --test
  hybridtrain walkforward --market NQ --folds 6 --window 3 --timesteps 2e6 --out runs/wf-nq
  hybridtrain walkforward --market NQ --folds 4 --init-from runs/nq-p3/final --out runs/wf-ft`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.flags = cmd.Flags()
			return runWalkforward(cmd.Context(), a, opts)
		},
	}
	f := cmd.Flags()
	f.IntVar(&opts.folds, "folds", 0, "folds K: the sessions are cut into K+1 blocks (required)")
	f.IntVar(&opts.window, "window", 0, "blocks each fold trains on, the last before its test block; 0: every earlier block")
	f.StringVar(&opts.configFile, "config", "", "config file (YAML); default ./hybridtrain.yaml when present")
	f.BoolVar(&opts.test, "test", false, "test mode: apply configs/test.yaml (50,000 timesteps, 2 envs, ...) to every fold")
	addKeyFlags(f, a.configs, phaseDefaults, walkforwardKeyFlags...)
	f.Lookup("out").Usage = "walk-forward directory, one run directory per fold below it; empty means runs/walkforward-phase<P>-<MARKET>-<UTC time>/ (key out)"
	return cmd
}

func runWalkforward(ctx context.Context, a *app, opts *walkforwardOptions) error {
	if opts.folds < 1 {
		return configErrorf("walkforward: --folds: want 1 or more, got %d", opts.folds)
	}
	res, err := loadSettings(a.configs, configRequest{flags: opts.flags, configFile: opts.configFile, testMode: opts.test})
	if err != nil {
		return err
	}
	a.warn(res.warnings)
	s := res.settings
	if s.Resume != "" {
		return configErrorf("walkforward: resume (from %s): a walk-forward continues when run again with the same --out; drop resume", s.source("resume"))
	}
	if s.Market == "" {
		return configErrorf("walkforward: --market is required: give --market SYM, one of %s", strings.Join(s.knownMarkets(), ", "))
	}
	dir := s.Out
	s.Out = "" // each fold's run directory is under dir
	plan, err := planRun(s)
	if err != nil {
		return err
	}
	inst, err := s.instrument()
	if err != nil {
		return err
	}
	ds, err := loadData(plan.data, inst, s.Env, a.stderr)
	if err != nil {
		return err
	}
	wp, err := walkforward.NewPlan(ds, ds.SessionRange(s.Env.FirstSession, s.Env.LastSession), opts.folds, opts.window)
	if err != nil {
		return &configError{fmt.Errorf("%w (--folds %d, --window %d, sessions %s to %s)", err, opts.folds, opts.window,
			orOpen(s.Env.FirstSession), orOpen(s.Env.LastSession))}
	}
	if dir == "" {
		if dir, err = ppo.NewRunDir(runsDir, fmt.Sprintf("walkforward-phase%d", s.Phase), s.Market, a.now()); err != nil {
			return err
		}
	}
	if !s.Quiet {
		if err := a.printConfig(s); err != nil {
			return err
		}
	}
	fmt.Fprintf(a.stderr, "walk-forward directory: %s (%d folds over %s..%s)\n", dir, opts.folds, wp.Blocks[0].First, wp.Blocks[len(wp.Blocks)-1].Last)
	r := &foldRunner{a: a, settings: s, plan: plan, ds: ds}
	sum, err := walkforward.Run(ctx, wp, dir, r, func(fr walkforward.FoldResult) {
		fmt.Fprintf(a.stdout, "%s: trained on %s, tested on %s: %s\n", fr.Name, fr.Train, fr.Test, foldLine(fr))
	})
	switch {
	case errors.Is(err, walkforward.ErrOtherPlan):
		return &configError{err}
	case errors.Is(err, ppo.ErrInterrupted) || errors.Is(err, context.Canceled):
		fmt.Fprintf(a.stderr, "continue with the same command and --out %s\n", dir)
		return err
	case err != nil:
		return err
	}
	fmt.Fprintln(a.stdout)
	if err := sum.WriteTable(a.stdout); err != nil {
		return err
	}
	fmt.Fprintf(a.stderr, "wrote %s, %s, %s and %s into %s\n", walkforward.MarkdownFile, walkforward.JSONFile,
		walkforward.EquityFile, walkforward.PlotFile, dir)
	return nil
}

// foldLine sums up a fold's test for its line on stdout.
func foldLine(fr walkforward.FoldResult) string {
	m := fr.Metrics
	verdict := "FAIL"
	if fr.Verdict.Passed {
		verdict = "PASS"
	}
	sharpe := "n/a"
	if m.Sharpe.Defined() {
		sharpe = fmt.Sprintf("%.2f", float64(m.Sharpe))
	}
	return fmt.Sprintf("net P&L %.2f, Sharpe %s, max drawdown %.2f, Apex %s, %d trades", m.NetPnL, sharpe, m.MaxDrawdown, verdict, m.Trades)
}

// foldRunner trains each fold through train's own code path (runTrainer) and tests it with
// eval's report. Every fold shares the bars, loaded once.
type foldRunner struct {
	a        *app
	settings *resolvedConfig // the walk-forward's; a fold's adds its session range
	plan     runPlan
	ds       *env.Dataset
}

var _ walkforward.Runner = (*foldRunner)(nil)

// Train brings the fold's run in dir to total_timesteps, continuing what an earlier
// walk-forward left there (continueRun), on the sessions of its training blocks alone.
func (r *foldRunner) Train(ctx context.Context, f walkforward.Fold, dir string) (string, error) {
	a := r.a
	s := *r.settings
	s.sources = maps.Clone(r.settings.sources)
	s.Env.FirstSession, s.Env.LastSession = f.Train.First, f.Train.Last
	s.sources["first_session"], s.sources["last_session"] = "walkforward "+f.Name, "walkforward "+f.Name
	step, prog, how, err := continueRun(dir, &s)
	if err != nil {
		return "", err
	}
	if step == sweep.Skip {
		fmt.Fprintf(a.stderr, "%s: trained on %s (%s)\n", f.Name, f.Train, how)
		return prog.Final.Dir, nil
	}
	fmt.Fprintf(a.stderr, "%s: trains on %s, %s\n", f.Name, f.Train, how)
	plan, err := planRun(&s)
	if err != nil {
		return "", err
	}
	result, err := a.runTrainer(ctx, &s, plan, r.ds)
	if err != nil {
		if errors.Is(err, ppo.ErrInterrupted) && result != nil && result.Interrupted != "" {
			fmt.Fprintf(a.stdout, "%s: interrupted at %d timesteps: %s\n", f.Name, result.Timesteps, result.Interrupted)
		}
		return "", err
	}
	return result.Final, nil
}

// Test backtests the fold's final checkpoint on its test block as eval does: one account
// under the walk-forward's rules, beside the baselines.
func (r *foldRunner) Test(ctx context.Context, f walkforward.Fold, final string) (*report.Report, error) {
	model, err := ppo.LoadModel(final)
	if err != nil {
		return nil, err
	}
	return report.Build(ctx, report.Input{
		Dataset: r.ds, Sessions: f.Test.Indices(), Env: r.settings.Env, Actor: model, Split: "test",
		Model: modelInfo(final, model),
	}, report.DefaultConfig())
}
