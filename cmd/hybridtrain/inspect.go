package main

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"

	"github.com/spf13/cobra"

	"hybridtrain/internal/adapter"
	"hybridtrain/internal/policy"
	"hybridtrain/internal/ppo"
)

type inspectOptions struct {
	dir    string
	asJSON bool
}

func newInspectCmd(a *app) *cobra.Command {
	opts := &inspectOptions{}
	cmd := &cobra.Command{
		Use:   "inspect DIR",
		Short: "Show a checkpoint's metadata, dims, architecture, normaliser and adapter",
		Long: `Show a checkpoint directory: metadata (phase, market, timesteps, seed, tool
version, creation time), observation and action dims, the architecture and its
parameter count, a summary of the observation and reward normalisers (the base
and context feature blocks separately), and the adapter's statistics. The
checkpoint is verified first (schema, hashes, dims): a bad one exits 4.`,
		Example: "  hybridtrain inspect runs/phase3-NQ-20250101T000000Z/final --json",
		Args:    usageArgs(cobra.ExactArgs(1)),
		RunE: func(_ *cobra.Command, args []string) error {
			opts.dir = args[0]
			return runInspect(a, opts)
		},
	}
	cmd.Flags().BoolVar(&opts.asJSON, "json", false, "machine-readable output")
	return cmd
}

// inspectReport is inspect's output (--json as is).
type inspectReport struct {
	Dir           string        `json:"dir"`
	SchemaVersion int           `json:"schema_version"`
	Phase         int           `json:"phase"`
	Market        string        `json:"market"`
	Timesteps     int64         `json:"timesteps"`
	Seed          uint64        `json:"seed"`
	ToolVersion   string        `json:"tool_version"`
	CreatedAt     string        `json:"created_at"`
	ObsDim        int           `json:"obs_dim"`
	BaseObsDim    int           `json:"base_obs_dim"`
	NumActions    int           `json:"num_actions"`
	Architecture  policy.Arch   `json:"architecture"`
	Parameters    int           `json:"parameters"`
	Normalizer    []normBlock   `json:"normalizer"`
	Adapter       *adapterStats `json:"adapter,omitempty"`
	// InitFrom is where a fine-tuned run started (train --init-from); absent otherwise.
	InitFrom *ppo.InitRecord `json:"init_from,omitempty"`
	Files    []string        `json:"files"`
}

// adapterStats are adapter.Stats under the metrics' names (adapter/weight_mean, ...).
type adapterStats struct {
	WeightMean            float64 `json:"weight_mean"`
	WeightStd             float64 `json:"weight_std"`
	WeightMin             float64 `json:"weight_min"`
	WeightMax             float64 `json:"weight_max"`
	BiasMean              float64 `json:"bias_mean"`
	BiasStd               float64 `json:"bias_std"`
	BaseIdentityDeviation float64 `json:"base_identity_deviation"`
	LLMFeaturesLearned    float64 `json:"llm_features_learned"`
}

func newAdapterStats(s adapter.Stats) *adapterStats {
	return &adapterStats{s.WeightMean, s.WeightStd, s.WeightMin, s.WeightMax, s.BiasMean, s.BiasStd,
		s.BaseIdentityDeviation, s.LLMFeaturesLearned}
}

// normBlock summarises a normaliser's statistics over a range of features.
type normBlock struct {
	Name     string  `json:"name"` // "obs base [0, 228)", "obs context [228, 261)", "reward"
	Features int     `json:"features"`
	MeanMin  float64 `json:"mean_min"`
	MeanMax  float64 `json:"mean_max"`
	StdMin   float64 `json:"std_min"`
	StdMax   float64 `json:"std_max"`
	CountMin float64 `json:"count_min"`
	CountMax float64 `json:"count_max"`
}

func runInspect(a *app, opts *inspectOptions) error {
	if err := checkCheckpointDir("inspect", opts.dir); err != nil {
		return err
	}
	c, err := policy.ReadCheckpoint(opts.dir)
	if err != nil {
		return err
	}
	p, err := policy.FromCheckpoint(c)
	if err != nil {
		return err
	}
	m := c.Meta
	rep := inspectReport{
		Dir: opts.dir, SchemaVersion: m.SchemaVersion, Phase: m.Phase, Market: m.Market, Timesteps: m.Timesteps,
		Seed: m.Seed, ToolVersion: m.ToolVersion, CreatedAt: m.CreatedAt, ObsDim: m.ObsDim,
		BaseObsDim: m.BaseObsDim, NumActions: m.NumActions, Architecture: m.Arch,
		Files: sortedKeys(m.Files),
	}
	tensors := map[string]policy.NamedTensor{}
	for _, t := range c.Model {
		tensors[t.Name] = t
		if !strings.Contains(t.Name, "_rms.") {
			rep.Parameters += len(t.F32)
		}
	}
	rep.Normalizer = normSummary(tensors, m.BaseObsDim)
	if m.InitFrom != nil {
		// metadata.json holds the trainer's record as plain JSON.
		data, err := json.Marshal(m.InitFrom)
		if err == nil {
			err = json.Unmarshal(data, &rep.InitFrom)
		}
		if err != nil {
			return fmt.Errorf("inspect: %s: %s: init_from: %w: %w", opts.dir, policy.MetadataFile, policy.ErrCheckpoint, err)
		}
	}
	if ad := p.Adapter(); ad != nil {
		st, err := ad.Stats()
		if err != nil {
			return fmt.Errorf("inspect: adapter statistics: %w", err)
		}
		rep.Adapter = newAdapterStats(st)
	}
	if opts.asJSON {
		return writeJSON(a.stdout, rep)
	}
	printInspect(a, rep)
	return nil
}

