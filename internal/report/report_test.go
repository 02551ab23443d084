package report

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"hybridtrain/internal/env"
)

// scripted is a toy Actor: it returns the action f chooses for each observation and mask.
type scripted struct {
	dim int
	f   func(obs []float32, mask []bool) int32
	err error
}

func (s *scripted) ObsDim() int { return s.dim }

func (s *scripted) Act(obs []float32, masks []bool, rows int, out []int32) error {
	if s.err != nil {
		return s.err
	}
	for i := range rows {
		out[i] = s.f(obs[i*s.dim:(i+1)*s.dim], masks[i*env.NumActions:(i+1)*env.NumActions])
	}
	return nil
}

func holdActor() *scripted {
	return &scripted{dim: env.ObsDim, f: func([]float32, []bool) int32 { return int32(env.Hold) }}
}

// synthInput is an Input over 4 synthetic NQ sessions (the first warms the indicators).
func synthInput(t *testing.T, a Actor) Input {
	t.Helper()
	inst, _ := env.BuiltinInstrument("NQ")
	ds, err := env.Synthesize(inst, 4, 11)
	if err != nil {
		t.Fatal(err)
	}
	return Input{Dataset: ds, Sessions: []int{1, 2, 3}, Env: env.DefaultConfig(), Actor: a, Split: "test"}
}

func smallConfig() Config {
	c := DefaultConfig()
	c.RandomSeeds = 3
	return c
}

// TestBuyAndHoldBaseline: one long contract per session, filled at the open of the first
// entry bar (09:30) plus one tick of slippage, held without stop or target to the flatten
// bar's close or a breach.
func TestBuyAndHoldBaseline(t *testing.T) {
	in := synthInput(t, holdActor())
	in.Env.Contracts = 3 // the baseline trades one contract whatever `contracts` says
	r, err := Build(context.Background(), in, smallConfig())
	if err != nil {
		t.Fatal(err)
	}
	ds := in.Dataset
	a := r.benchmark
	// A breach closes the position but the next session enters again: always one trade per
	// session.
	if len(a.Trades) != 3 {
		t.Fatalf("%d trades, want one per session (3)", len(a.Trades))
	}
	for _, tr := range a.Trades {
		entry := time.Unix(tr.EntryTime, 0).In(ds.Instrument.Zone)
		if tr.Side != 1 || tr.Contracts != 1 {
			t.Errorf("trade %+v: want long, 1 contract", tr)
		}
		if tr.Exit != env.ExitFlatten && tr.Exit != env.ExitBreach {
			t.Errorf("trade exits at %s, want flatten or breach (no stop, no target)", tr.Exit)
		}
		if entry.Format("15:04") != "09:30" {
			t.Errorf("entry at %s, want 09:30", entry.Format(time.RFC3339))
		}
		// The fill: open of the entry bar rounded up to the tick, plus one tick.
		k := barAt(ds, tr.EntryTime)
		if want := roundUpTick(ds.Bars.Open[k], 0.25) + 0.25; tr.EntryPrice != want {
			t.Errorf("entry price %v, want %v (open %v + 1 tick)", tr.EntryPrice, want, ds.Bars.Open[k])
		}
		if tr.Exit == env.ExitFlatten {
			x := time.Unix(tr.ExitTime, 0).In(ds.Instrument.Zone)
			if x.Format("15:04") != "16:58" {
				t.Errorf("flatten exit at %s, want the 16:58 bar", x.Format(time.RFC3339))
			}
		}
	}
	if bh := r.Baselines.BuyAndHold; bh.Verdict.MaxContractsUsed != 1 || bh.Verdict.FlattenViolations != 0 {
		t.Errorf("buy-and-hold verdict %+v: want 1 contract, no flatten violation", bh.Verdict)
	}
	if r.Rules.Contracts != 3 {
		t.Errorf("rules.contracts = %d, want the policy's 3", r.Rules.Contracts)
	}
}

func barAt(ds *env.Dataset, t int64) int {
	for i, x := range ds.Bars.Time {
		if x == t {
			return i
		}
	}
	return -1
}

func roundUpTick(p, tick float64) float64 {
	k := p / tick
	n := float64(int64(k))
	if k-n > 1e-6 {
		n++
	}
	return n * tick
}

