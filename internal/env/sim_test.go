package env

import (
	"math"
	"testing"
)

// The hand-computed scenarios below run on NQ ($20/point, tick 0.25 = $5, commission $2.50
// per side, slippage 1 tick) over one session of flat bars at 24,000 (range +-1, so ATR14 is
// exactly 2 at every bar before the scripted ones), with the default configuration:
// stop distance 1.5 x 2 = 3 points, target distance 3 x 3 = 9 points.
//
//	BUY  at open 24000: fill 24000.25, stop 23997.25, target 24009.25
//	SELL at open 24000: fill 23999.75, stop 24002.75, target 23990.75
//
// Every expected P&L is (ticks x $5) - $5: exactly two commissions of $2.50.

// overrides maps a bar's open time to its prices; other bars are flatBar(24000).
type overrides map[Clock]simBar

func scenario(t testing.TB, ov overrides) *Dataset {
	return simDays(t, []string{"2024-03-05"}, func(_ int, clock Clock) simBar {
		if b, ok := ov[clock]; ok {
			return b
		}
		return flatBar(24000)
	})
}

func TestTradePnL(t *testing.T) {
	// Bars of the break-even + trailing scenarios (see the test case comments).
	longTrail := overrides{
		hm(9, 30): {24000, 24001, 23999, 24001, 100}, // TR 2; unrealized at close (24001-24000.25)x20 = $15
		hm(9, 31): {24001, 24003, 24001, 24003, 100}, // TR 2; stays above the BE stop 24000.50
		hm(9, 32): {24003, 24004, 24000.5, 24002, 100},
	}
	shortTrail := overrides{
		hm(9, 30): {24000, 24001, 23999, 23999, 100},
		hm(9, 31): {23999, 23999, 23997, 23997, 100},
		hm(9, 32): {23997, 23999.5, 23996, 23998, 100},
	}
	buy := map[Clock]Action{hm(9, 30): Buy}
	sell := map[Clock]Action{hm(9, 30): Sell}
	cases := []struct {
		name    string
		bars    overrides
		acts    map[Clock]Action
		exitAt  Clock // open time of the exit bar
		side    int
		entry   float64
		exit    float64
		reason  ExitReason
		ticks   int
		wantNet float64
	}{
		{"long stop", overrides{hm(9, 32): {24000, 24001, 23997, 23998, 100}}, buy, hm(9, 32),
			// exit min(23997.25, open 24000) - 0.25 = 23997.00: -13 ticks
			1, 24000.25, 23997.00, ExitStop, -13, -13*5 - 5},
		{"long stop on the entry bar", overrides{hm(9, 30): {24000, 24001, 23997, 23998, 100}}, buy, hm(9, 30),
			1, 24000.25, 23997.00, ExitStop, -13, -70},
		{"long target", overrides{hm(9, 32): {24000, 24009.25, 23999, 24005, 100}}, buy, hm(9, 32),
			// exit at the target 24009.25, no slippage: +36 ticks
			1, 24000.25, 24009.25, ExitTarget, 36, 36*5 - 5},
		{"long stop and target in one bar: stop first", overrides{hm(9, 32): {24000, 24010, 23997, 24005, 100}}, buy, hm(9, 32),
			1, 24000.25, 23997.00, ExitStop, -13, -70},
		{"long gap through the stop fills at the open", overrides{hm(9, 32): {23995, 23996, 23994, 23995, 100}}, buy, hm(9, 32),
			// min(23997.25, 23995) - 0.25 = 23994.75: -22 ticks
			1, 24000.25, 23994.75, ExitStop, -22, -22*5 - 5},
		{"long flatten", overrides{hm(16, 58): {24000, 24003, 23999, 24002.10, 100}}, buy, hm(16, 58),
			// close 24002.10 rounded down 24002.00, minus slippage 24001.75: +6 ticks
			1, 24000.25, 24001.75, ExitFlatten, 6, 6*5 - 5},
		{"long fill rounded adversely", overrides{hm(9, 30): {24000.10, 24001, 23999, 24000, 100}}, buy, hm(16, 58),
			// fill: 24000.10 rounded up 24000.25 + 0.25 = 24000.50; flatten at 24000 - 0.25: -3 ticks
			1, 24000.50, 23999.75, ExitFlatten, -3, -3*5 - 5},
		{"long trailing stop", longTrail,
			// 09:31 BE: stop 24000.25 + 1 tick = 24000.50. 09:32 trail on: close[09:31] 24003 -
			// 1 x ATR 2 = 24001.00 > 24000.50, so the stop rises; low 24000.5 touches it: exit
			// 24001.00 - 0.25 = 24000.75, +2 ticks.
			map[Clock]Action{hm(9, 30): Buy, hm(9, 31): MoveStopToBE, hm(9, 32): EnableTrail}, hm(9, 32),
			1, 24000.25, 24000.75, ExitTrailStop, 2, 2*5 - 5},
		{"short stop", overrides{hm(9, 32): {24000, 24003, 23999, 24001, 100}}, sell, hm(9, 32),
			// max(24002.75, open 24000) + 0.25 = 24003.00: -13 ticks
			-1, 23999.75, 24003.00, ExitStop, -13, -70},
		{"short target", overrides{hm(9, 32): {24000, 24001, 23990.75, 23995, 100}}, sell, hm(9, 32),
			-1, 23999.75, 23990.75, ExitTarget, 36, 175},
		{"short stop and target in one bar: stop first", overrides{hm(9, 32): {24000, 24003, 23990, 23995, 100}}, sell, hm(9, 32),
			-1, 23999.75, 24003.00, ExitStop, -13, -70},
		{"short gap through the stop fills at the open", overrides{hm(9, 32): {24005, 24006, 24004, 24005, 100}}, sell, hm(9, 32),
			// max(24002.75, 24005) + 0.25 = 24005.25: -22 ticks
			-1, 23999.75, 24005.25, ExitStop, -22, -115},
		{"short flatten", overrides{hm(16, 58): {24000, 24001, 23997, 23997.90, 100}}, sell, hm(16, 58),
			// close 23997.90 rounded up 23998.00, plus slippage 23998.25: +6 ticks
			-1, 23999.75, 23998.25, ExitFlatten, 6, 25},
		{"short trailing stop", shortTrail,
			// BE: 23999.75 - 0.25 = 23999.50; trail: close 23997 + 2 = 23999.00; high 23999.5
			// touches it: exit 23999.00 + 0.25 = 23999.25, +2 ticks.
			map[Clock]Action{hm(9, 30): Sell, hm(9, 31): MoveStopToBE, hm(9, 32): EnableTrail}, hm(9, 32),
			-1, 23999.75, 23999.25, ExitTrailStop, 2, 5},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ds := scenario(t, tc.bars)
			steps, rec := script(t, ds, DefaultConfig(), tc.acts)
			if len(rec.trades) != 1 {
				t.Fatalf("got %d trades, want 1: %+v", len(rec.trades), rec.trades)
			}
			tr := rec.trades[0]
			exitBar := barAt(t, ds, 0, tc.exitAt)
			if tr.ExitTime != ds.Bars.Time[exitBar] {
				t.Errorf("exit bar %s, want %s", ds.Bars.Clock[indexOfTime(ds, tr.ExitTime)], tc.exitAt)
			}
			if tr.Side != tc.side || tr.EntryPrice != tc.entry || tr.ExitPrice != tc.exit || tr.Exit != tc.reason {
				t.Errorf("got side %d entry %v exit %v (%v), want %d %v %v (%v)",
					tr.Side, tr.EntryPrice, tr.ExitPrice, tr.Exit, tc.side, tc.entry, tc.exit, tc.reason)
			}
			if tr.Ticks != tc.ticks || tr.Gross != float64(tc.ticks)*5 || tr.Commission != 5 || tr.Net != tc.wantNet {
				t.Errorf("got ticks %d gross %v commission %v net %v, want %d %v 5 %v",
					tr.Ticks, tr.Gross, tr.Commission, tr.Net, tc.ticks, float64(tc.ticks)*5, tc.wantNet)
			}
			// The account: flat at the end, balance = start + net (no third commission).
			last := steps[len(steps)-1]
			if got, want := last.Info.Equity, 50_000+tc.wantNet; got != want {
				t.Errorf("final equity %v, want %v", got, want)
			}
			if got := last.Info.EpisodePnL; got != tc.wantNet {
				t.Errorf("episode P&L %v, want %v", got, tc.wantNet)
			}
			// The step that closed the trade reports it.
			var closed int
			for _, s := range steps {
				if s.Info.TradeClosed {
					closed++
					if s.Info.TradePnL != tc.wantNet || s.Info.Exit != tc.reason {
						t.Errorf("info: trade P&L %v (%v), want %v (%v)", s.Info.TradePnL, s.Info.Exit, tc.wantNet, tc.reason)
					}
				}
			}
			if closed != 1 {
				t.Errorf("%d steps reported a closed trade, want 1", closed)
			}
			// pnl rewards telescope: their sum is the equity change over 20 ticks x $5.
			var sum float64
			for _, s := range steps {
				sum += s.Reward
			}
			if want := tc.wantNet / 100; math.Abs(sum-want) > 1e-9 {
				t.Errorf("sum of rewards %v, want %v", sum, want)
			}
		})
	}
}

