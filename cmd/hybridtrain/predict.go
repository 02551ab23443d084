package main

import (
	"context"
	"slices"
	"strconv"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"hybridtrain/internal/env"
	"hybridtrain/internal/ppo"
)

// predictOptions are predict's inputs. Each mode has its own fields and run function, in
// its own file: --obs (predict_obs.go), --data (predict_data.go), --stream
// (predict_stream.go).
type predictOptions struct {
	flags      *pflag.FlagSet
	model      string // --model: checkpoint directory
	asJSON     bool   // --json
	configFile string // --config (--data, --stream)

	obs   string // --obs FILE: raw observations, one per line
	masks string // --masks FILE: 0/1 masks for --obs's rows

	// --data: the bar files come through the data key's flag, as for eval.
	split string // --split
	out   string // --out FILE: --data's output instead of stdout

	stream bool // --stream: bars on stdin, one JSON line out per bar
}

func newPredictCmd(a *app) *cobra.Command {
	opts := &predictOptions{}
	cmd := &cobra.Command{
		Use:   "predict --model DIR (--obs FILE | --data BARS.csv | --stream)",
		Short: "Run a checkpoint's policy on observations, a bar file or a live stream of bars",
		Long: `Run a checkpoint's policy (Phase 2 or 3, trained here or imported with import
sb3) and print what it decides. One of three inputs:

--obs FILE: one raw (un-normalised) observation per line, the checkpoint's obs_dim
comma-separated numbers (228 in Phase 2, 261 in Phase 3; docs/observation.md), no
header. Each row is normalised with the checkpoint's normaliser exactly as in
training, then run through the policy. --masks FILE gives the legal actions of each
row: as many lines, each 6 comma-separated 0 or 1 (docs/environment.md, "Masks");
without it every action is legal. Per row: logits (raw, before masking), probs (the
masked distribution), value and action (the deterministic one: the argmax of the
masked logits). A table, or with --json {"rows": [{"logits": [...], "probs": [...],
"value": v, "action": a}, ...]}. A row of the wrong length, a value that is not a
finite number or a mask row with no legal action exits 3 naming the file, line and
column.

--data BARS.csv: the policy over every session of the bars (--split: all by
default, or validation or train as in eval), exactly as eval backtests it: the same
features, masks, deterministic actions and one simulated account under the Apex
rules of the plan (--plan), so the same trades as eval's trades.csv. One row per
bar: its time, the decision taken when it closed for the next bar's open (action,
the six probabilities, value; or why none), and the account after it (position,
entry price, stop, target, equity, the trade that closed in it). CSV on stdout or
in --out; --json: {"rows": [...]}.

--stream: bars on stdin as a live feed writes them: a header line, then one bar
per line (the bar-file formats of docs/data.md). Each bar gives one JSON line on
stdout as soon as it is read, with the decision for the next bar's open ("action":
null and a "reason" when there is none: warm-up, before the entry window, session
closed, outside the data session). A bad line gives {"error": "...", "line": N}
and is skipped. End of input exits 0; Ctrl-C or SIGTERM exits 130 after the current
line. Streaming a file gives the rows of --data on it. docs/predict.md has the
protocol, the fields, the warm-up and what the simulated account means live.

--data and --stream take the checkpoint's settings (market, plan, contracts,
costs, data_tz) under the usual layers: --config, environment, --market, --plan.`,
		Example: `  hybridtrain predict --model runs/nq-p2-sb3 --obs obs.csv
  hybridtrain predict --model runs/nq-p3/best --obs obs.csv --masks masks.csv --json
  hybridtrain predict --model runs/nq-p3/best --data data/NQ_2025.csv --out decisions.csv
  tail -n +1 -f live.csv | hybridtrain predict --model runs/nq-p3/best --stream`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.flags = cmd.Flags()
			return runPredict(cmd.Context(), a, opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.model, "model", "", "checkpoint directory (required)")
	f.BoolVar(&opts.asJSON, "json", false, "machine-readable output (--stream always writes JSON lines)")
	f.StringVar(&opts.obs, "obs", "", "file of raw observations, one comma-separated row per line")
	f.StringVar(&opts.masks, "masks", "", "file of action masks for --obs, one row of 0/1 per observation")
	f.StringVar(&opts.split, "split", splitAll, "--data: sessions to run over: all, validation or train")
	f.StringVar(&opts.out, "out", "", "--data: write the rows to this file instead of stdout")
	f.BoolVar(&opts.stream, "stream", false, "read bars from stdin, one per line after a header; one JSON line out per bar")
	f.StringVar(&opts.configFile, "config", "", "config file (YAML) for --data and --stream; default ./hybridtrain.yaml when present")
	addKeyFlags(f, a.configs, noDefaults, "market", "data", "plan")
	f.Lookup("market").Usage = "instrument of the bars (--data, --stream): a built-in symbol (ES, NQ, ...) or one defined under instruments; default the checkpoint's market (key market)"
	return cmd
}

// runPredict checks the flags and runs the mode asked for: usage errors (exit 2) before
// the checkpoint is read (exit 4).
func runPredict(ctx context.Context, a *app, opts *predictOptions) error {
	changed := func(name string) bool { return opts.flags != nil && opts.flags.Changed(name) }
	data := changed("data")
	modes := 0
	for _, on := range []bool{opts.obs != "", data, opts.stream} {
		if on {
			modes++
		}
	}
	switch {
	case modes > 1:
		return configErrorf("predict: --obs, --data and --stream exclude each other: give one")
	case opts.obs == "" && opts.masks != "":
		return configErrorf("predict: --masks goes with --obs")
	case modes == 0:
		return configErrorf("predict: give --obs FILE (raw observations), --data FILE (bars) or --stream (bars on stdin)")
	case !data && (changed("split") || changed("out")):
		return configErrorf("predict: --split and --out go with --data")
	case opts.obs != "" && (changed("market") || changed("plan") || changed("config")):
		return configErrorf("predict: --market, --plan and --config go with --data or --stream (--obs rows are observations already)")
	case !slices.Contains([]string{splitAll, splitValidation, splitTrain}, opts.split):
		return configErrorf("predict: --split: want all, validation or train, got %q", opts.split)
	}
	if err := checkCheckpointDir("--model", opts.model); err != nil {
		return err
	}
	switch {
	case opts.obs != "":
		return runPredictObs(a, opts)
	case data:
		return runPredictData(ctx, a, opts)
	}
	return runPredictStream(ctx, a, opts)
}

// predictSettings loads the checkpoint and resolves the settings --data and --stream run
// under: the checkpoint's configuration under the usual layers, as eval does.
func predictSettings(a *app, opts *predictOptions) (*ppo.Model, *resolvedConfig, env.Instrument, error) {
	model, err := ppo.LoadModel(opts.model)
	if err != nil {
		return nil, nil, env.Instrument{}, err
	}
	res, err := loadSettings(a.configs, configRequest{
		flags: opts.flags, configFile: opts.configFile,
		checkpoint: checkpointLayer(opts.model, model.Meta.Config),
	})
	if err != nil {
		return nil, nil, env.Instrument{}, err
	}
	a.warn(res.warnings)
	s := res.settings
	if s.Market == "" {
		s.Market = model.Meta.Market // a checkpoint whose metadata has no configuration
	}
	inst, err := s.instrument()
	if err != nil {
		return nil, nil, env.Instrument{}, err
	}
	return model, s, inst, nil
}

// actionName names action j of a policy of nA actions: the environment's names for its
// own action space, else the index.
func actionName(j, nA int) string {
	if nA == env.NumActions {
		return env.Action(j).String()
	}
	return strconv.Itoa(j)
}
