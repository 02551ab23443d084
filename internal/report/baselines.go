package report

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"hybridtrain/internal/env"
)

// RandomStream is added to a random baseline run's index to form the stream (second PCG
// word) of its generator: run i draws from rand.New(rand.NewPCG(Config.Seed,
// RandomStream+i)). It lies apart from env.EnvStream and the trainer's streams.
const RandomStream uint64 = 0x726e_6400_0000_0000 // "rnd" in the high bytes

// Baseline names, as report.json keys them.
const (
	BaselineFlat       = "flat"
	BaselineRandom     = "random"
	BaselineBuyAndHold = "buy_and_hold"
)

// flatDecider never trades.
type flatDecider struct{}

func (flatDecider) decide([]float32, []bool, int) (env.Action, error) { return env.Hold, nil }

// randomDecider picks uniformly among the legal actions of each decision.
type randomDecider struct {
	rng   *rand.Rand
	legal [env.NumActions]env.Action
}

func (d *randomDecider) decide(_ []float32, mask []bool, _ int) (env.Action, error) {
	n := 0
	for a, ok := range mask {
		if ok {
			d.legal[n] = env.Action(a)
			n++
		}
	}
	if n == 0 {
		return env.Hold, fmt.Errorf("random baseline: no legal action")
	}
	return d.legal[d.rng.IntN(n)], nil
}

// buyHoldDecider buys at the first decision of each session at which BUY is legal and holds
// until the flatten (the backtest runs it with env.Options.NoStops: no stop, no target).
// After a breach closes its position it stays flat until the next session: one entry per
// session.
type buyHoldDecider struct{ entered int }

func (d *buyHoldDecider) decide(_ []float32, mask []bool, session int) (env.Action, error) {
	if session != d.entered && mask[env.Buy] {
		d.entered = session
		return env.Buy, nil
	}
	return env.Hold, nil
}

// RandomResult is the random baseline: Config.RandomSeeds runs, each with its own
// generator, and the mean and spread of every metric over them.
type RandomResult struct {
	Seed uint64 `json:"seed"` // Config.Seed; run i uses stream RandomStream + i
	// Mean and Std (sample, n-1) of each metric over the runs where it is finite; N counts
	// those runs. Keys are the metric names of Metrics' JSON form.
	Mean map[string]Float `json:"mean"`
	Std  map[string]Float `json:"std"`
	N    map[string]int   `json:"n"`

	Passed        int      `json:"passed"`         // runs whose verdict passed
	Breached      int      `json:"breached"`       // runs that breached the threshold
	MaskedActions int64    `json:"masked_actions"` // over all runs (must be 0)
	Runs          []Result `json:"runs"`
}

// Baselines are the reference policies, run on the same bars and rules as the policy.
type Baselines struct {
	Flat       Result       `json:"flat"`
	Random     RandomResult `json:"random"`
	BuyAndHold Result       `json:"buy_and_hold"`
}

// run is one backtest's account and the masked actions its policy chose.
type run struct {
	acc    *Account
	masked int64
}

// baselineRuns are the baselines' backtests.
type baselineRuns struct {
	flat, buyHold run
	random        []run
}

// runBaselines runs flat, random (cfg.RandomSeeds runs) and buy-and-hold of one contract
// with no stop or target on the bars and rules of s.
func runBaselines(ctx context.Context, s backtestSpec, cfg Config) (*baselineRuns, error) {
	var b baselineRuns
	var err error
	if b.flat.acc, b.flat.masked, err = backtest(ctx, s, flatDecider{}); err != nil {
		return nil, fmt.Errorf("report: flat baseline: %w", err)
	}
	for i := range cfg.RandomSeeds {
		d := &randomDecider{rng: rand.New(rand.NewPCG(cfg.Seed, RandomStream+uint64(i)))}
		acc, masked, err := backtest(ctx, s, d)
		if err != nil {
			return nil, fmt.Errorf("report: random baseline run %d: %w", i, err)
		}
		b.random = append(b.random, run{acc, masked})
	}
	// One contract, whatever `contracts` says: the baseline is "one contract per session".
	bh := s
	bh.cfg.Contracts = 1
	bh.noStops = true
	if b.buyHold.acc, b.buyHold.masked, err = backtest(ctx, bh, &buyHoldDecider{entered: -1}); err != nil {
		return nil, fmt.Errorf("report: buy-and-hold baseline: %w", err)
	}
	return &b, nil
}