func indexOfTime(ds *Dataset, sec int64) int {
	for j, x := range ds.Bars.Time {
		if x == sec {
			return j
		}
	}
	return 0
}

// TestTickRounding checks the tick arithmetic on a 0.1 tick (RTY), where decimal prices are
// not exact in binary: 2200.3 / 0.1 = 22002.999999999996.
func TestTickRounding(t *testing.T) {
	e := &Env{tick: 0.1}
	cases := []struct {
		p          float64
		down, up   int64
		below22003 bool
		above22003 bool
	}{
		{2200.3, 22003, 22003, true, true},
		{2200.31, 22003, 22004, false, true},
		{2200.29, 22002, 22003, true, false},
	}
	for _, tc := range cases {
		if got := e.ticksDown(tc.p); got != tc.down {
			t.Errorf("ticksDown(%v) = %d, want %d", tc.p, got, tc.down)
		}
		if got := e.ticksUp(tc.p); got != tc.up {
			t.Errorf("ticksUp(%v) = %d, want %d", tc.p, got, tc.up)
		}
		if got := e.below(tc.p, 22003); got != tc.below22003 {
			t.Errorf("below(%v, 22003) = %v, want %v", tc.p, got, tc.below22003)
		}
		if got := e.above(tc.p, 22003); got != tc.above22003 {
			t.Errorf("above(%v, 22003) = %v, want %v", tc.p, got, tc.above22003)
		}
	}
}

