package env

import (
	"math"
	"testing"
)

// The breach scenarios buy 1 NQ at 09:30 (fill 24000.25, balance 50,000 - 2.50 = 49,997.50)
// with sl_atr = 100, so that the stop (200 points away) and the target never interfere.
// Plan 50k: trailing amount $2,500. Equity at price p while long: 49,997.50 + (p - 24000.25) x 20.

func breachConfig(reward, mode string) Config {
	cfg := DefaultConfig()
	cfg.SLATR = 100
	cfg.Reward = reward
	cfg.ApexMode = mode
	return cfg
}

// climb is the bars of the trailing scenarios: up 100 points in each of 09:30 and 09:31,
// down to a low of 24070 at 09:32, then flat at 24100.
func climb() overrides {
	ov := overrides{
		hm(9, 30): {24000, 24100, 24000, 24100, 100},
		hm(9, 31): {24100, 24200, 24100, 24200, 100},
		hm(9, 32): {24200, 24200, 24070, 24100, 100},
	}
	for c := hm(9, 33); c <= hm(16, 59); c++ {
		ov[c] = flatBar(24100)
	}
	return ov
}

func TestBreachOnLiveEquity(t *testing.T) {
	buy := map[Clock]Action{hm(9, 30): Buy}
	cases := []struct {
		name       string
		bars       overrides
		short      bool // SELL at 09:30 instead of BUY
		mode       string
		breachAt   Clock   // 0: no breach
		exit       float64 // breach exit price
		net        float64
		pnlReward  float64 // reward of the breach step, pnl
		shapedRwd  float64 // reward of the breach step, apex-shaped
		threshold  float64 // threshold after the breach step (or at the end)
		finalEquty float64
	}{
		{
			// 09:30 high 24001: peak = 49,997.50 + 0.75 x 20 = 50,012.50, threshold 47,512.50.
			// 09:31 low 23850: equity there 46,992.50 <= threshold, although the close (23990)
			// leaves 49,792.50 - the original, testing closes only, missed this.
			// Breach price: 24000.25 + (47,512.50 - 49,997.50)/20 = 23876.00, minus a tick of
			// slippage 23875.75: -498 ticks, net -2,495. Equity before the step: 50,012.50
			// (marked at the 09:30 close 24001).
			name: "intrabar low",
			bars: overrides{
				hm(9, 30): {24000, 24001, 23999, 24001, 100},
				hm(9, 31): {24000, 24001, 23850, 23990, 100},
			},
			mode: ApexEvaluation, breachAt: hm(9, 31), exit: 23875.75, net: -2495,
			pnlReward: (47505-50012.5)/100 - 1, shapedRwd: -0.5 - 0.1,
			threshold: 47512.5, finalEquty: 47505,
		},
		{
			// Gap: 09:31 opens at 23850, below the breach price 23876.00: exit at the open
			// minus slippage, 23849.75: -602 ticks, net -3,015.
			name: "gap through the threshold",
			bars: overrides{
				hm(9, 30): {24000, 24001, 23999, 24001, 100},
				hm(9, 31): {23850, 23851, 23840, 23845, 100},
			},
			mode: ApexEvaluation, breachAt: hm(9, 31), exit: 23849.75, net: -3015,
			pnlReward: (46985-50012.5)/100 - 1, shapedRwd: -0.6,
			threshold: 47512.5, finalEquty: 46985,
		},
		{
			// The peak rises at the favourable extreme: 09:30 high 24100 gives 51,992.50 and a
			// threshold of 49,492.50, so a low of 23970 at 09:31 (equity 49,392.50) breaches
			// while the account is only 30 points under water. Breach price 24000.25 +
			// (49,492.50 - 49,997.50)/20 = 23975.00, exit 23974.75: -102 ticks, net -515.
			name: "threshold raised by the high",
			bars: overrides{
				hm(9, 30): {24000, 24100, 23999, 24000, 100},
				hm(9, 31): {24000, 24001, 23970, 23990, 100},
			},
			mode: ApexEvaluation, breachAt: hm(9, 31), exit: 23974.75, net: -515,
			pnlReward: (49485-49992.5)/100 - 1, shapedRwd: -0.6,
			threshold: 49492.5, finalEquty: 49485,
		},
		{
			// The bar's own rise makes the breach: 09:31 opens at 24000 (equity 49,992.50,
			// far above the threshold in force, 47,512.50: no gap), its high 24200 raises the
			// peak to 53,992.50 and the threshold to 51,492.50, and its low 23900 (equity
			// 47,992.50) breaches. Under the order the rule assumes (rise first, then the
			// fall) the price crosses the breach price 24000.25 + (51,492.50 - 49,997.50)/20
			// = 24075.00 on the way down: exit 24074.75, +298 ticks, net 1,485. The open,
			// 24000, is below the breach price only because the threshold rose after it:
			// no path through the bar exits there.
			name: "threshold raised by the breach bar itself is not a gap",
			bars: overrides{
				hm(9, 30): {24000, 24001, 23999, 24001, 100},
				hm(9, 31): {24000, 24200, 23900, 23950, 100},
			},
			mode: ApexEvaluation, breachAt: hm(9, 31), exit: 24074.75, net: 1485,
			pnlReward: (51485-50012.5)/100 - 1, shapedRwd: 1 + 1485.0/10_000 - 0.1,
			threshold: 51492.5, finalEquty: 51485,
		},
		{
			// Short mirror of "gap through the threshold": SELL at 09:30 fills at 23999.75
			// (balance 49,997.50); the 09:30 low 23999 gives a peak of 50,012.50 and a
			// threshold of 47,512.50. 09:31 opens at 24150 (equity 46,992.50, already under
			// it): the breach price 23999.75 + (49,997.50 - 47,512.50)/20 = 24124.00 was
			// gapped, so the exit is the open plus slippage, 24150.25: -602 ticks, net -3,015.
			name: "short gap through the threshold",
			bars: overrides{
				hm(9, 30): {24000, 24001, 23999, 23999, 100},
				hm(9, 31): {24150, 24160, 24140, 24150, 100},
			},
			short: true, mode: ApexEvaluation, breachAt: hm(9, 31), exit: 24150.25, net: -3015,
			pnlReward: (46985-50012.5)/100 - 1, shapedRwd: -0.6,
			threshold: 47512.5, finalEquty: 46985,
		},
		{
			// Short mirror of the previous case: 09:31 opens at 24000 (no gap), its low 23800
			// raises the threshold to 53,992.50 - 2,500 = 51,492.50 and its high 24100
			// (equity 47,992.50) breaches. Breach price 23999.75 - (51,492.50 - 49,997.50)/20
			// = 23925.00, exit 23925.25: +298 ticks, net 1,485.
			name: "short: threshold raised by the breach bar itself is not a gap",
			bars: overrides{
				hm(9, 30): {24000, 24001, 23999, 23999, 100},
				hm(9, 31): {24000, 24100, 23800, 23850, 100},
			},
			short: true, mode: ApexEvaluation, breachAt: hm(9, 31), exit: 23925.25, net: 1485,
			pnlReward: (51485-50012.5)/100 - 1, shapedRwd: 1 + 1485.0/10_000 - 0.1,
			threshold: 51492.5, finalEquty: 51485,
		},
		{
			// Evaluation mode: the price climbs in bars whose range stays under $2,500 (a
			// wider bar would breach on its own, the rise being applied before the test):
			// 09:31 high 24200 gives a peak of 53,992.50 and a threshold of 51,492.50; the
			// 09:32 low 24070 (equity 51,392.50) breaches. Breach price 24000.25 +
			// (51,492.50 - 49,997.50)/20 = 24075.00, exit 24074.75: +298 ticks, net 1,485 (a
			// winning trade, closed by the breach). Equity before the step: marked at the
			// 09:31 close 24200, 53,992.50.
			name: "evaluation keeps trailing",
			bars: climb(),
			mode: ApexEvaluation, breachAt: hm(9, 32), exit: 24074.75, net: 1485,
			pnlReward: (51485-53992.5)/100 - 1, shapedRwd: 1 + 1485.0/10_000 - 0.1,
			threshold: 51492.5, finalEquty: 51485,
		},
		{
			// Funded mode, same bars: the threshold stops at start + 100 = 50,100, so there is
			// no breach; the trade is flattened at 16:58 (close 24100 - 0.25 = 24099.75: +398
			// ticks, net 1,985).
			name: "funded stops trailing at start + 100",
			bars: climb(),
			mode: ApexFunded, breachAt: 0, net: 1985,
			threshold: 50100, finalEquty: 51985,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ds := scenario(t, tc.bars)
			for _, reward := range []string{RewardPnL, RewardApexShaped} {
				cfg := breachConfig(reward, tc.mode)
				acts := buy
				if tc.short {
					acts = map[Clock]Action{hm(9, 30): Sell}
				}
				steps, rec := script(t, ds, cfg, acts)
				last := steps[len(steps)-1]
				if tc.breachAt == 0 {
					for _, s := range steps {
						if s.Info.Breach {
							t.Fatalf("%s: breach reported, want none", reward)
						}
					}
				} else {
					if !last.Info.Breach || !last.Terminated || last.Truncated {
						t.Fatalf("%s: last step breach %v terminated %v truncated %v, want true true false",
							reward, last.Info.Breach, last.Terminated, last.Truncated)
					}
					if got := ds.Bars.Clock[indexOfTime(ds, rec.lastBar().Time)]; got != tc.breachAt {
						t.Errorf("%s: breach at %s, want %s", reward, got, tc.breachAt)
					}
					tr := rec.lastTrade()
					if tr.Exit != ExitBreach || tr.ExitPrice != tc.exit {
						t.Errorf("%s: exit %v at %v, want breach at %v", reward, tr.Exit, tr.ExitPrice, tc.exit)
					}
					want := tc.pnlReward
					if reward == RewardApexShaped {
						want = tc.shapedRwd
					}
					if math.Abs(last.Reward-want) > 1e-9 {
						t.Errorf("%s: breach step reward %v, want %v", reward, last.Reward, want)
					}
				}
				if tr := rec.lastTrade(); tr.Net != tc.net {
					t.Errorf("%s: trade net %v, want %v", reward, tr.Net, tc.net)
				}
				if got := rec.lastBar().Threshold; got != tc.threshold {
					t.Errorf("%s: threshold %v, want %v", reward, got, tc.threshold)
				}
				if last.Info.Equity != tc.finalEquty {
					t.Errorf("%s: final equity %v, want %v", reward, last.Info.Equity, tc.finalEquty)
				}
			}
		})
	}
}