// judgeBaselines computes the baselines' results.
func judgeBaselines(b *baselineRuns, seed uint64, judge func(string, run) Result) *Baselines {
	out := &Baselines{Flat: judge(BaselineFlat, b.flat), BuyAndHold: judge(BaselineBuyAndHold, b.buyHold)}
	out.Random.Seed = seed
	out.Random.Runs = []Result{}
	for i, r := range b.random {
		res := judge(fmt.Sprintf("%s-%d", BaselineRandom, i), r)
		out.Random.Runs = append(out.Random.Runs, res)
		if res.Verdict.Passed {
			out.Random.Passed++
		}
		if res.Verdict.Breached {
			out.Random.Breached++
		}
		out.Random.MaskedActions += r.masked
	}
	out.Random.Mean, out.Random.Std, out.Random.N = spread(out.Random.Runs)
	return out
}

// spread returns the mean, sample standard deviation and count of each metric over the
// runs where it is finite.
func spread(runs []Result) (mean, std map[string]Float, n map[string]int) {
	mean, std, n = map[string]Float{}, map[string]Float{}, map[string]int{}
	for _, f := range metricFields {
		var xs []float64
		for i := range runs {
			if v := float64(f.get(&runs[i].Metrics)); !math.IsNaN(v) && !math.IsInf(v, 0) {
				xs = append(xs, v)
			}
		}
		n[f.key] = len(xs)
		mean[f.key], std[f.key] = Undefined, Undefined
		if len(xs) == 0 {
			continue
		}
		var s float64
		for _, x := range xs {
			s += x
		}
		m := s / float64(len(xs))
		mean[f.key] = Float(m)
		if len(xs) < 2 {
			continue
		}
		var ss float64
		for _, x := range xs {
			ss += (x - m) * (x - m)
		}
		std[f.key] = Float(math.Sqrt(ss / float64(len(xs)-1)))
	}
	return mean, std, n
}

// metricField is one scalar metric: its JSON key, its label in the tables, how to read it
// and how many decimals to print.
type metricField struct {
	key, label string
	prec       int
	get        func(*Metrics) Float
}

// metricFields lists the scalar metrics in table order; the random baseline's mean and
// spread and the side-by-side tables are built from it.
var metricFields = []metricField{
	{"net_pnl", "Net P&L ($)", 2, func(m *Metrics) Float { return Float(m.NetPnL) }},
	{"return_pct", "Return (%)", 2, func(m *Metrics) Float { return Float(m.ReturnPct) }},
	{"annual_return_pct", "Annualised return (%)", 2, func(m *Metrics) Float { return m.AnnualReturnPct }},
	{"sharpe", "Sharpe (daily, x sqrt 252)", 2, func(m *Metrics) Float { return m.Sharpe }},
	{"sortino", "Sortino (daily, x sqrt 252)", 2, func(m *Metrics) Float { return m.Sortino }},
	{"calmar", "Calmar", 2, func(m *Metrics) Float { return m.Calmar }},
	{"max_drawdown", "Max drawdown ($)", 2, func(m *Metrics) Float { return Float(m.MaxDrawdown) }},
	{"max_drawdown_pct", "Max drawdown (%)", 2, func(m *Metrics) Float { return Float(m.MaxDrawdownPct) }},
	{"longest_drawdown_days", "Longest drawdown (days)", 0, func(m *Metrics) Float { return Float(m.LongestDrawdownDays) }},
	{"trades", "Trades", 0, func(m *Metrics) Float { return Float(m.Trades) }},
	{"trades_per_day", "Trades per day", 2, func(m *Metrics) Float { return m.TradesPerDay }},
	{"win_rate_pct", "Win rate (%)", 1, func(m *Metrics) Float { return m.WinRatePct }},
	{"profit_factor", "Profit factor", 2, func(m *Metrics) Float { return m.ProfitFactor }},
	{"avg_win", "Average win ($)", 2, func(m *Metrics) Float { return m.AvgWin }},
	{"avg_loss", "Average loss ($)", 2, func(m *Metrics) Float { return m.AvgLoss }},
	{"expectancy", "Expectancy per trade ($)", 2, func(m *Metrics) Float { return m.Expectancy }},
	{"commissions", "Commissions ($)", 2, func(m *Metrics) Float { return Float(m.Commissions) }},
	{"time_in_market_pct", "Time in market (%)", 1, func(m *Metrics) Float { return m.TimeInMarketPct }},
	{"best_day", "Best day ($)", 2, func(m *Metrics) Float { return dayPnL(m.BestDay) }},
	{"worst_day", "Worst day ($)", 2, func(m *Metrics) Float { return dayPnL(m.WorstDay) }},
}

func dayPnL(d *Day) Float {
	if d == nil {
		return Undefined
	}
	return Float(d.PnL)
}
