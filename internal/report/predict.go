package report

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"hybridtrain/internal/env"
	"hybridtrain/internal/policy"
)

// Predictor is a policy that gives, besides its deterministic action, the probabilities
// and the value of a decision: *ppo.Model, normalising raw observations with its frozen
// statistics. Its Forward actions are the argmax of the masked logits, the actions
// Actor.Act takes, so that a prediction and a report of the same model act alike.
type Predictor interface {
	ObsDim() int
	Forward(obs []float32, masks []bool, rows int, out *policy.ForwardResult) error
}

// Row is what predict says about one bar: the account after the bar and the decision
// taken when it closed, for the open of the next bar. predict --data writes one per bar
// of the sessions it runs over, predict --stream one per bar it reads, and the two agree
// row for row on the same bars (docs/predict.md).
type Row struct {
	Line int   // the input line of a streamed bar; 0 for a file
	Time int64 // the bar's open time, Unix seconds

	// Decided: the policy took a decision after this bar; Action applies at the next bar's
	// open. Probs are the masked distribution (0 for a masked action) and Value the
	// critic's estimate. Otherwise Reason says why not (env.Reason*).
	Decided bool
	Action  env.Action
	Probs   [env.NumActions]float32
	Value   float32
	Reason  string

	// Account is the simulated account after the bar: position, fill price, stop, target,
	// equity marked at the close, Apex threshold (docs/environment.md).
	Account env.BarRecord
	// Trades closed in this bar (a stream: while its line was read; see env.Live).
	Trades []env.Trade
	// Invalid: the decision taken for this bar was masked at its real open time and HOLD
	// was applied (a stream whose bars skipped minutes; see env.Live).
	Invalid bool
	// Warnings found at a streamed line (gaps, jumps, bars that look divided by 100).
	Warnings []env.Warning
}

// PredictInput is what Predict runs over.
type PredictInput struct {
	Dataset   *env.Dataset
	Sessions  []int      // indices into Dataset.Sessions, in order; nil: every session
	Env       env.Config // the rules (plan, contracts, costs, ...), as for Build
	Predictor Predictor
}

// Predict runs in.Predictor over every session of in.Sessions as one continuous account,
// exactly as Build backtests its Actor (the same env, rules, masks and deterministic
// actions, so the same trades), and returns one Row per bar of those sessions, in order
// (and the bar before a session's first decision when that bar belongs to another
// session). ctx ends it early with ctx's error.
func Predict(ctx context.Context, in PredictInput) ([]Row, error) {
	if in.Dataset == nil || in.Predictor == nil {
		return nil, errors.New("report: predict: a dataset and a predictor are needed")
	}
	if err := in.Env.Validate(); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	plan, err := env.LookupPlan(in.Env.Plan)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	ds := in.Dataset
	d := &forwardDecider{p: in.Predictor}
	spec := backtestSpec{ds: ds, cfg: in.Env, sessions: in.Sessions, obsDim: in.Predictor.ObsDim()}
	acc, _, err := backtest(ctx, spec, d)
	if err != nil {
		return nil, fmt.Errorf("report: predict: %w", err)
	}
	if len(d.decisions) != len(acc.Bars) {
		return nil, fmt.Errorf("report: predict: %d decisions for %d bars stepped", len(d.decisions), len(acc.Bars))
	}

	// Which bars the rows cover, the bar each decision acted at, the trades of each bar.
	n := ds.Bars.Len()
	barOf := func(t int64) int { return sort.Search(n, func(j int) bool { return ds.Bars.Time[j] >= t }) }
	show := make([]bool, n)
	sessions := in.Sessions
	if sessions == nil {
		sessions = make([]int, len(ds.Sessions))
		for i := range sessions {
			sessions[i] = i
		}
	}
	for _, s := range sessions {
		for j := ds.Sessions[s].Start; j < ds.Sessions[s].End; j++ {
			show[j] = true
		}
	}
	stepped := make([]int, n) // bar -> 1 + index of its record and decision
	for k, b := range acc.Bars {
		t := barOf(b.Time)
		stepped[t] = k + 1
		show[t-1] = true
	}
	trades := map[int][]env.Trade{}
	for _, tr := range acc.Trades {
		j := barOf(tr.ExitTime)
		trades[j] = append(trades[j], tr)
	}

	start := plan.StartBalance
	last := env.BarRecord{Equity: start, Threshold: plan.Threshold(start, in.Env.ApexMode == env.ApexFunded)}
	var rows []Row
	for j := range n {
		if k := stepped[j]; k > 0 {
			last = acc.Bars[k-1]
		}
		if !show[j] {
			continue
		}
		row := Row{Time: ds.Bars.Time[j], Trades: trades[j]}
		if k := stepped[j]; k > 0 {
			row.Account = last
		} else {
			// Not processed: nothing traded, so the account is flat as the last bar left it.
			row.Account = env.BarRecord{Time: row.Time, Equity: last.Equity, Threshold: last.Threshold, Session: int(ds.Bars.Session[j])}
		}
		if j+1 < n && stepped[j+1] > 0 {
			dec := d.decisions[stepped[j+1]-1]
			row.Decided, row.Action, row.Probs, row.Value = true, dec.action, dec.probs, dec.value
		} else {
			row.Reason = noDecisionReason(ds, j)
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// noDecisionReason says why a backtest takes no decision at the bar after bar j of a
// session it runs over, in the terms of env.Live: the same reasons for the same bars.
func noDecisionReason(ds *env.Dataset, j int) string {
	s := &ds.Sessions[ds.Bars.Session[j]]
	switch {
	case j+1 < env.WindowBars:
		return env.ReasonWarmUp
	case s.FlattenBar < 0 || j >= s.FlattenBar:
		return env.ReasonSessionClosed
	}
	return env.ReasonBeforeEntry
}

// forwardDecider asks a Predictor for each decision and keeps what it said.
type forwardDecider struct {
	p         Predictor
	res       policy.ForwardResult
	decisions []decided
}

// decided is one decision of a Predictor.
type decided struct {
	action env.Action
	probs  [env.NumActions]float32
	value  float32
}

func (d *forwardDecider) decide(obs []float32, mask []bool, _ int) (env.Action, error) {
	dec, err := predictOne(d.p, obs, mask, &d.res)
	if err != nil {
		return env.Hold, err
	}
	d.decisions = append(d.decisions, dec)
	return dec.action, nil
}

// predictOne runs p on one raw observation with its mask.
func predictOne(p Predictor, obs []float32, mask []bool, res *policy.ForwardResult) (decided, error) {
	if err := p.Forward(obs, mask, 1, res); err != nil {
		return decided{}, err
	}
	if len(res.Probs) != env.NumActions {
		return decided{}, fmt.Errorf("report: predict: the policy has %d actions, the environment %d", len(res.Probs), env.NumActions)
	}
	dec := decided{action: env.Action(res.Actions[0]), value: res.Values[0]}
	copy(dec.probs[:], res.Probs)
	return dec, nil
}