// TestBreachContinuous checks the backtest mode: the breach is reported once, the breach
// exit closes the position, and the account keeps trading from the breached equity.
func TestBreachContinuous(t *testing.T) {
	ds := simDays(t, []string{"2024-03-05", "2024-03-06"}, func(d int, clock Clock) simBar {
		if d == 0 && clock == hm(9, 31) {
			return simBar{24000, 24001, 23850, 23990, 100}
		}
		if d == 0 && clock >= hm(9, 32) {
			return flatBar(23990)
		}
		return flatBar(24000)
	})
	rec := &recorder{}
	e, obs, mask := startEnv(t, ds, breachConfig(RewardPnL, ApexEvaluation), Options{Mode: ModeContinuous, Observer: rec}, nil)
	var breaches int
	for {
		a := Hold
		if mask[Buy] && ds.Bars.Clock[e.Bar()] == hm(9, 30) {
			a = Buy
		}
		r := e.Step(a, obs, mask)
		if r.Info.Breach {
			breaches++
		}
		if r.Terminated || r.Truncated {
			break
		}
	}
	if breaches != 1 {
		t.Errorf("%d breaches reported, want 1", breaches)
	}
	if len(rec.trades) != 2 || rec.trades[0].Exit != ExitBreach || rec.trades[1].Exit != ExitFlatten {
		t.Fatalf("trades %+v, want a breach exit on day 1 and a flatten on day 2", rec.trades)
	}
	// Day 1: -2,495 (as in TestBreachOnLiveEquity); day 2: bought at 24000.25, flattened at
	// 23999.75: -15.
	if got, want := rec.lastBar().Equity, 50_000-2495-15.0; got != want {
		t.Errorf("final equity %v, want %v", got, want)
	}
}

