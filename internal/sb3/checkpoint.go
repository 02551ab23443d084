package sb3

import (
	"fmt"
	"math"
	"slices"

	"hybridtrain/internal/policy"
)

// Names of the normaliser tensors in model.safetensors, as internal/ppo writes and reads
// them (float64, one count per feature).
const (
	obsMean  = "obs_rms.mean"
	obsVar   = "obs_rms.var"
	obsCount = "obs_rms.count"
	retMean  = "ret_rms.mean"
	retVar   = "ret_rms.var"
	retCount = "ret_rms.count"
)

// normEpsilon is the epsilon this tool adds to the variance before the square root
// (internal/ppo, SB3's default). A VecNormalize with another epsilon would normalise
// differently here.
const normEpsilon = 1e-8

// freshCount is the count of statistics that saw nothing (SB3's RunningMeanStd epsilon).
const freshCount = 1e-4

// Info is what the checkpoint records that the SB3 files do not hold.
type Info struct {
	Market      string // the instrument symbol, "" when not given
	ToolVersion string // this tool's version
	CreatedAt   string // RFC 3339 UTC; "" means now (set by policy.WriteCheckpoint)
}

// Convert builds the Phase 2 checkpoint of m with the statistics s (nil: none, the model
// saw raw observations). It is what this tool's own Phase 2 training writes, less Adam's
// state (an empty optimizer.safetensors) and state.json; the network is checked by
// building it with policy.FromCheckpoint.
//
// metadata.json's configuration records phase 2, the market, the network and the
// normalisation settings (norm_obs, clip_obs, norm_reward, clip_reward): ppo.LoadModel
// reads norm_obs and clip_obs from there when a checkpoint has no state.json.
func Convert(m *Model, s *Stats, info Info) (*policy.Checkpoint, error) {
	w := where{file: m.File}
	if s != nil {
		w = where{file: s.File}
		if s.Epsilon != normEpsilon {
			return nil, w.failf(ErrUnsupported, "epsilon", "%g: this tool normalises with sqrt(var + %g)", s.Epsilon, normEpsilon)
		}
		if s.ObsMean != nil && len(s.ObsMean) != m.ObsDim {
			return nil, w.failf(ErrUnsupported, "obs_rms.mean", "%d features, the model takes %d", len(s.ObsMean), m.ObsDim)
		}
	}
	cfg := map[string]any{
		"phase": 2, "pi_layers": slices.Clone(m.PiLayers), "vf_layers": slices.Clone(m.VfLayers),
		"activation": m.Activation, "norm_obs": false, "norm_reward": false,
	}
	if info.Market != "" {
		cfg["market"] = info.Market
	}

	// Statistics that saw nothing when the VecNormalize kept none (or there is none):
	// this tool's fresh RunningMeanStd, never used while norm_obs is false.
	mean, variance, count := make([]float64, m.ObsDim), make([]float64, m.ObsDim), make([]float64, m.ObsDim)
	for j := range m.ObsDim {
		variance[j], count[j] = 1, freshCount
	}
	rm, rv, rc := 0.0, 1.0, freshCount
	if s != nil {
		cfg["norm_obs"], cfg["clip_obs"] = s.NormObs, s.ClipObs
		cfg["norm_reward"], cfg["clip_reward"] = s.NormReward, s.ClipReward
		if s.ObsMean != nil {
			copy(mean, s.ObsMean)
			copy(variance, s.ObsVar)
			for j := range count {
				count[j] = s.ObsCount // SB3 keeps one count for every feature
			}
		}
		rm, rv, rc = s.RetMean, s.RetVar, s.RetCount
	}

	model := make([]policy.NamedTensor, 0, len(m.Tensors)+6)
	for _, t := range m.Tensors {
		model = append(model, policy.NamedTensor{Name: t.Name, Shape: slices.Clone(t.Shape), F32: slices.Clone(t.F32)})
	}
	vec := func(name string, v ...float64) policy.NamedTensor {
		return policy.NamedTensor{Name: name, Shape: []int{len(v)}, F64: v}
	}
	model = append(model,
		vec(obsMean, mean...), vec(obsVar, variance...), vec(obsCount, count...),
		vec(retMean, rm), vec(retVar, rv), vec(retCount, rc))
	for _, t := range model[len(model)-6:] {
		for i, x := range t.F64 {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return nil, w.failf(ErrValues, t.Name, "element %d is %v", i, x)
			}
		}
	}

	c := &policy.Checkpoint{
		Meta: policy.Metadata{
			Phase: 2, Market: info.Market,
			ObsDim: m.ObsDim, BaseObsDim: m.ObsDim, NumActions: m.NumActions,
			Arch: policy.Arch{PiLayers: slices.Clone(m.PiLayers), VfLayers: slices.Clone(m.VfLayers),
				Activation: m.Activation, Adapter: false},
			Timesteps: m.Timesteps, Seed: m.Seed, Config: cfg,
			ToolVersion: info.ToolVersion, CreatedAt: info.CreatedAt,
		},
		Model:     model,
		Optimizer: []policy.NamedTensor{},
	}
	if _, err := policy.FromCheckpoint(c); err != nil {
		return nil, fmt.Errorf("sb3: %s: the converted network does not load: %w", m.File, err)
	}
	return c, nil
}