// TestRandomBaselineSeeds: the same seed gives the same runs; another seed other runs; runs
// of one report differ from each other.
func TestRandomBaselineSeeds(t *testing.T) {
	build := func(seed uint64) *RandomResult {
		cfg := smallConfig()
		cfg.Seed = seed
		r, err := Build(context.Background(), synthInput(t, holdActor()), cfg)
		if err != nil {
			t.Fatal(err)
		}
		return &r.Baselines.Random
	}
	a, b, c := build(1), build(1), build(2)
	for i := range a.Runs {
		if a.Runs[i].Metrics.NetPnL != b.Runs[i].Metrics.NetPnL || a.Runs[i].Metrics.Trades != b.Runs[i].Metrics.Trades {
			t.Errorf("run %d: seed 1 twice gives %v and %v", i, a.Runs[i].Metrics.NetPnL, b.Runs[i].Metrics.NetPnL)
		}
	}
	if a.Runs[0].Metrics.NetPnL == a.Runs[1].Metrics.NetPnL && a.Runs[0].Metrics.Trades == a.Runs[1].Metrics.Trades {
		t.Error("runs 0 and 1 are identical: each run needs its own stream")
	}
	if a.Runs[0].Metrics.NetPnL == c.Runs[0].Metrics.NetPnL && a.Runs[0].Metrics.Trades == c.Runs[0].Metrics.Trades {
		t.Error("seeds 1 and 2 give the same first run")
	}
	if a.MaskedActions != 0 {
		t.Errorf("random baseline took %d masked actions, want 0", a.MaskedActions)
	}
	if a.Runs[0].Metrics.Trades == 0 {
		t.Error("the random baseline never traded")
	}
}

// TestMaskedActionsCounted: an actor that always says BUY is refused while in position; the
// report counts every refusal.
func TestMaskedActionsCounted(t *testing.T) {
	var refused int64
	greedy := &scripted{dim: env.ObsDim, f: func(_ []float32, mask []bool) int32 {
		if !mask[env.Buy] {
			refused++
		}
		return int32(env.Buy)
	}}
	cfg := smallConfig()
	cfg.Baselines = false
	r, err := Build(context.Background(), synthInput(t, greedy), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if refused == 0 || r.Policy.MaskedActions != refused {
		t.Errorf("masked actions %d, want the %d BUYs the mask refused (> 0)", r.Policy.MaskedActions, refused)
	}
	if r.Baselines != nil {
		t.Error("baselines ran with Config.Baselines off")
	}
}

func TestBuildErrors(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	boom := errors.New("boom")
	cases := []struct {
		name string
		ctx  context.Context
		mod  func(*Input, *Config)
		is   error
		msg  string
	}{
		{"canceled", canceled, func(*Input, *Config) {}, context.Canceled, "context canceled"},
		{"actor fails", context.Background(), func(in *Input, _ *Config) { in.Actor = &scripted{dim: env.ObsDim, err: boom} }, boom, "report: policy: report: backtest: boom"},
		{"no actor", context.Background(), func(in *Input, _ *Config) { in.Actor = nil }, nil, "a dataset and an actor are needed"},
		{"bad plan", context.Background(), func(in *Input, _ *Config) { in.Env.Plan = "3k" }, nil, `plan must be one of`},
		{"bad session", context.Background(), func(in *Input, _ *Config) { in.Sessions = []int{9} }, nil, "session 9 out of range"},
		{"bad observation size", context.Background(), func(in *Input, _ *Config) { in.Actor = &scripted{dim: 5} }, nil, "observation size must be"},
		{"bad config", context.Background(), func(_ *Input, c *Config) { c.RandomSeeds = 0 }, nil, "random_seeds"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := synthInput(t, holdActor())
			cfg := smallConfig()
			c.mod(&in, &cfg)
			_, err := Build(c.ctx, in, cfg)
			if err == nil || !strings.Contains(err.Error(), c.msg) || !strings.HasPrefix(err.Error(), "report: ") {
				t.Fatalf("err = %v, want a report: error containing %q", err, c.msg)
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Errorf("err = %v, want errors.Is %v", err, c.is)
			}
		})
	}
}