// TestNoStops: with Options.NoStops (the buy-and-hold baseline) a long survives a bar that
// would have stopped it and is flattened at 16:58: close 24000 - 1 tick after a fill at
// 24000.25, -2 ticks, net -15.
func TestNoStops(t *testing.T) {
	ds := scenario(t, overrides{hm(9, 32): {24000, 24001, 23990, 23998, 100}})
	rec := &recorder{}
	e, obs, mask := startEnv(t, ds, DefaultConfig(), Options{Sessions: []int{0}, Mode: ModeOrdered, Observer: rec, NoStops: true}, nil)
	for a := Buy; ; a = Hold {
		if r := e.Step(a, obs, mask); r.Terminated || r.Truncated {
			break
		}
	}
	if len(rec.trades) != 1 || rec.trades[0].Exit != ExitFlatten || rec.trades[0].Net != -15 {
		t.Errorf("trades %+v, want one flatten exit with net -15", rec.trades)
	}
}

// TestContracts: with 3 contracts the long stop case of TestTradePnL loses 3 x 13 ticks x $5
// plus 3 x 2 commissions of $2.50: -195 - 15 = -210.
func TestContracts(t *testing.T) {
	ds := scenario(t, overrides{hm(9, 32): {24000, 24001, 23997, 23998, 100}})
	cfg := DefaultConfig()
	cfg.Contracts = 3
	steps, rec := script(t, ds, cfg, map[Clock]Action{hm(9, 30): Buy})
	if len(rec.trades) != 1 {
		t.Fatalf("got %d trades, want 1", len(rec.trades))
	}
	tr := rec.trades[0]
	if tr.Contracts != 3 || tr.Ticks != -13 || tr.Gross != -195 || tr.Commission != 15 || tr.Net != -210 {
		t.Errorf("got %d contracts, %d ticks, gross %v, commission %v, net %v; want 3, -13, -195, 15, -210",
			tr.Contracts, tr.Ticks, tr.Gross, tr.Commission, tr.Net)
	}
	if got := steps[len(steps)-1].Info.Equity; got != 50_000-210 {
		t.Errorf("final equity %v, want %v", got, 50_000-210)
	}
}
