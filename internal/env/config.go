package env

import (
	"fmt"
	"math"
)

// Config holds every setting of the environment. Field comments give the configuration key,
// the unit and the default; DefaultConfig returns the defaults.
type Config struct {
	// Data.
	DataTZ        string  // data_tz: zone of naive timestamps (default "UTC")
	TrainFraction float64 // train_fraction: share of sessions, in order, that train (0.8)
	WarmupBars    int     // warmup_bars: bars of history an episode needs before it (260)
	RepairDiv100  bool    // repair_div100: multiply bars flagged as divided by 100 by 100 (false)
	// FirstSession and LastSession (first_session, last_session) limit the sessions a run
	// uses, training and validation alike, to those dated between them, both included
	// (exchange dates YYYY-MM-DD; "" leaves an end open, the default): Dataset.Split. A
	// walk-forward fold trains on its blocks this way.
	FirstSession string
	LastSession  string

	// Execution.
	SLATR          float64 // sl_atr: stop distance in ATR14 (1.5)
	TPRatio        float64 // tp_ratio: target distance in stop distances (3.0)
	BEOffsetTicks  int     // be_offset_ticks: break-even stop offset from entry, ticks (1)
	TrailATR       float64 // trail_atr: trailing distance from close in ATR14 (1.0)
	NoEntryMinutes int     // no_entry_minutes: entries end this many minutes before flatten (5)
	Contracts      int     // contracts: contracts per entry, at most the plan's maximum (1)

	// Apex rules.
	Plan           string // plan: 25k, 50k, 75k, 100k, 150k, 250k, 300k ("50k")
	ApexMode       string // apex_mode: "evaluation" (threshold always trails) or "funded"
	MinTradingDays int    // min_trading_days: sessions with a trade needed to pass (7)

	// Episodes and reward.
	EpisodeSessions     int     // episode_sessions: sessions per training episode (1)
	Reward              string  // reward: "pnl" or "apex-shaped" ("pnl")
	RewardScaleTicks    float64 // reward_scale_ticks: pnl reward unit, ticks (20)
	BreachReward        float64 // breach_reward: added on a breach, pnl reward (-1)
	InvalidActionReward float64 // invalid_action_reward: reward of a masked action (-1)
}

// DefaultConfig returns the defaults of the environment specification.
func DefaultConfig() Config {
	return Config{
		DataTZ:              "UTC",
		TrainFraction:       0.8,
		WarmupBars:          260,
		SLATR:               1.5,
		TPRatio:             3.0,
		BEOffsetTicks:       1,
		TrailATR:            1.0,
		NoEntryMinutes:      5,
		Contracts:           1,
		Plan:                "50k",
		ApexMode:            "evaluation",
		MinTradingDays:      7,
		EpisodeSessions:     1,
		Reward:              "pnl",
		RewardScaleTicks:    20,
		BreachReward:        -1,
		InvalidActionReward: -1,
	}
}

// Reward kinds.
const (
	RewardPnL        = "pnl"
	RewardApexShaped = "apex-shaped"
	ApexEvaluation   = "evaluation"
	ApexFunded       = "funded"
)

// Validate checks every field and names the configuration key at fault.
func (c Config) Validate() error {
	switch {
	case !(c.TrainFraction > 0 && c.TrainFraction <= 1): // NaN too
		return fmt.Errorf("env: train_fraction must be in (0, 1], got %g", c.TrainFraction)
	case c.WarmupBars < 1:
		return fmt.Errorf("env: warmup_bars must be >= 1, got %d", c.WarmupBars)
	case !positiveFinite(c.SLATR):
		return fmt.Errorf("env: sl_atr must be > 0 and finite, got %g", c.SLATR)
	case !positiveFinite(c.TPRatio):
		return fmt.Errorf("env: tp_ratio must be > 0 and finite, got %g", c.TPRatio)
	case c.BEOffsetTicks < 0:
		return fmt.Errorf("env: be_offset_ticks must be >= 0, got %d", c.BEOffsetTicks)
	case !positiveFinite(c.TrailATR):
		return fmt.Errorf("env: trail_atr must be > 0 and finite, got %g", c.TrailATR)
	case c.NoEntryMinutes < 0:
		return fmt.Errorf("env: no_entry_minutes must be >= 0, got %d", c.NoEntryMinutes)
	case c.Contracts < 1:
		return fmt.Errorf("env: contracts must be >= 1, got %d", c.Contracts)
	case c.MinTradingDays < 1:
		return fmt.Errorf("env: min_trading_days must be >= 1, got %d", c.MinTradingDays)
	case c.EpisodeSessions < 1:
		return fmt.Errorf("env: episode_sessions must be >= 1, got %d", c.EpisodeSessions)
	case c.Reward != RewardPnL && c.Reward != RewardApexShaped:
		return fmt.Errorf("env: reward must be %q or %q, got %q", RewardPnL, RewardApexShaped, c.Reward)
	case !positiveFinite(c.RewardScaleTicks):
		return fmt.Errorf("env: reward_scale_ticks must be > 0 and finite, got %g", c.RewardScaleTicks)
	case !finite(c.BreachReward):
		return fmt.Errorf("env: breach_reward must be a finite number, got %g", c.BreachReward)
	case !finite(c.InvalidActionReward):
		return fmt.Errorf("env: invalid_action_reward must be a finite number, got %g", c.InvalidActionReward)
	case c.ApexMode != ApexEvaluation && c.ApexMode != ApexFunded:
		return fmt.Errorf("env: apex_mode must be %q or %q, got %q", ApexEvaluation, ApexFunded, c.ApexMode)
	}
	plan, err := LookupPlan(c.Plan)
	if err != nil {
		return err
	}
	if c.Contracts > plan.MaxContracts {
		return fmt.Errorf("env: contracts must be at most the %s plan's maximum %d, got %d", plan.Name, plan.MaxContracts, c.Contracts)
	}
	if _, err := loadZone(c.DataTZ); err != nil {
		return fmt.Errorf("env: data_tz: %w", err)
	}
	if err := checkSessionDate("first_session", c.FirstSession); err != nil {
		return err
	}
	if err := checkSessionDate("last_session", c.LastSession); err != nil {
		return err
	}
	if c.FirstSession != "" && c.LastSession != "" && c.LastSession < c.FirstSession {
		return fmt.Errorf("env: last_session %s is before first_session %s", c.LastSession, c.FirstSession)
	}
	return nil
}

// finite reports whether x is neither NaN nor infinite: a non-finite setting would turn every
// price or reward it touches into NaN or nonsense without an error.
func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

func positiveFinite(x float64) bool { return x > 0 && !math.IsInf(x, 1) }
