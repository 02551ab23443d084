package ppo

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"hybridtrain/internal/env"
	"hybridtrain/internal/policy"
)

// TestCompareSettingsNamesTheKey: a resumed run whose settings differ from the checkpoint's
// is refused with a *ConfigError naming the key: by the caller's keys when it lists them,
// else by state.json's names.
func TestCompareSettingsNamesTheKey(t *testing.T) {
	recorded := RunSettings{
		Phase: 3, Market: "NQ", Data: "data/NQ_D1M.csv", DataBars: 1000, Base: "p2/final",
		Instrument: &InstrumentRecord{Symbol: "NQ", PointValue: 20, TickSize: 0.25, DataSession: []string{"18:00-16:59"}},
		PPO:        DefaultConfig(), Policy: policy.DefaultConfig(), Env: env.DefaultConfig(),
	}
	// clone copies the slices and the instrument that a change may write to.
	clone := func(r RunSettings) RunSettings {
		r.Policy.PiLayers = slices.Clone(r.Policy.PiLayers)
		in := *r.Instrument
		r.Instrument = &in
		return r
	}
	// A caller's keys, which name the stop distance its own way and leave the rest out.
	callerKeys := func(r *RunSettings) []KeyValue {
		return []KeyValue{{Key: "stop_distance", Value: r.Env.SLATR}, {Key: "n_envs", Value: r.PPO.NEnvs}}
	}
	for _, keys := range []func(*RunSettings) []KeyValue{nil, callerKeys} {
		cur := clone(recorded)
		cur.PPO.TotalTimesteps, cur.PPO.EvalFreq, cur.PPO.SaveFreq = 1, 2, 3
		cur.PPO.TensorBoard = !recorded.PPO.TensorBoard
		cur.Base = "" // a resumed run need not name its base again
		if err := compareSettings(recorded, cur, keys); err != nil {
			t.Errorf("changing total_timesteps, eval_freq, save_freq and tensorboard: %v, want nil", err)
		}
	}
	for _, tc := range []struct {
		key        string
		callerKeys bool
		change     func(*RunSettings)
	}{
		{"gamma", false, func(s *RunSettings) { s.PPO.Gamma = 0.9 }},
		{"n_envs", false, func(s *RunSettings) { s.PPO.NEnvs = 2 }},
		{"n_envs", true, func(s *RunSettings) { s.PPO.NEnvs = 2 }},
		{"seed", false, func(s *RunSettings) { s.PPO.Seed = 7 }},
		{"env.SLATR", false, func(s *RunSettings) { s.Env.SLATR = 2 }},
		{"stop_distance", true, func(s *RunSettings) { s.Env.SLATR = 2 }},
		{"env.Plan", false, func(s *RunSettings) { s.Env.Plan = "100k" }},
		{"policy.PiLayers", false, func(s *RunSettings) { s.Policy.PiLayers = []int{64} }},
		{"policy.ObsDim", true, func(s *RunSettings) { s.Policy.ObsDim = 300 }}, // the caller's keys miss it
		{"instruments.NQ.commission_per_side", false, func(s *RunSettings) { s.Instrument.CommissionPerSide = 9 }},
		{"market", false, func(s *RunSettings) { s.Market = "ES" }},
		{"phase", true, func(s *RunSettings) { s.Phase = 2 }},
		{"data", false, func(s *RunSettings) { s.DataBars = 999 }},
		{"base", false, func(s *RunSettings) { s.Base = "other/final" }},
	} {
		t.Run(fmt.Sprintf("%s/caller keys %t", tc.key, tc.callerKeys), func(t *testing.T) {
			cur := clone(recorded)
			tc.change(&cur)
			var keys func(*RunSettings) []KeyValue
			if tc.callerKeys {
				keys = callerKeys
			}
			err := compareSettings(recorded, cur, keys)
			var ce *ConfigError
			if !errors.As(err, &ce) || ce.Key != tc.key || !errors.Is(err, ErrConfig) {
				t.Fatalf("compareSettings = %v, want a *ConfigError naming %s", err, tc.key)
			}
		})
	}
	// A checkpoint written before instruments were recorded has none to compare.
	old := clone(recorded)
	old.Instrument = nil
	cur := clone(recorded)
	cur.Instrument.CommissionPerSide = 9
	if err := compareSettings(old, cur, nil); err != nil {
		t.Errorf("a checkpoint without an instrument: %v, want nil", err)
	}
}

func TestConfigValidateNamesKey(t *testing.T) {
	for _, tc := range []struct {
		key    string
		change func(*Config)
	}{
		{"total_timesteps", func(c *Config) { c.TotalTimesteps = 0 }},
		{"lr_schedule", func(c *Config) { c.LRSchedule = "cosine" }},
		{"batch_size", func(c *Config) { c.BatchSize = c.NEnvs*c.NSteps + 1 }},
		{"gamma", func(c *Config) { c.Gamma = 1.5 }},
		{"target_kl", func(c *Config) { c.TargetKL = -1 }},
		{"keep_checkpoints", func(c *Config) { c.KeepCheckpoints = 0 }},
	} {
		t.Run(tc.key, func(t *testing.T) {
			c := DefaultConfig()
			tc.change(&c)
			var ce *ConfigError
			if err := c.Validate(); !errors.As(err, &ce) || ce.Key != tc.key {
				t.Fatalf("Validate = %v, want a *ConfigError naming %s", err, tc.key)
			}
		})
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Errorf("defaults: %v", err)
	}
}
