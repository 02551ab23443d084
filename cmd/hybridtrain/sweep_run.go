package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"hybridtrain/internal/atomicfile"
	"hybridtrain/internal/env"
	"hybridtrain/internal/policy"
	"hybridtrain/internal/ppo"
	"hybridtrain/internal/sweep"
)

// jobIndexEnv is the variable Kubernetes sets in each pod of an Indexed Job.
const jobIndexEnv = "JOB_COMPLETION_INDEX"

type sweepRunOptions struct {
	path     string
	index    int // --index; read only when the flag is given
	parallel int
	cmd      *cobra.Command
}

func newSweepRunCmd(a *app) *cobra.Command {
	opts := &sweepRunOptions{}
	cmd := &cobra.Command{
		Use:   "run FILE",
		Short: "Run a sweep's trials, or one of them (--index, JOB_COMPLETION_INDEX)",
		Long: `Run the trials of the sweep file FILE, each an ordinary training run (as train
with the trial's configuration) in its own run directory under the sweep's out,
followed by its final evaluation: final/ on every validation session, with the
evaluation report, in <trial>/reports/final-validation/ (eval.json is what
eval --json prints). sweep.json in out records the plan.

--index I runs trial I alone, as does the JOB_COMPLETION_INDEX variable that
Kubernetes sets in each pod of an Indexed Job (--index wins). Without either,
every trial runs in index order, or --parallel N at a time: each in a child
process of this binary with GOMAXPROCS divided between them.

Running again continues instead of starting over: a trial whose final/ holds
total_timesteps is skipped (its evaluation written if missing), one with
interrupted/, periodic checkpoints or best/ resumes from the newest, and one
that saved no checkpoint starts again. Ctrl-C stops every trial running: each
finishes its update and saves interrupted/ (exit 130); a trial that fails does
not stop the others, and the exit code is then the first failure's.`,
		Example: `  hybridtrain sweep run sweeps/nq-lr.yaml
  hybridtrain sweep run sweeps/nq-lr.yaml --parallel 4
  hybridtrain sweep run sweeps/nq-lr.yaml --index 3`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.path, opts.cmd = args[0], cmd
			return runSweepRun(cmd.Context(), a, opts)
		},
	}
	f := cmd.Flags()
	f.IntVar(&opts.index, "index", 0, "run this trial alone (default: $"+jobIndexEnv+" when set, else every trial)")
	f.IntVar(&opts.parallel, "parallel", 1, "trials at once, each a child process with GOMAXPROCS divided between them")
	return cmd
}

func runSweepRun(ctx context.Context, a *app, opts *sweepRunOptions) error {
	if opts.parallel < 1 {
		return configErrorf("sweep run: --parallel: want 1 or more, got %d", opts.parallel)
	}
	index, from, err := trialIndex(a, opts)
	if err != nil {
		return err
	}
	if index >= 0 && opts.cmd.Flags().Changed("parallel") {
		return configErrorf("sweep run: --parallel runs several trials; %s names one", from)
	}
	ls, err := loadSweep(a, opts.path)
	if err != nil {
		return err
	}
	if err := ls.plan.Record(); err != nil {
		if errors.Is(err, sweep.ErrOtherSweep) {
			return &configError{err}
		}
		return err
	}
	if index >= 0 {
		t, err := ls.trial(index, from)
		if err != nil {
			return err
		}
		return a.runTrial(ctx, t)
	}
	if err := preflight(ls); err != nil {
		return err
	}
	switch {
	case opts.parallel > 1 && len(ls.trials) > 1:
		return a.runTrialsParallel(ctx, ls, opts.parallel)
	}
	return a.runTrials(ctx, ls)
}

// trialIndex returns the trial --index or JOB_COMPLETION_INDEX names and which of them
// named it; -1 when neither is set.
func trialIndex(a *app, opts *sweepRunOptions) (int, string, error) {
	if opts.cmd.Flags().Changed("index") {
		if opts.index < 0 {
			return -1, "", configErrorf("sweep run: --index: want 0 or more, got %d", opts.index)
		}
		return opts.index, "--index", nil
	}
	v := a.getenv(jobIndexEnv)
	if v == "" {
		return -1, "", nil
	}
	i, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || i < 0 {
		return -1, "", configErrorf("sweep run: $%s: want an index >= 0, got %q", jobIndexEnv, v)
	}
	return i, "$" + jobIndexEnv, nil
}

// preflight checks what each trial needs from this machine before the first one starts
// (hours may pass before the last): its bar file, its device and its base or init_from
// checkpoint.
func preflight(ls *loadedSweep) error {
	for _, t := range ls.trials {
		s := t.settings
		if _, err := resolveData(s); err != nil {
			return fmt.Errorf("sweep: trial %s: %w", t.Name, err)
		}
		if _, err := resolveDevice(s); err != nil {
			return fmt.Errorf("sweep: trial %s: %w", t.Name, err)
		}
		for _, c := range []struct{ key, dir string }{{"base", s.Base}, {"init_from", s.InitFrom}} {
			if c.dir != "" && !dirExists(c.dir) {
				return fmt.Errorf("sweep: trial %s: %s %s (from %s): %w: no such checkpoint directory", t.Name, c.key, c.dir, s.source(c.key), policy.ErrCheckpoint)
			}
		}
	}
	return nil
}

func dirExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// runTrials runs every trial in index order in this process. A failed trial does not stop
// the others; Ctrl-C does (the trial running saves interrupted/).
func (a *app) runTrials(ctx context.Context, ls *loadedSweep) error {
	var failed []string
	var first error
	for _, t := range ls.trials {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("sweep: %w", ppo.ErrInterrupted)
		}
		err := a.runTrial(ctx, t)
		switch {
		case err == nil:
			continue
		case errors.Is(err, ppo.ErrInterrupted), errors.Is(err, context.Canceled):
			return err
		}
		fmt.Fprintf(a.stderr, "hybridtrain: %v\n", err)
		failed = append(failed, t.Name)
		if first == nil {
			first = err
		}
	}
	return trialsFailed(len(ls.trials), failed, first)
}

// trialsFailed is the outcome of a sweep whose trials failed: an error naming them that
// wraps the first failure (whose kind picks the exit code); nil when none did.
func trialsFailed(total int, failed []string, first error) error {
	if len(failed) == 0 {
		return nil
	}
	return fmt.Errorf("sweep: %d of %d trials failed (%s); the first: %w", len(failed), total, strings.Join(failed, ", "), first)
}

// runTrial runs one trial to its total_timesteps in its run directory, as train would with
// its configuration: from scratch, or from its newest checkpoint, or not at all when final/
// has them; then writes its final evaluation unless it is there, and prints one line.
func (a *app) runTrial(ctx context.Context, t sweepTrial) error {
	s := t.settings
	step, prog, how, err := continueRun(t.dir, s)
	if err != nil {
		return fmt.Errorf("sweep: trial %s: %w", t.Name, err)
	}
	plan, err := planRun(s)
	if err != nil {
		return fmt.Errorf("sweep: trial %s: %w", t.Name, err)
	}
	final := filepath.Join(t.dir, ppo.FinalDir)
	ev, err := sweep.ReadEvaluation(t.dir)
	evaluated := err == nil && step == sweep.Skip && ev.Timesteps == prog.Final.Timesteps
	if step == sweep.Skip && evaluated {
		fmt.Fprintf(a.stdout, "trial %s: finished at %d timesteps (%s); %s\n", t.Name, prog.Final.Timesteps, how, evaluationLine(ev))
		return nil
	}
	inst, err := s.instrument()
	if err != nil {
		return err
	}
	ds, err := loadData(plan.data, inst, s.Env, a.stderr)
	if err != nil {
		return fmt.Errorf("sweep: trial %s: %w", t.Name, err)
	}
	if step != sweep.Skip {
		fmt.Fprintf(a.stderr, "trial %s: %s\n", t.Name, how)
		if !s.Quiet {
			if err := a.printConfig(s); err != nil {
				return err
			}
		}
		result, err := a.runTrainer(ctx, s, plan, ds)
		if err != nil {
			if errors.Is(err, ppo.ErrInterrupted) && result != nil && result.Interrupted != "" {
				fmt.Fprintf(a.stdout, "trial %s: interrupted at %d timesteps: %s\n", t.Name, result.Timesteps, result.Interrupted)
			}
			return fmt.Errorf("sweep: trial %s: %w", t.Name, err)
		}
		final = result.Final
	}
	if ev, err = a.evaluateTrial(ctx, t, s, plan, ds, final); err != nil {
		return fmt.Errorf("sweep: trial %s: final evaluation: %w", t.Name, err)
	}
	fmt.Fprintf(a.stdout, "trial %s: finished at %d timesteps (%s); %s\n", t.Name, ev.Timesteps, how, evaluationLine(ev))
	return nil
}

// evaluateTrial evaluates the trial's final/ on every validation session and writes the
// evaluation report and eval.json (eval --json's document) into sweep.EvaluationDir, where
// the leaderboard reads them.
func (a *app) evaluateTrial(ctx context.Context, t sweepTrial, s *resolvedConfig, plan runPlan, ds *env.Dataset, final string) (*sweep.Evaluation, error) {
	model, err := ppo.LoadModel(final)
	if err != nil {
		return nil, err
	}
	sessions := splitSessions(ds, s.Env, splitValidation)
	if len(sessions) == 0 {
		return nil, dataErrorf("%s has no validation sessions (%s)", plan.data, splitWords(s.Env))
	}
	opts := &evalOptions{model: final, split: splitValidation, out: sweep.EvaluationDir(t.dir)}
	rep, err := a.evaluateModel(ctx, opts, model, ds, plan.data, sessions, len(sessions), s.Env)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(opts.out, sweep.EvaluationFile)
	if err := atomicfile.WriteFunc(path, atomicfile.Perm, func(w io.Writer) error { return writeJSON(w, rep) }); err != nil {
		return nil, err
	}
	fmt.Fprintln(a.stderr, "wrote", path)
	ev, err := sweep.ReadEvaluation(t.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s was not written where the leaderboard reads it: %w", path, err)
	}
	return ev, err
}

// evaluationLine sums up a trial's final evaluation for its line on stdout.
func evaluationLine(ev *sweep.Evaluation) string {
	pol := ev.Report.Policy
	verdict := "FAIL"
	if pol.Verdict.Passed {
		verdict = "PASS"
	}
	sharpe := "n/a"
	if pol.Metrics.Sharpe.Defined() {
		sharpe = fmt.Sprintf("%.2f", float64(pol.Metrics.Sharpe))
	}
	return fmt.Sprintf("validation: mean reward %.4g over %d sessions, net P&L %.2f, Sharpe %s, max drawdown %.2f, Apex %s",
		ev.MeanReward, ev.Sessions, pol.Metrics.NetPnL, sharpe, pol.Metrics.MaxDrawdown, verdict)
}
