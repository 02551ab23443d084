package ppo

import (
	"errors"
	"testing"

	"hybridtrain/internal/env"
	"hybridtrain/internal/policy"
)

func TestSnakeCaseKeys(t *testing.T) {
	for in, want := range map[string]string{
		"DataTZ": "data_tz", "NEnvs": "n_envs", "TPRatio": "tp_ratio", "BEOffsetTicks": "be_offset_ticks",
		"TrailATR": "trail_atr", "RepairDiv100": "repair_div100", "GAELambda": "gae_lambda",
		"ClipRangeVF": "clip_range_vf", "ObsDim": "obs_dim", "InvalidActionReward": "invalid_action_reward",
	} {
		if got := snakeCase(in); got != want {
			t.Errorf("snakeCase(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestCompareSettingsNamesTheKey(t *testing.T) {
	base := settings{Phase: 3, Market: "NQ", PPO: DefaultConfig(), Policy: policy.DefaultConfig(), Env: env.DefaultConfig()}
	same := base
	same.PPO.TotalTimesteps, same.PPO.EvalFreq, same.PPO.SaveFreq = 1, 2, 3
	if err := compareSettings(base, same); err != nil {
		t.Errorf("changing total_timesteps, eval_freq and save_freq: %v, want nil", err)
	}
	for _, tc := range []struct {
		key    string
		change func(*settings)
	}{
		{"gamma", func(s *settings) { s.PPO.Gamma = 0.9 }},
		{"n_envs", func(s *settings) { s.PPO.NEnvs = 2 }},
		{"seed", func(s *settings) { s.PPO.Seed = 7 }},
		{"sl_atr", func(s *settings) { s.Env.SLATR = 2 }},
		{"plan", func(s *settings) { s.Env.Plan = "100k" }},
		{"pi_layers", func(s *settings) { s.Policy.PiLayers = []int{64} }},
		{"market", func(s *settings) { s.Market = "ES" }},
		{"phase", func(s *settings) { s.Phase = 2 }},
	} {
		t.Run(tc.key, func(t *testing.T) {
			cur := base
			cur.Policy.PiLayers = append([]int(nil), base.Policy.PiLayers...)
			tc.change(&cur)
			err := compareSettings(base, cur)
			var ce *ConfigError
			if !errors.As(err, &ce) || ce.Key != tc.key || !errors.Is(err, ErrConfig) {
				t.Fatalf("compareSettings = %v, want a *ConfigError naming %s", err, tc.key)
			}
		})
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