// normSummary summarises obs_rms over the base and context blocks and ret_rms; missing
// tensors give no block.
func normSummary(t map[string]policy.NamedTensor, baseDim int) []normBlock {
	var out []normBlock
	mean, v, count := t["obs_rms.mean"].F64, t["obs_rms.var"].F64, t["obs_rms.count"].F64
	if len(mean) > 0 && len(v) == len(mean) && len(count) == len(mean) {
		if baseDim <= 0 || baseDim > len(mean) {
			baseDim = len(mean)
		}
		out = append(out, block(fmt.Sprintf("obs base [0, %d)", baseDim), mean[:baseDim], v[:baseDim], count[:baseDim]))
		if baseDim < len(mean) {
			out = append(out, block(fmt.Sprintf("obs context [%d, %d)", baseDim, len(mean)), mean[baseDim:], v[baseDim:], count[baseDim:]))
		}
	}
	rm, rv, rc := t["ret_rms.mean"].F64, t["ret_rms.var"].F64, t["ret_rms.count"].F64
	if len(rm) == 1 && len(rv) == 1 && len(rc) == 1 {
		out = append(out, block("reward (return)", rm, rv, rc))
	}
	return out
}

func block(name string, mean, variance, count []float64) normBlock {
	b := normBlock{Name: name, Features: len(mean),
		MeanMin: math.Inf(1), MeanMax: math.Inf(-1), StdMin: math.Inf(1), StdMax: math.Inf(-1),
		CountMin: math.Inf(1), CountMax: math.Inf(-1)}
	for i := range mean {
		sd := math.Sqrt(variance[i])
		b.MeanMin, b.MeanMax = math.Min(b.MeanMin, mean[i]), math.Max(b.MeanMax, mean[i])
		b.StdMin, b.StdMax = math.Min(b.StdMin, sd), math.Max(b.StdMax, sd)
		b.CountMin, b.CountMax = math.Min(b.CountMin, count[i]), math.Max(b.CountMax, count[i])
	}
	return b
}

func printInspect(a *app, r inspectReport) {
	t := newTable(a.stdout)
	t.row("checkpoint", r.Dir)
	t.row("phase", fmt.Sprint(r.Phase))
	t.row("market", r.Market)
	t.row("timesteps", fmt.Sprint(r.Timesteps))
	t.row("seed", fmt.Sprint(r.Seed))
	t.row("tool version", r.ToolVersion)
	t.row("created", r.CreatedAt)
	t.row("schema", fmt.Sprint(r.SchemaVersion))
	t.row("dims", fmt.Sprintf("obs %d (base %d), actions %d", r.ObsDim, r.BaseObsDim, r.NumActions))
	adapterText := "none"
	if r.Architecture.Adapter {
		adapterText = fmt.Sprintf("Linear(%d -> %d)", r.ObsDim, r.BaseObsDim)
	}
	t.row("architecture", fmt.Sprintf("adapter %s; pi %v, vf %v, %s; %d parameters",
		adapterText, r.Architecture.PiLayers, r.Architecture.VfLayers, r.Architecture.Activation, r.Parameters))
	for _, b := range r.Normalizer {
		t.row("normaliser", fmt.Sprintf("%s: %d features, mean [%.4g, %.4g], std [%.4g, %.4g], count [%.0f, %.0f]",
			b.Name, b.Features, b.MeanMin, b.MeanMax, b.StdMin, b.StdMax, b.CountMin, b.CountMax))
	}
	if s := r.Adapter; s != nil {
		t.row("adapter", fmt.Sprintf("weight mean %.4g std %.4g min %.4g max %.4g; bias mean %.4g std %.4g",
			s.WeightMean, s.WeightStd, s.WeightMin, s.WeightMax, s.BiasMean, s.BiasStd))
		t.row("", fmt.Sprintf("base_identity_deviation %.4g, llm_features_learned %.4g", s.BaseIdentityDeviation, s.LLMFeaturesLearned))
	}
	if f := r.InitFrom; f != nil {
		t.row("init from", fmt.Sprintf("%s (phase %d, %s, %d timesteps; model sha256 %.12s...)", f.Dir, f.Phase, f.Market, f.Timesteps, f.ModelSHA256))
	}
	t.row("files", strings.Join(r.Files, ", "))
	t.flush()
}
