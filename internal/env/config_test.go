package env

import (
	"math"
	"strings"
	"testing"
)

// TestConfigValidate: the defaults are valid, and every bad value, NaN and infinities
// included, is an error naming its configuration key.
func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	nan, inf := math.NaN(), math.Inf(1)
	cases := []struct {
		key string
		set func(*Config)
	}{
		{"train_fraction", func(c *Config) { c.TrainFraction = 0 }},
		{"train_fraction", func(c *Config) { c.TrainFraction = 1.5 }},
		{"train_fraction", func(c *Config) { c.TrainFraction = nan }},
		{"warmup_bars", func(c *Config) { c.WarmupBars = 0 }},
		{"sl_atr", func(c *Config) { c.SLATR = 0 }},
		{"sl_atr", func(c *Config) { c.SLATR = nan }},
		{"sl_atr", func(c *Config) { c.SLATR = inf }},
		{"tp_ratio", func(c *Config) { c.TPRatio = -1 }},
		{"tp_ratio", func(c *Config) { c.TPRatio = inf }},
		{"be_offset_ticks", func(c *Config) { c.BEOffsetTicks = -1 }},
		{"trail_atr", func(c *Config) { c.TrailATR = 0 }},
		{"trail_atr", func(c *Config) { c.TrailATR = inf }},
		{"no_entry_minutes", func(c *Config) { c.NoEntryMinutes = -1 }},
		{"contracts", func(c *Config) { c.Contracts = 0 }},
		{"contracts", func(c *Config) { c.Contracts = 11 }}, // 50k plan: at most 10
		{"min_trading_days", func(c *Config) { c.MinTradingDays = 0 }},
		{"episode_sessions", func(c *Config) { c.EpisodeSessions = 0 }},
		{"reward", func(c *Config) { c.Reward = "sharpe" }},
		{"reward_scale_ticks", func(c *Config) { c.RewardScaleTicks = 0 }},
		{"reward_scale_ticks", func(c *Config) { c.RewardScaleTicks = inf }},
		{"breach_reward", func(c *Config) { c.BreachReward = nan }},
		{"breach_reward", func(c *Config) { c.BreachReward = -inf }},
		{"invalid_action_reward", func(c *Config) { c.InvalidActionReward = nan }},
		{"invalid_action_reward", func(c *Config) { c.InvalidActionReward = -inf }},
		{"apex_mode", func(c *Config) { c.ApexMode = "live" }},
		{"plan", func(c *Config) { c.Plan = "40k" }},
		{"data_tz", func(c *Config) { c.DataTZ = "Mars/Olympus" }},
	}
	for _, tc := range cases {
		c := DefaultConfig()
		tc.set(&c)
		err := c.Validate()
		if err == nil || !strings.HasPrefix(err.Error(), "env: "+tc.key) {
			t.Errorf("%+v: got %v, want an error starting with %q", c, err, "env: "+tc.key)
		}
	}
}
