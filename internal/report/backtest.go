package report

import (
	"context"
	"fmt"

	"hybridtrain/internal/env"
)

// Actor is the policy a report evaluates: deterministic masked actions for raw
// observations (rows x ObsDim). *ppo.Model satisfies it, normalising with its frozen
// statistics.
type Actor interface {
	ObsDim() int
	Act(obs []float32, masks []bool, rows int, out []int32) error
}

// decider picks the action of one decision. session is the index into Dataset.Sessions of
// the decision's session (the buy-and-hold baseline enters once per session).
type decider interface {
	decide(obs []float32, mask []bool, session int) (env.Action, error)
}

// actorDecider asks an Actor for one row.
type actorDecider struct {
	a   Actor
	out [1]int32
}

func (d *actorDecider) decide(obs []float32, mask []bool, _ int) (env.Action, error) {
	if err := d.a.Act(obs, mask, 1, d.out[:]); err != nil {
		return env.Hold, err
	}
	return env.Action(d.out[0]), nil
}

// recorder is the env.Observer of a backtest.
type recorder struct {
	bars   []env.BarRecord
	trades []env.Trade
}

func (r *recorder) Trade(t env.Trade)   { r.trades = append(r.trades, t) }
func (r *recorder) Bar(b env.BarRecord) { r.bars = append(r.bars, b) }

// backtestSpec is what a backtest runs on: the bars, the rules and the observation size.
type backtestSpec struct {
	ds       *env.Dataset
	cfg      env.Config
	sessions []int
	obsDim   int
	noStops  bool // the buy-and-hold baseline: entries without stop or target
}

// ctxCheckEvery is how many steps a backtest runs between looks at its context.
const ctxCheckEvery = 1024

// backtest runs d over every session of s as one continuous account (env.ModeContinuous)
// and returns what the account recorded and the masked actions the policy chose (counted
// both by the env and against the mask the policy was given; the larger count).
func backtest(ctx context.Context, s backtestSpec, d decider) (*Account, int64, error) {
	plan, err := env.LookupPlan(s.cfg.Plan)
	if err != nil {
		return nil, 0, fmt.Errorf("report: %w", err)
	}
	rec := &recorder{}
	rec.bars = make([]env.BarRecord, 0, s.ds.Bars.Len())
	e, err := env.New(s.ds, s.cfg, env.Options{
		Sessions: s.sessions, Mode: env.ModeContinuous, ObsDim: s.obsDim, Observer: rec, NoStops: s.noStops,
	}, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("report: backtest: %w", err)
	}
	obs := make([]float32, e.ObsDim())
	mask := make([]bool, env.NumActions)
	if err := e.Reset(obs, mask); err != nil {
		return nil, 0, fmt.Errorf("report: backtest: %w", err)
	}
	var illegal int64
	// One episode steps each bar at most once; the bound turns a runaway loop into an error.
	limit := s.ds.Bars.Len() + 1
	for step := 0; ; step++ {
		if step%ctxCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return nil, 0, err
			}
		}
		if step > limit {
			return nil, 0, fmt.Errorf("report: backtest: the episode did not end within %d steps", limit)
		}
		a, err := d.decide(obs, mask, e.Session())
		if err != nil {
			return nil, 0, fmt.Errorf("report: backtest: %w", err)
		}
		if a < 0 || a >= env.NumActions || !mask[a] {
			illegal++
		}
		res := e.Step(a, obs, mask)
		if res.Terminated || res.Truncated {
			break
		}
	}
	dates := make([]string, len(s.ds.Sessions))
	for i, ss := range s.ds.Sessions {
		dates[i] = ss.Date
	}
	acc := &Account{Start: plan.StartBalance, Bars: rec.bars, Trades: rec.trades, Dates: dates}
	return acc, max(illegal, e.InvalidActions()), nil
}
