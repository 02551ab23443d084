package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"hybridtrain/internal/env"
	"hybridtrain/internal/ppo"
	"hybridtrain/internal/report"
)

// Splits eval can run on.
const (
	splitValidation = "validation"
	splitTrain      = "train"
	splitAll        = "all"
)

// evalOptions are eval's inputs. The evaluation report of issue 6 extends this struct (and
// evalReport) with its own fields.
type evalOptions struct {
	runFlags
	flags    *pflag.FlagSet
	model    string // --model: checkpoint directory
	split    string // --split
	episodes int    // --episodes; 0 = every session of the split
	asJSON   bool
	out      string   // --out: the report's directory; "" = defaultReportDir
	compare  []string // --compare: checkpoints to backtest beside the model

	// contenders are the --compare checkpoints, loaded before anything runs.
	contenders []report.Contender
}

func newEvalCmd(a *app) *cobra.Command {
	opts := &evalOptions{}
	cmd := &cobra.Command{
		Use:   "eval --model DIR",
		Short: "Evaluate a checkpoint on a split or a data file and print its metrics",
		Long: `Evaluate a checkpoint: deterministic, masked actions with its frozen normaliser,
one session per episode, raw reward. Prints mean and std reward, P&L, trades, win
rate, max drawdown and masked actions taken (a table, or --json).

The settings are the checkpoint's own (its resolved configuration) under the usual
layers (config file, environment, flags); the data is --data, else the file the
model trained on, else data/<MARKET>_D1M.csv, else the built-in synthetic bars.
--split picks the sessions: validation (default) or train, the checkpoint's own
split (its sessions from first_session to last_session, cut by train_fraction),
or all, every session of the bars.

It also writes the evaluation report (docs/report.md): the checkpoint backtested
over the sessions as one continuous account under the Apex rules of --plan,
beside the flat, random and buy-and-hold baselines: report.json, report.md,
trades.csv, equity.csv and equity.png. The report's summary follows the table on
stdout (--json: the report under "report"); the paths go to stderr. --episodes N
limits the report to the first N sessions too.

--compare CKPT... backtests other checkpoints (a Phase 2 base, last week's
model) on the same sessions under the same rules: a column each in the report's
tables, a curve each in equity.png, and whether the model beats each one, by how
much, with a paired bootstrap confidence interval on the daily P&L difference.

The report goes into --out, by default <run>/reports/<checkpoint>-<split>/ when
the checkpoint is in a run directory (one with config.yaml): training never
deletes anything there, as it does best/ and old checkpoints. Elsewhere the
default is ./reports/<checkpoint>-<split>/. <checkpoint> is the model
directory's name (best, final, ts-000100000, ...); with --data the file's name
follows it: --model runs/x/final --data NQ_2025.csv --split all writes
runs/x/reports/final-NQ_2025-all/.`,
		Example: `  hybridtrain eval --model runs/phase3-NQ-20250101T000000Z/best
  hybridtrain eval --model runs/x/final --data data/NQ_2025.csv --split all --json
  hybridtrain eval --model runs/x/best --plan 100k --out reports/x-100k
  hybridtrain eval --model runs/nq-p3/final --compare runs/nq-p2/final`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.flags = cmd.Flags()
			return runEval(cmd.Context(), a, opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.model, "model", "", "checkpoint directory (required)")
	f.StringVar(&opts.split, "split", splitValidation, "sessions to evaluate: validation, train or all")
	f.IntVar(&opts.episodes, "episodes", 0, "episodes (sessions, in order); 0 = every session of the split")
	f.BoolVar(&opts.asJSON, "json", false, "machine-readable output")
	f.StringVar(&opts.out, "out", "", "report directory (default <run>/reports/<checkpoint>-<split>, ./reports/... outside a run)")
	f.StringSliceVar(&opts.compare, "compare", nil, "checkpoints to backtest beside the model and judge it against (repeat the flag or separate with commas)")
	opts.addFlags(f, false)
	addKeyFlags(f, a.configs, noDefaults, "market", "data", "plan")
	// The key's own help is train's ("instrument to train on"); eval's --market overrides
	// the market the checkpoint recorded.
	f.Lookup("market").Usage = "instrument to evaluate on: a built-in symbol (ES, NQ, ...) or one defined under instruments; upper-cased; default the checkpoint's market (key market)"
	return cmd
}

// evalReport is eval's output (--json as is).
type evalReport struct {
	Model     string `json:"model"`
	Market    string `json:"market"`
	Phase     int    `json:"phase"`
	Timesteps int64  `json:"timesteps"`
	Data      string `json:"data"`
	Split     string `json:"split"`
	Sessions  int    `json:"sessions"`

	Episodes      int     `json:"episodes"`
	MeanReward    float64 `json:"mean_reward"`
	StdReward     float64 `json:"std_reward"`
	MeanLength    float64 `json:"mean_ep_length"`
	MeanPnL       float64 `json:"mean_pnl"`
	Trades        int     `json:"trades"`
	WinRate       float64 `json:"win_rate"`
	MaxDrawdown   float64 `json:"max_drawdown"`
	MaskedActions int64   `json:"masked_actions"`

	// The evaluation report (issue 6): its directory and its report.json document.
	ReportDir string         `json:"report_dir"`
	Report    *report.Report `json:"report"`
}

func runEval(ctx context.Context, a *app, opts *evalOptions) error {
	if !slices.Contains([]string{splitValidation, splitTrain, splitAll}, opts.split) {
		return configErrorf("eval: --split: want validation, train or all, got %q", opts.split)
	}
	if opts.episodes < 0 {
		return configErrorf("eval: --episodes: want an integer >= 0, got %d", opts.episodes)
	}
	if err := checkCheckpointDir("--model", opts.model); err != nil {
		return err
	}
	model, err := ppo.LoadModel(opts.model)
	if err != nil {
		return err
	}
	if opts.contenders, err = loadContenders(opts.compare); err != nil {
		return err
	}
	res, err := loadSettings(a.configs, configRequest{
		flags: opts.flags, configFile: opts.configFile,
		checkpoint: checkpointLayer(opts.model, model.Meta.Config),
	})
	if err != nil {
		return err
	}
	a.warn(res.warnings)
	s := res.settings
	if s.Market == "" {
		s.Market = model.Meta.Market // a checkpoint whose metadata has no configuration
	}
	inst, err := s.instrument()
	if err != nil {
		return err
	}
	src, ds, sessions, err := loadSplit(s, inst, opts.split, "eval", a.stderr)
	if err != nil {
		return err
	}
	episodes := opts.episodes
	if episodes == 0 {
		episodes = len(sessions)
	}
	rep, err := a.evaluateModel(ctx, opts, model, ds, src, sessions, episodes, s.Env)
	if err != nil {
		return err
	}
	if opts.asJSON {
		return writeJSON(a.stdout, rep)
	}
	printEvalReport(a, *rep)
	fmt.Fprintln(a.stdout)
	return rep.Report.WriteSummary(a.stdout)
}

// evaluateModel evaluates model on the first episodes of sessions and writes the
// evaluation report over them: eval's work once the checkpoint, the settings and the bars
// are resolved, and a sweep trial's final evaluation.
func (a *app) evaluateModel(ctx context.Context, opts *evalOptions, model *ppo.Model, ds *env.Dataset, src dataSource,
	sessions []int, episodes int, ec env.Config) (*evalReport, error) {
	m, err := ppo.Evaluate(ctx, model, ds, sessions, ec, episodes)
	if err != nil {
		return nil, fmt.Errorf("eval: %w", err)
	}
	rep := &evalReport{
		Model: opts.model, Market: ds.Instrument.Symbol, Phase: model.Meta.Phase, Timesteps: model.Meta.Timesteps,
		Data: src.String(), Split: opts.split, Sessions: len(sessions),
		Episodes: m.Episodes, MeanReward: m.MeanReward, StdReward: m.StdReward, MeanLength: m.MeanLength,
		MeanPnL: m.MeanPnL, Trades: m.Trades, WinRate: m.WinRate, MaxDrawdown: m.MaxDrawdown, MaskedActions: m.MaskedActions,
	}
	if rep.Report, rep.ReportDir, err = writeEvalReport(ctx, a, opts, model, ds, sessions[:min(episodes, len(sessions))], ec, src); err != nil {
		return nil, err
	}
	return rep, nil
}

// writeEvalReport builds the evaluation report of model over sessions and writes its files
// into --out (default: defaultReportDir), printing their paths on stderr.
func writeEvalReport(ctx context.Context, a *app, opts *evalOptions, model *ppo.Model, ds *env.Dataset,
	sessions []int, ec env.Config, src dataSource) (*report.Report, string, error) {
	dir := opts.out
	if dir == "" {
		stem := ""
		if opts.flags != nil && opts.flags.Changed("data") {
			stem = src.stem()
		}
		dir = defaultReportDir(opts.model, stem, opts.split)
	}
	r, err := report.Build(ctx, report.Input{
		Dataset: ds, Sessions: sessions, Env: ec, Actor: model, Split: opts.split,
		Model: modelInfo(opts.model, model), Compare: opts.contenders,
	}, report.DefaultConfig())
	if err != nil {
		return nil, "", fmt.Errorf("eval: %w", err)
	}
	files, err := r.WriteFiles(dir)
	if err != nil {
		return nil, "", fmt.Errorf("eval: --out %s: %w", dir, err)
	}
	for _, p := range files.List() {
		fmt.Fprintln(a.stderr, "wrote", p)
	}
	return r, dir, nil
}

// modelInfo identifies the checkpoint in dir, loaded as model, in a report.
func modelInfo(dir string, model *ppo.Model) report.ModelInfo {
	return report.ModelInfo{
		Dir: dir, Phase: model.Meta.Phase, Market: model.Meta.Market, Timesteps: model.Meta.Timesteps,
		Seed: model.Meta.Seed, ObsDim: model.ObsDim(), ToolVersion: model.Meta.ToolVersion,
	}
}

// loadContenders loads the checkpoints of --compare; each must be a readable checkpoint
// (exit 4 naming it otherwise). Each acts with its own normaliser on observations of its
// own size, so a Phase 2 base compares with a Phase 3 model.
func loadContenders(dirs []string) ([]report.Contender, error) {
	var out []report.Contender
	for _, dir := range dirs {
		if err := checkCheckpointDir("--compare", dir); err != nil {
			return nil, err
		}
		m, err := ppo.LoadModel(dir)
		if err != nil {
			return nil, fmt.Errorf("eval: --compare %s: %w", dir, err)
		}
		out = append(out, report.Contender{Actor: m, Model: modelInfo(dir, m)})
	}
	return out, nil
}

// defaultReportDir is where eval writes the report of the checkpoint model without --out:
// <run>/reports/<checkpoint>[-<data stem>]-<split> when model is a checkpoint of a run
// directory (one with config.yaml), else reports/<checkpoint>[-<data stem>]-<split> under
// the working directory. Not inside the checkpoint: training replaces best/ as a whole and
// deletes old periodic checkpoints, and a report there would go with them; training never
// touches <run>/reports.
func defaultReportDir(model, dataStem, split string) string {
	ckpt := filepath.Clean(model)
	if b := filepath.Base(ckpt); b == "." || b == ".." {
		// The checkpoint is the working directory (or its parent): its name is in the
		// absolute path only.
		if abs, err := filepath.Abs(ckpt); err == nil {
			ckpt = abs
		}
	}
	name := filepath.Base(ckpt)
	if dataStem != "" {
		name += "-" + dataStem
	}
	name += "-" + split
	if run := ppo.RunDirOf(ckpt); fileExists(filepath.Join(run, ppo.ConfigFile)) {
		return filepath.Join(run, ppo.ReportsDir, name)
	}
	return filepath.Join(ppo.ReportsDir, name)
}

func printEvalReport(a *app, r evalReport) {
	t := newTable(a.stdout)
	t.row("model", r.Model)
	t.row("market", fmt.Sprintf("%s (phase %d, %d timesteps)", r.Market, r.Phase, r.Timesteps))
	t.row("data", r.Data)
	t.row("split", fmt.Sprintf("%s (%s)", r.Split, plural(r.Sessions, "session", "sessions")))
	t.row("episodes", fmt.Sprint(r.Episodes))
	t.row("mean reward", fmt.Sprintf("%.4f", r.MeanReward))
	t.row("std reward", fmt.Sprintf("%.4f", r.StdReward))
	t.row("mean length", fmt.Sprintf("%.1f", r.MeanLength))
	t.row("mean P&L", fmt.Sprintf("%.2f", r.MeanPnL))
	t.row("trades", fmt.Sprint(r.Trades))
	t.row("win rate", fmt.Sprintf("%.1f%%", 100*r.WinRate))
	t.row("max drawdown", fmt.Sprintf("%.2f", r.MaxDrawdown))
	t.row("masked actions", fmt.Sprint(r.MaskedActions))
	t.flush()
}

// loadSplit loads the bars s names and returns the sessions of split; a split without
// sessions is a data error (exit 3) naming the bars and how they were split.
func loadSplit(s *resolvedConfig, inst env.Instrument, split, cmd string, stderr io.Writer) (dataSource, *env.Dataset, []int, error) {
	src, err := resolveData(s)
	if err != nil {
		return dataSource{}, nil, nil, err
	}
	ds, err := loadData(src, inst, s.Env, stderr)
	if err != nil {
		return dataSource{}, nil, nil, err
	}
	sessions := splitSessions(ds, s.Env, split)
	if len(sessions) == 0 {
		return dataSource{}, nil, nil, dataErrorf("%s: %s has no %s sessions (%s)", cmd, src, split, splitWords(s.Env))
	}
	return src, ds, sessions, nil
}

// splitSessions returns the sessions of a split, in time order: train and validation are
// the run's (the sessions from first_session to last_session, split by train_fraction:
// env.Dataset.Split), all is every session of the bars.
func splitSessions(ds *env.Dataset, ec env.Config, split string) []int {
	if split == splitAll {
		return ds.SessionRange("", "")
	}
	train, val := ds.Split(ec)
	if split == splitTrain {
		return train
	}
	return val
}

// splitWords describes how the sessions were split, for messages.
func splitWords(ec env.Config) string {
	s := fmt.Sprintf("train_fraction %g", ec.TrainFraction)
	if ec.FirstSession != "" || ec.LastSession != "" {
		s += fmt.Sprintf(" of the sessions from %s to %s", orOpen(ec.FirstSession), orOpen(ec.LastSession))
	}
	return s
}

// orOpen names an open end of a session range.
func orOpen(date string) string {
	if date == "" {
		return "(open)"
	}
	return date
}
