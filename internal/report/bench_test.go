package report

import (
	"bytes"
	"context"
	"math/rand/v2"
	"testing"

	"hybridtrain/internal/env"
)

// benchAccount is a 20-session account of 450 bars each with a trade every 15 bars.
func benchAccount() *Account {
	rng := rand.New(rand.NewPCG(1, 2))
	a := &Account{Start: 50_000}
	eq := 50_000.0
	var entry int64
	for s := range 20 {
		a.Dates = append(a.Dates, "2024-01-02")
		for k := range 450 {
			t := int64(s*86_400 + k*60)
			eq += rng.NormFloat64() * 20
			pos := 0
			if k%15 < 10 {
				pos = 1
			}
			a.Bars = append(a.Bars, env.BarRecord{Time: t, Equity: eq, Threshold: eq - 2500, Position: pos, Session: s})
			switch k % 15 {
			case 0:
				entry = t
			case 9:
				g := rng.NormFloat64() * 100
				a.Trades = append(a.Trades, env.Trade{EntryTime: entry, ExitTime: t, Side: 1, Contracts: 1, Gross: g, Commission: 5, Net: g - 5})
			}
		}
	}
	return a
}

func BenchmarkComputeMetrics(b *testing.B) {
	a := benchAccount()
	b.ReportAllocs()
	for b.Loop() {
		ComputeMetrics(a)
	}
}

func BenchmarkComputeVerdict(b *testing.B) {
	a := benchAccount()
	plan, _ := env.LookupPlan("50k")
	b.ReportAllocs()
	for b.Loop() {
		ComputeVerdict(a, plan, 7, nil)
	}
}

// BenchmarkBacktestRandom steps the random baseline over 21 synthetic NQ sessions (about
// 9,400 bars) as one continuous account.
func BenchmarkBacktestRandom(b *testing.B) {
	inst, _ := env.BuiltinInstrument("NQ")
	ds, err := env.Synthesize(inst, 21, 3)
	if err != nil {
		b.Fatal(err)
	}
	s := backtestSpec{ds: ds, cfg: env.DefaultConfig(), sessions: nil, obsDim: env.ObsDim}
	b.ReportAllocs()
	for b.Loop() {
		d := &randomDecider{rng: rand.New(rand.NewPCG(1, RandomStream))}
		if _, _, err := backtest(context.Background(), s, d); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWritePlot(b *testing.B) {
	r := &Report{account: benchAccount(), cfg: DefaultConfig(), Rules: Rules{StartBalance: 50_000, TrailingAmount: 2500, ProfitTarget: 3000}}
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if err := r.WritePlot(&buf); err != nil {
			b.Fatal(err)
		}
	}
}
