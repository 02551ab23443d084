package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"hybridtrain/internal/env"
	"hybridtrain/internal/policy"
	"hybridtrain/internal/sb3"
)

type importSB3Options struct {
	model  string // MODEL.zip
	stats  string // --vecnormalize STATS.pkl
	out    string // --out DIR
	market string // --market SYM
}

func newImportSB3Cmd(a *app) *cobra.Command {
	opts := &importSB3Options{}
	cmd := &cobra.Command{
		Use:   "sb3 MODEL.zip --out DIR",
		Short: "Import a stable-baselines3 MaskablePPO Phase 2 model and its VecNormalize statistics",
		Long: `Import a Phase 2 policy trained in Python with sb3-contrib's MaskablePPO (or
SB3's PPO): MODEL.zip is what model.save() wrote, --vecnormalize the file
VecNormalize.save() wrote. The result is a Phase 2 checkpoint in --out (which must
not exist or be empty; nothing is written there unless the import succeeds) that
train --base, eval, inspect and predict accept. It has no state.json: it cannot be
resumed, and Adam starts afresh when it is trained from.

Supported: separate pi and vf MLPs of any widths, ReLU or Tanh, Box(228)
observations, Discrete(6) actions. Anything else exits 4 naming the file, entry and
key or tensor that does not fit. The files are read, never executed: the pickles
may name only the numpy, torch and SB3 classes of an allow-list (docs/sb3.md).

It prints what it imported and SB3's hyperparameters as configuration keys, and on
stderr what differs from the original environment (features 224-226, fills at the
next bar's open): the imported model is a starting point, not the same policy in
the same market. Without --vecnormalize the model is taken to have seen raw
observations (norm_obs false).`,
		Example: `  hybridtrain import sb3 models/phase2_position_mgmt_final.zip \
      --vecnormalize models/phase2_position_mgmt_final_vecnorm.pkl --market NQ --out runs/nq-p2-sb3
  hybridtrain train --market NQ --base runs/nq-p2-sb3 --out runs/nq-p3`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(_ *cobra.Command, args []string) error {
			opts.model = args[0]
			return runImportSB3(a, opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.stats, "vecnormalize", "", "the VecNormalize statistics (VecNormalize.save's .pkl)")
	f.StringVar(&opts.out, "out", "", "checkpoint directory to write (required; must not exist or be empty)")
	f.StringVar(&opts.market, "market", "", "the instrument the model trained on, recorded in the checkpoint (upper-cased)")
	return cmd
}

func runImportSB3(a *app, opts *importSB3Options) error {
	if err := checkImportOut(opts.out); err != nil {
		return err
	}
	market := strings.ToUpper(strings.TrimSpace(opts.market))
	if market != "" && !validSymbol(market) {
		return configErrorf("import sb3: --market %q: want letters and digits, starting with a letter", opts.market)
	}
	cfg := sb3.DefaultConfig()
	cfg.ObsDim, cfg.NumActions = env.BaseObsDim, env.NumActions
	m, err := sb3.ReadModel(opts.model, cfg)
	if err != nil {
		return err
	}
	var stats *sb3.Stats
	if opts.stats != "" {
		if stats, err = sb3.ReadVecNormalize(opts.stats, cfg); err != nil {
			return err
		}
	}
	c, err := sb3.Convert(m, stats, sb3.Info{Market: market, ToolVersion: toolVersion(),
		CreatedAt: a.now().UTC().Format("2006-01-02T15:04:05Z")})
	if err != nil {
		return err
	}
	if err := policy.WriteCheckpoint(opts.out, c); err != nil {
		return err
	}
	printImport(a.stdout, opts, m, stats, c)
	for _, n := range importNotes(m, stats, market) {
		fmt.Fprintln(a.stderr, "note: "+n)
	}
	return nil
}

// checkImportOut refuses a missing --out and one that exists and is not an empty directory
// (a usage error): the import never replaces anything.
func checkImportOut(out string) error {
	if strings.TrimSpace(out) == "" {
		return configErrorf("import sb3: --out is required: the checkpoint directory to write")
	}
	st, err := os.Stat(out)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return configErrorf("import sb3: --out %s: %w", out, err)
	case !st.IsDir():
		return configErrorf("import sb3: --out %s is a file: want a directory that does not exist or is empty", out)
	}
	entries, err := os.ReadDir(out)
	if err != nil {
		return configErrorf("import sb3: --out %s: %w", out, err)
	}
	if len(entries) > 0 {
		return configErrorf("import sb3: --out %s is not empty: want a directory that does not exist or is empty", out)
	}
	return nil
}

// printImport writes what was imported: the checkpoint, the network, the normaliser and
// SB3's hyperparameters under this tool's configuration keys.
func printImport(w io.Writer, opts *importSB3Options, m *sb3.Model, s *sb3.Stats, c *policy.Checkpoint) {
	t := newTable(w)
	t.row("checkpoint", opts.out)
	from := filepath.Base(m.File)
	var about []string
	if m.SB3Version != "" {
		about = append(about, "stable-baselines3 "+m.SB3Version)
	}
	if m.PolicyModule != "" {
		about = append(about, m.PolicyModule)
	}
	if len(about) > 0 {
		from += " (" + strings.Join(about, ", ") + ")"
	}
	t.row("model", from)
	params := 0
	for _, x := range m.Tensors {
		params += len(x.F32)
	}
	act := m.Activation
	if m.ActivationDefault {
		act += " (SB3's default: policy_kwargs names no activation_fn)"
	}
	t.row("network", fmt.Sprintf("obs %d, actions %d; pi %v, vf %v, %s; %d parameters", m.ObsDim, m.NumActions, m.PiLayers, m.VfLayers, act, params))
	if s == nil {
		t.row("normaliser", "none: norm_obs false, the model sees raw observations")
	} else {
		obs := "obs: none kept (norm_obs false)"
		if s.ObsMean != nil {
			obs = fmt.Sprintf("obs: %d features, count %.0f, norm_obs %v, clip_obs %g", len(s.ObsMean), s.ObsCount, s.NormObs, s.ClipObs)
		}
		t.row("normaliser", fmt.Sprintf("%s; %s; reward: var %.4g, count %.0f, clip_reward %g; epsilon %g",
			filepath.Base(s.File), obs, s.RetVar, s.RetCount, s.ClipReward, s.Epsilon))
	}
	t.row("timesteps", fmt.Sprint(m.Timesteps))
	market := c.Meta.Market
	if market == "" {
		market = "(none: give --market to eval and predict)"
	}
	t.row("market", market)
	t.flush()

	if len(m.Hyper) == 0 {
		return
	}
	fmt.Fprintln(w, "\n# SB3's hyperparameters as configuration keys (docs/configuration.md), for a config file:")
	for _, h := range m.Hyper {
		if h.Value == nil {
			fmt.Fprintf(w, "# %s: a schedule in SB3 (Python code, not read)\n", h.Key)
			continue
		}
		fmt.Fprintf(w, "%s: %v\n", h.Key, h.Value)
	}
}

// importNotes are what a user must know about the imported model.
func importNotes(m *sb3.Model, s *sb3.Stats, market string) []string {
	notes := []string{
		"features 224-226 differ from the original environment's: 224 counts the position's bars " +
			"(the original wrote the absolute bar index / 390), 225 and 226 follow this environment's masks " +
			"(docs/observation.md)",
		"orders fill at the next bar's open plus slippage here, at the decision bar's close in the original " +
			"(docs/environment.md): the imported model is a starting point, not the same policy in the same market",
	}
	if m.Converted != "" {
		notes = append(notes, fmt.Sprintf("the weights were %s and are rounded to float32", m.Converted))
	}
	switch {
	case s == nil:
		notes = append(notes, "no --vecnormalize: the model is taken to have seen raw observations (norm_obs false); "+
			"train --base normalises Phase 3's observations unless norm_obs is false")
	case s.ObsMean == nil || !s.NormObs:
		notes = append(notes, "the VecNormalize did not normalise observations (norm_obs false); "+
			"train --base normalises Phase 3's observations unless norm_obs is false")
	case s.ClipObs != 10:
		notes = append(notes, fmt.Sprintf("the VecNormalize clipped observations at %g; Phase 3 training clips at its clip_obs (10 by default)", s.ClipObs))
	}
	if market == "" {
		notes = append(notes, "no --market: eval needs --market to evaluate it")
	} else if _, ok := env.BuiltinInstrument(market); !ok {
		notes = append(notes, fmt.Sprintf("%s is not a built-in market: define it under instruments in a config file", market))
	}
	if i := slices.IndexFunc(m.Hyper, func(h sb3.Hyperparameter) bool { return h.Key == "gamma" }); i >= 0 && s != nil {
		if g, ok := m.Hyper[i].Value.(float64); ok && s.Gamma != g {
			notes = append(notes, fmt.Sprintf("VecNormalize's gamma %g differs from PPO's %g; this tool uses one gamma for both", s.Gamma, g))
		}
	}
	return notes
}
