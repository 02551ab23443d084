package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"hybridtrain/internal/env"
	"hybridtrain/internal/ppo"
)

// testKeyFlags are the configuration keys `test` has flags for: the flags of train that
// apply to a from-scratch Phase 3 run in test mode.
var testKeyFlags = []string{"market", "data", "device", "total_timesteps", "n_envs", "seed", "out", "plan", "quiet"}

// testMarket is the market of `test` unless --market (or a layer) says otherwise.
const testMarket = "NQ"

type testOptions struct {
	runFlags
	flags *pflag.FlagSet
}

func newTestCmd(a *app) *cobra.Command {
	opts := &testOptions{}
	cmd := &cobra.Command{
		Use:   "test",
		Short: "Run the smoke pipeline: test-mode training, evaluation and checks (what CI runs)",
		Long: `Run the smoke pipeline: train Phase 3 from scratch in test mode (configs/test.yaml:
50,000 timesteps, 2 envs, ...), then check the run and print one line per check
on stdout, "PASS <name>: <detail>" or "FAIL <name>: <detail>":

  finished   training reached total_timesteps and wrote final/
  finite     training did not stop on a NaN or Inf, and none is in the metrics
             (as reported and in metrics.jsonl), the evaluations or final/
  masks      no masked action was taken in training or in evaluation
  adapter    adapter statistics, all finite, in every rollout (as reported
             and in metrics.jsonl)
  roundtrip  final/ loads and gives the trained policy's deterministic actions
             on the first 256 validation observations (and reproduces the last
             training-time evaluation exactly)
  eval       at least one evaluation ran on the validation split

Market NQ; data/NQ_D1M.csv if present, else the built-in synthetic bars. It
never prompts, ignores ./hybridtrain.yaml unless --config names a file, and runs
in a temporary directory that is removed when every check passes (kept, and its
path printed, when one fails); with --out the run directory is kept. Exit 0 when
every check passes, 1 when one fails.`,
		Example: "  hybridtrain test --non-interactive",
		Args:    usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.flags = cmd.Flags()
			return runTest(cmd.Context(), a, opts)
		},
	}
	opts.addFlags(cmd.Flags(), false)
	addKeyFlags(cmd.Flags(), a.configs, testDefaults, testKeyFlags...)
	// The key's own help describes train's default (a new directory under runs/); test's
	// default is a temporary directory instead (testRunDir).
	cmd.Flags().Lookup("out").Usage = "run directory, kept; empty means a temporary directory, removed when every check passes (key out)"
	return cmd
}

func runTest(ctx context.Context, a *app, opts *testOptions) error {
	res, err := loadSettings(a.configs, configRequest{
		flags: opts.flags, configFile: opts.configFile, testMode: true, ignoreLocal: true,
	})
	if err != nil {
		return err
	}
	a.warn(res.warnings)
	s := res.settings
	if s.Market == "" {
		s.Market = testMarket
	}
	// The smoke pipeline is always Phase 3 from scratch.
	for _, c := range []struct {
		key string
		set bool
	}{{"phase", s.Phase != 3}, {"base", s.Base != ""}, {"init_from", s.InitFrom != ""}, {"resume", s.Resume != ""}} {
		if c.set {
			fmt.Fprintf(a.stderr, "test: ignoring %s (from %s): the smoke pipeline trains Phase 3 from scratch\n", c.key, s.source(c.key))
		}
	}
	s.Phase, s.Base, s.InitFrom, s.Resume = 3, "", "", ""
	s.Policy.ObsDim = env.ObsDim
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
	if err := ctx.Err(); err != nil {
		return err // Ctrl-C while the bars loaded: exit 130 before any run directory
	}
	runDir, cleanup, err := testRunDir(s)
	if err != nil {
		return err
	}
	if !s.Quiet {
		if err := a.printConfig(s); err != nil {
			return err
		}
	}
	cfgYAML, err := renderConfig(s, renderOptions{})
	if err != nil {
		return err
	}
	seen := &smokeRecorder{next: a.newRecorder(s.Quiet)}
	setup := ppo.Setup{
		Phase: 3, Market: s.Market, Dataset: ds, Env: s.Env, Policy: s.Policy, PPO: s.PPO,
		Device: plan.device, RunDir: runDir, ConfigYAML: cfgYAML, Config: configValues(s),
		ToolVersion: toolVersion(), Now: a.now,
	}
	fmt.Fprintf(a.stderr, "test: run directory %s\n", runDir)
	result, trainErr := a.train(ctx, setup, seen)
	seen.next.Close()
	if errors.Is(trainErr, ppo.ErrInterrupted) || ctx.Err() != nil {
		return errors.Join(trainErr, ctx.Err())
	}
	run := &smokeRun{settings: s, dataset: ds, result: result, trainErr: trainErr, seen: seen}
	failed := 0
	for _, c := range a.checks {
		detail, err := c.run(ctx, run)
		if err != nil {
			failed++
			fmt.Fprintf(a.stdout, "FAIL %s: %v\n", c.name, err)
			continue
		}
		fmt.Fprintf(a.stdout, "PASS %s: %s\n", c.name, detail)
	}
	if failed > 0 {
		fmt.Fprintf(a.stderr, "test: run directory kept for inspection: %s\n", runDir)
		return fmt.Errorf("%w: %d of %d failed", errChecksFailed, failed, len(a.checks))
	}
	cleanup()
	fmt.Fprintf(a.stderr, "test: all %d checks passed\n", len(a.checks))
	return nil
}

// testRunDir returns --out (checked, kept) or a new temporary directory and the function
// that removes it.
func testRunDir(s *resolvedConfig) (string, func(), error) {
	if s.Out != "" {
		if err := ppo.CheckOutDir(s.Out); err != nil {
			return "", nil, err
		}
		return s.Out, func() {}, nil
	}
	dir, err := os.MkdirTemp("", "hybridtrain-test-*")
	if err != nil {
		return "", nil, fmt.Errorf("test: run directory: %w", err)
	}
	return dir, func() { os.RemoveAll(dir) }, nil
}
