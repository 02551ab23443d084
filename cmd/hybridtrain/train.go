package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"hybridtrain/internal/device"
	"hybridtrain/internal/env"
	"hybridtrain/internal/policy"
	"hybridtrain/internal/ppo"
)

// trainKeyFlags are the configuration keys train has flags for (spec cli.md).
var trainKeyFlags = []string{"market", "data", "phase", "base", "init_from", "device", "total_timesteps", "n_envs", "seed", "out", "resume", "plan",
	"first_session", "last_session", "quiet"}

// runsDir holds the run directories train creates when --out is not given.
const runsDir = "runs"

type trainOptions struct {
	runFlags
	flags *pflag.FlagSet
}

func newTrainCmd(a *app) *cobra.Command {
	opts := &trainOptions{}
	cmd := &cobra.Command{
		Use:   "train",
		Short: "Train a policy (Phase 3 by default) and write a run directory",
		Long: `Train a policy with maskable PPO and write a run directory: config.yaml,
metrics.jsonl, tb/ (TensorBoard event files; key tensorboard), checkpoints/ts-<timesteps>/,
best/, final/ (interrupted/ on Ctrl-C), and curves.png when it ends (see plot).

The bars are --data, else data/<MARKET>_D1M.csv, else built-in synthetic bars.
--market is required; on a terminal (stdin and stderr, no --non-interactive, CI
unset) it is asked for, and the resolved run is shown for confirmation.
--timesteps sets the key total_timesteps. Ctrl-C finishes the current update, saves
interrupted/ and exits 130; a second Ctrl-C exits 130 at once.

Three ways to start from a checkpoint: --resume continues the same run exactly;
--base transfers a Phase 2 checkpoint into a new Phase 3 network; --init-from
starts a new run (fine-tuning) from a checkpoint of the run's phase and
architecture: its weights and normalisers, a fresh optimizer, counters and
schedule, and this run's data and settings (docs/training.md).`,
		Example: `  hybridtrain train --market NQ --test --non-interactive
  hybridtrain train --market NQ --data bars/nq.csv --timesteps 2e6
  hybridtrain train --market NQ --phase 2 --out runs/nq-p2
  hybridtrain train --market NQ --base runs/nq-p2/final
  hybridtrain train --market NQ --init-from runs/nq-p3/final --data data/NQ_new.csv
  hybridtrain train --resume runs/nq-p3/interrupted`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.flags = cmd.Flags()
			return runTrain(cmd.Context(), a, opts)
		},
	}
	opts.addFlags(cmd.Flags(), true)
	addKeyFlags(cmd.Flags(), a.configs, phaseDefaults, trainKeyFlags...)
	return cmd
}

// runTrain resolves the configuration, the market, the data and the device, confirms on a
// terminal, and trains.
func runTrain(ctx context.Context, a *app, opts *trainOptions) error {
	// A resumed run reads its own config.yaml unless --config says otherwise.
	req := configRequest{flags: opts.flags, configFile: opts.configFile, testMode: opts.test, runConfigOf: runConfigFile}
	res, err := loadSettings(a.configs, req)
	if err != nil {
		return err
	}
	s := res.settings
	a.warn(res.warnings)
	if err := checkResume(s, res.configFile); err != nil {
		return err
	}
	interactive := a.interactive(opts.nonInteractive)
	if s.Market == "" {
		if !interactive {
			return configErrorf("train: --market is required (not interactive, so not asked): give --market SYM, one of %s", strings.Join(s.knownMarkets(), ", "))
		}
		if err := a.askMarket(ctx, s); err != nil {
			return err
		}
	}
	plan, err := planRun(s)
	if err != nil {
		return err
	}
	if !s.Quiet {
		if err := a.printConfig(s); err != nil {
			return err
		}
	}
	if interactive {
		if err := a.confirm(ctx, s, plan); err != nil {
			return err
		}
	}
	return a.trainRun(ctx, s, plan)
}

// checkResume checks --resume before anything is asked: a missing checkpoint is exit 4
// (not a missing --market, which a resumed run takes from its run's config.yaml), and so is
// a checkpoint outside a run directory when nothing else names the market. configFile is
// the config file --config or the resumed run named (resolved.configFile; "" when none).
func checkResume(s *resolvedConfig, configFile string) error {
	if s.Resume == "" {
		return nil
	}
	if src := s.source("init_from"); s.InitFrom != "" && (strings.HasPrefix(src, "--") || strings.HasPrefix(src, "$")) {
		// A file may carry the key (the run's own config.yaml does): the run was started
		// from it. Asked for now, it would change nothing, and config.yaml would say it did.
		return configErrorf("train: init_from (from %s): a resumed run continues from its own checkpoint and never reads init_from; drop it", src)
	}
	if st, err := os.Stat(s.Resume); err != nil || !st.IsDir() {
		return fmt.Errorf("train: resume %s (from %s): %w: no such checkpoint directory", s.Resume, s.source("resume"), policy.ErrCheckpoint)
	}
	if configFile == "" && s.Market == "" {
		return fmt.Errorf("train: resume %s (from %s): %w: its run directory %s has no config.yaml; resume a checkpoint of a run (its best/, final/, interrupted/ or checkpoints/ts-*/), or give --config and --market",
			s.Resume, s.source("resume"), policy.ErrCheckpoint, ppo.RunDirOf(s.Resume))
	}
	return nil
}