func TestPlanThreshold(t *testing.T) {
	p, err := LookupPlan("50k")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		peak   float64
		funded bool
		want   float64
	}{
		{50_000, false, 47_500},
		{52_000, false, 49_500},
		{60_000, false, 57_500},
		{50_000, true, 47_500},
		{52_600, true, 50_100},
		{60_000, true, 50_100},
	}
	for _, tc := range cases {
		if got := p.Threshold(tc.peak, tc.funded); got != tc.want {
			t.Errorf("Threshold(%v, funded %v) = %v, want %v", tc.peak, tc.funded, got, tc.want)
		}
	}
	if _, err := LookupPlan("40k"); err == nil {
		t.Error("LookupPlan(40k) succeeded, want an error")
	}
	want := []Plan{
		{"25k", 25000, 1500, 4, 1500}, {"50k", 50000, 2500, 10, 3000}, {"75k", 75000, 2750, 12, 4250},
		{"100k", 100000, 3000, 14, 6000}, {"150k", 150000, 5000, 17, 9000}, {"250k", 250000, 6500, 27, 15000},
		{"300k", 300000, 7500, 35, 20000},
	}
	for _, w := range want {
		if got, err := LookupPlan(w.Name); err != nil || got != w {
			t.Errorf("LookupPlan(%s) = %+v, %v; want %+v", w.Name, got, err, w)
		}
	}
}

func TestApexTracker(t *testing.T) {
	p, _ := LookupPlan("50k") // target 53,000
	type ev struct {
		breach bool
		equity float64
		traded bool
	}
	cases := []struct {
		name   string
		events []ev
		want   ApexVerdict
	}{
		{"target reached after enough days", []ev{{false, 51000, true}, {false, 52000, true}, {false, 53000, true}},
			ApexVerdict{Passed: true, PassDate: "d2", TargetReached: true, TradingDays: 3, MinTradingDays: 3, Sessions: 3}},
		{"target reached too early, then held", []ev{{false, 53500, true}, {false, 53500, false}, {false, 53500, true}, {false, 53400, true}},
			ApexVerdict{Passed: true, PassDate: "d3", TargetReached: true, TradingDays: 3, MinTradingDays: 3, Sessions: 4}},
		{"breach before the target", []ev{{false, 51000, true}, {true, 0, false}, {false, 54000, true}},
			ApexVerdict{Breached: true, BreachTime: 1, TradingDays: 1, MinTradingDays: 3, Sessions: 1}},
		{"target without trading days", []ev{{false, 53000, true}, {false, 53000, false}},
			ApexVerdict{TargetReached: true, TradingDays: 1, MinTradingDays: 3, Sessions: 2}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := NewApexTracker(p, 3)
			for i, e := range tc.events {
				if e.breach {
					a.Breach(int64(i))
					continue
				}
				a.EndSession("d"+string(rune('0'+i)), e.equity, e.traded)
			}
			if got := a.Verdict(); got != tc.want {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}
