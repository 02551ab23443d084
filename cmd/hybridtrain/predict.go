package main

import (
	"strconv"

	"github.com/spf13/cobra"

	"hybridtrain/internal/env"
)

// predictOptions are predict's inputs. Each mode has its own fields and run function
// (predict_obs.go for --obs); a mode over bar files or a live stream (issue 14) adds its
// flags here and a case to run.
type predictOptions struct {
	model  string // --model: checkpoint directory
	asJSON bool   // --json

	obs   string // --obs FILE: raw observations, one per line
	masks string // --masks FILE: 0/1 masks for --obs's rows
}

func newPredictCmd(a *app) *cobra.Command {
	opts := &predictOptions{}
	cmd := &cobra.Command{
		Use:   "predict --model DIR --obs FILE",
		Short: "Run a checkpoint's policy on observations: logits, probabilities, value, action",
		Long: `Run a checkpoint's policy (Phase 2 or 3, trained here or imported with import
sb3) and print what it decides.

--obs FILE: one raw (un-normalised) observation per line, the checkpoint's obs_dim
comma-separated numbers (228 in Phase 2, 261 in Phase 3; docs/observation.md), no
header. Each row is normalised with the checkpoint's normaliser exactly as in
training, then run through the policy. --masks FILE gives the legal actions of each
row: as many lines, each 6 comma-separated 0 or 1 (docs/environment.md, "Masks");
without it every action is legal.

Per row: logits (raw, before masking), probs (the masked distribution), value and
action (the deterministic one: the argmax of the masked logits). A table, or with
--json {"rows": [{"logits": [...], "probs": [...], "value": v, "action": a}, ...]}.
A row of the wrong length, a value that is not a finite number or a mask row with no
legal action exits 3 naming the file, line and column.`,
		Example: `  hybridtrain predict --model runs/nq-p2-sb3 --obs obs.csv
  hybridtrain predict --model runs/nq-p3/best --obs obs.csv --masks masks.csv --json`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(_ *cobra.Command, _ []string) error {
			return runPredict(a, opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.model, "model", "", "checkpoint directory (required)")
	f.BoolVar(&opts.asJSON, "json", false, "machine-readable output")
	f.StringVar(&opts.obs, "obs", "", "file of raw observations, one comma-separated row per line")
	f.StringVar(&opts.masks, "masks", "", "file of action masks for --obs, one row of 0/1 per observation")
	return cmd
}

// runPredict checks the flags common to every mode and runs the one asked for: usage
// errors (exit 2) before the checkpoint is read (exit 4).
func runPredict(a *app, opts *predictOptions) error {
	switch {
	case opts.obs == "" && opts.masks != "":
		return configErrorf("predict: --masks goes with --obs")
	case opts.obs == "":
		return configErrorf("predict: give --obs FILE (raw observations to run the policy on)")
	}
	if err := checkCheckpointDir("--model", opts.model); err != nil {
		return err
	}
	return runPredictObs(a, opts)
}

// actionName names action j of a policy of nA actions: the environment's names for its
// own action space, else the index.
func actionName(j, nA int) string {
	if nA == env.NumActions {
		return env.Action(j).String()
	}
	return strconv.Itoa(j)
}