// runPlan is a resolved run, as confirmed on a terminal.
type runPlan struct {
	data   dataSource
	device device.Device
}

// planRun resolves what train needs before it starts: the instrument, the data file, the
// device, and consistency of phase, base and resume.
func planRun(s *resolvedConfig) (runPlan, error) {
	if _, err := s.instrument(); err != nil {
		return runPlan{}, err
	}
	if s.Phase == 2 && s.Base != "" {
		return runPlan{}, configErrorf("train: base (from %s): only Phase 3 transfers a Phase 2 checkpoint; drop --base or use --phase 3", s.source("base"))
	}
	if s.Base != "" && s.InitFrom != "" {
		return runPlan{}, configErrorf("train: init_from (from %s) and base (from %s): a run starts from one checkpoint: --init-from fine-tunes a checkpoint's own network, --base transfers a Phase 2 one into a new Phase 3 network",
			s.source("init_from"), s.source("base"))
	}
	for _, c := range []struct{ key, dir string }{{"base", s.Base}, {"init_from", s.InitFrom}, {"resume", s.Resume}} {
		if c.dir == "" || c.key != "resume" && s.Resume != "" {
			continue // a resumed run reads neither its base nor init_from again (its config.yaml names them)
		}
		if st, err := os.Stat(c.dir); err != nil || !st.IsDir() {
			return runPlan{}, fmt.Errorf("train: %s %s (from %s): %w: no such checkpoint directory", c.key, c.dir, s.source(c.key), policy.ErrCheckpoint)
		}
	}
	if s.Resume != "" && s.Out != "" {
		return runPlan{}, configErrorf("train: out (from %s): a resumed run continues in its own run directory; drop --out", s.source("out"))
	}
	if s.Out != "" {
		// An existing --out is checked now, before the run is shown for confirmation; a
		// missing one is created only when training starts (trainRun checks again).
		if _, err := os.Lstat(s.Out); err == nil {
			if err := ppo.CheckOutDir(s.Out); err != nil {
				return runPlan{}, err
			}
		}
	}
	data, err := resolveData(s)
	if err != nil {
		return runPlan{}, err
	}
	if len(s.Data) == 0 && !data.synthetic {
		// Record the file the default picked, so config.yaml and metadata name it.
		s.Data = data.paths
		s.sources["data"] = "the default for market " + s.Market
	}
	dev, err := resolveDevice(s)
	if err != nil {
		return runPlan{}, err
	}
	return runPlan{data: data, device: dev}, nil
}

// trainRun loads the data, prepares the run directory and runs the trainer, printing the
// outcome on stdout.
func (a *app) trainRun(ctx context.Context, s *resolvedConfig, plan runPlan) error {
	inst, err := s.instrument()
	if err != nil {
		return err
	}
	ds, err := loadData(plan.data, inst, s.Env, a.stderr)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err // Ctrl-C while the bars loaded: nothing to save, no run directory (exit 130)
	}
	result, err := a.runTrainer(ctx, s, plan, ds)
	a.drawTrainCurves(result, err)
	if err != nil {
		if errors.Is(err, ppo.ErrInterrupted) && result != nil && result.Interrupted != "" {
			fmt.Fprintf(a.stdout, "interrupted: %s (timesteps %d)\n", result.Interrupted, result.Timesteps)
			fmt.Fprintf(a.stderr, "resume with: hybridtrain train --resume %s\n", result.Interrupted)
		}
		return err
	}
	printSummary(a, result)
	return nil
}

