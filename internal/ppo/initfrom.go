package ppo

import (
	"fmt"
	"slices"

	"hybridtrain/internal/policy"
)

// InitRecord is where a fine-tuned run started (Setup.InitFrom): state.json's settings and
// every checkpoint's metadata.json record it as "init_from". The directory is kept as
// given; ModelSHA256 identifies the exact weights even after that directory has been
// replaced (a best/ that training overwrote, a final/ of a run that was resumed further).
type InitRecord struct {
	Dir         string `json:"dir"`
	Phase       int    `json:"phase"`
	Market      string `json:"market"`
	Timesteps   int64  `json:"timesteps"`
	ModelSHA256 string `json:"model_sha256"`
}

// initStart is what a run fine-tuned from a checkpoint starts from: the checkpoint's
// network (without its Adam state) and its normalisers.
type initStart struct {
	pol    *policy.Policy
	obsRMS *RunningMeanStd // Frozen as the checkpoint's run left it
	retRMS *RunningMeanStd
	record InitRecord
}

// readInitFrom reads s.InitFrom for a new run of network pcfg. The checkpoint must be of
// the run's phase and architecture (pi_layers, vf_layers, activation) and normalise
// observations as the run does (norm_obs): a difference is a *ConfigError naming the key,
// since the checkpoint is fine and the run's settings ask for another network (exit 2).
// A missing, corrupt or inconsistent checkpoint is an error wrapping policy.ErrCheckpoint
// (exit 4).
func (t *trainer) readInitFrom(pcfg policy.Config) (*initStart, error) {
	s := t.s
	dir := s.InitFrom
	c, err := policy.ReadCheckpoint(dir)
	if err != nil {
		return nil, fmt.Errorf("ppo: init_from: %w", err)
	}
	if c.Meta.Phase != s.Phase {
		hint := ""
		if c.Meta.Phase == 2 && s.Phase == 3 {
			hint = ", or base to transfer it into a new Phase 3 network"
		}
		return nil, configErrorf("phase", "init_from %s is a Phase %d checkpoint and this run is Phase %d: fine-tuning keeps the phase (give phase %d to fine-tune it%s)",
			dir, c.Meta.Phase, s.Phase, c.Meta.Phase, hint)
	}
	pol, err := policy.FromCheckpoint(c)
	if err != nil {
		return nil, fmt.Errorf("ppo: init_from %s: %w", dir, err)
	}
	got := pol.Config()
	if got.ObsDim != pcfg.ObsDim || got.BaseDim != pcfg.BaseDim || got.NumActions != pcfg.NumActions {
		// Same phase, other dimensions: not a checkpoint of this tool's Phase (or env).
		return nil, fmt.Errorf("%w: init_from %s: obs_dim %d (base %d), %d actions; a Phase %d run has %d (base %d) and %d",
			policy.ErrCheckpoint, dir, got.ObsDim, got.BaseDim, got.NumActions, s.Phase, pcfg.ObsDim, pcfg.BaseDim, pcfg.NumActions)
	}
	arch := []struct {
		key       string
		was, want any
		same      bool
	}{
		{"pi_layers", got.PiLayers, pcfg.PiLayers, slices.Equal(got.PiLayers, pcfg.PiLayers)},
		{"vf_layers", got.VfLayers, pcfg.VfLayers, slices.Equal(got.VfLayers, pcfg.VfLayers)},
		{"activation", got.Activation, pcfg.Activation, got.Activation == pcfg.Activation},
	}
	for _, a := range arch {
		if !a.same {
			return nil, configErrorf(a.key, "init_from %s has %v, this run asks for %v: fine-tuning keeps the architecture (set %s to the checkpoint's)",
				dir, a.was, a.want, a.key)
		}
	}
	normObs, _, err := checkpointNorm(c, dir)
	if err != nil {
		return nil, err
	}
	if normObs != t.cfg.NormObs {
		return nil, configErrorf("norm_obs", "init_from %s was trained with norm_obs %v, this run asks for %v: its network expects the observations it was trained on",
			dir, normObs, t.cfg.NormObs)
	}
	obsRMS, err := readRMS(c, dir, "obs_rms", got.ObsDim)
	if err != nil {
		return nil, fmt.Errorf("ppo: init_from: %w", err)
	}
	retRMS, err := readRMS(c, dir, "ret_rms", 1)
	if err != nil {
		return nil, fmt.Errorf("ppo: init_from: %w", err)
	}
	// A training checkpoint says which features its run kept frozen (the transferred base
	// block while freeze_base_norm): they stay frozen, as they would have in that run. A
	// model-only checkpoint (import sb3) froze nothing.
	if len(c.State) > 0 {
		st, err := decodeState(dir, c.State)
		if err != nil {
			return nil, fmt.Errorf("ppo: init_from: %w", err)
		}
		if len(st.ObsFrozen) != got.ObsDim {
			return nil, fmt.Errorf("%w: %s: %s: obs_frozen has %d entries, want %d", policy.ErrCheckpoint, dir, policy.StateFile, len(st.ObsFrozen), got.ObsDim)
		}
		copy(obsRMS.Frozen, st.ObsFrozen)
	}
	return &initStart{
		pol: pol, obsRMS: obsRMS, retRMS: retRMS,
		record: InitRecord{Dir: dir, Phase: c.Meta.Phase, Market: c.Meta.Market, Timesteps: c.Meta.Timesteps,
			ModelSHA256: c.Meta.Files[policy.ModelFile]},
	}, nil
}