// runTrainer prepares the run directory (s.Out, a new one under runs/, or the resumed
// checkpoint's) and runs the trainer on ds with progress on stderr: what train and each
// trial of a sweep do alike.
func (a *app) runTrainer(ctx context.Context, s *resolvedConfig, plan runPlan, ds *env.Dataset) (result *ppo.Result, err error) {
	runDir, created := "", false
	switch {
	case s.Resume != "":
		// The trainer continues in the checkpoint's run directory.
	case s.Out != "":
		_, statErr := os.Lstat(s.Out)
		if err := ppo.CheckOutDir(s.Out); err != nil {
			return nil, err
		}
		runDir, created = s.Out, statErr != nil
	default:
		if runDir, err = ppo.NewRunDir(runsDir, fmt.Sprintf("phase%d", s.Phase), s.Market, a.now()); err != nil {
			return nil, err
		}
		created = true
	}
	defer func() {
		if err != nil && created {
			// A run refused before it wrote anything leaves no empty directory behind
			// (os.Remove removes only an empty one).
			_ = os.Remove(runDir)
		}
	}()
	cfgYAML, err := renderConfig(s, renderOptions{})
	if err != nil {
		return nil, err
	}
	setup := ppo.Setup{
		Phase: s.Phase, Market: s.Market, Dataset: ds, Env: s.Env, Policy: s.Policy, PPO: s.PPO,
		Device: plan.device, BaseDir: s.Base, InitFrom: s.InitFrom, ResumeDir: s.Resume, RunDir: runDir,
		ConfigYAML: cfgYAML, Config: configValues(s), ConfigKeys: resumeKeys, ToolVersion: toolVersion(), Now: a.now,
	}
	if runDir != "" {
		fmt.Fprintf(a.stderr, "run directory: %s\n", runDir)
	}
	rec := a.newRecorder(s.Quiet)
	noticed := make(chan struct{})
	stopNotice := context.AfterFunc(ctx, func() {
		defer close(noticed)
		fmt.Fprintln(a.stderr, "\ninterrupt: finishing the current update, then saving interrupted/ (Ctrl-C again exits at once without saving)")
	})
	defer func() {
		if !stopNotice() {
			<-noticed // the notice is being written (stderr is locked): let it finish first
		}
	}()
	result, err = a.train(ctx, setup, rec)
	rec.Close()
	return result, err
}

// printSummary writes the outcome of a training run on stdout.
func printSummary(a *app, r *ppo.Result) {
	w := newTable(a.stdout)
	w.row("run", r.RunDir)
	w.row("timesteps", fmt.Sprint(r.Timesteps))
	w.row("final", orNone(r.Final))
	best := orNone(r.Best)
	if r.Best != "" && r.LastEval != nil {
		best += fmt.Sprintf(" (%d evaluations)", r.Evals)
	}
	w.row("best", best)
	if r.LastEval != nil {
		e := r.LastEval
		w.row("last eval", fmt.Sprintf("mean reward %.4g +- %.4g, mean P&L %.2f, %d trades, win rate %.1f%%, masked actions %d",
			e.MeanReward, e.StdReward, e.MeanPnL, e.Trades, 100*e.WinRate, e.MaskedActions))
	}
	w.flush()
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// runConfigFile returns the config.yaml of the run a checkpoint directory belongs to, ""
// when there is none.
func runConfigFile(checkpoint string) string {
	p := filepath.Join(ppo.RunDirOf(checkpoint), ppo.ConfigFile)
	if !fileExists(p) {
		return ""
	}
	return p
}

// askMarket lists the markets with data files plus "synthetic" and asks; synthetic then
// asks which instrument the synthetic bars are for.
func (a *app) askMarket(ctx context.Context, s *resolvedConfig) error {
	known := s.knownMarkets()
	withData := marketsWithData(known)
	if len(withData) == 0 {
		i, err := a.prompt.Choose(ctx, fmt.Sprintf("market to train on (no %s files here: built-in synthetic bars):", defaultDataPath("<SYM>")), known)
		if err != nil {
			return fmt.Errorf("train: market: %w", err)
		}
		s.Market, s.sources["market"] = known[i], "prompt"
		return nil
	}
	options := make([]string, 0, len(withData)+1)
	for _, sym := range withData {
		options = append(options, fmt.Sprintf("%s (%s)", sym, defaultDataPath(sym)))
	}
	options = append(options, "synthetic (built-in synthetic bars)")
	i, err := a.prompt.Choose(ctx, "market to train on:", options)
	if err != nil {
		return fmt.Errorf("train: market: %w", err)
	}
	if i < len(withData) {
		s.Market, s.sources["market"] = withData[i], "prompt"
		return nil
	}
	j, err := a.prompt.Choose(ctx, "instrument for the synthetic bars:", known)
	if err != nil {
		return fmt.Errorf("train: market: %w", err)
	}
	s.Market = known[j]
	s.sources["market"] = "prompt"
	s.synthetic = true // even if the market has a data file
	return nil
}

// confirm shows the resolved run and asks to go on; declining is errAborted (exit 1).
func (a *app) confirm(ctx context.Context, s *resolvedConfig, plan runPlan) error {
	base := "none (from scratch)"
	if s.Base != "" {
		base = s.Base
	}
	if s.InitFrom != "" {
		base = "fine-tune " + s.InitFrom
	}
	if s.Resume != "" {
		base = "resume " + s.Resume
	}
	fmt.Fprintf(a.stderr, "\nmarket     %s\ndata       %s\ndevice     %s\nphase      %d\nbase       %s\ntimesteps  %d\n\n",
		s.Market, plan.data, plan.device, s.Phase, base, s.PPO.TotalTimesteps)
	ok, err := a.prompt.Confirm(ctx, "start training?")
	if err != nil {
		return fmt.Errorf("train: confirm: %w", err)
	}
	if !ok {
		return errAborted
	}
	return nil
}
