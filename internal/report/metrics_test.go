package report

import (
	"encoding/json"
	"math"
	"testing"

	"hybridtrain/internal/env"
)

// bar is a hand-built account record.
func bar(session int, t int64, equity float64, pos int) env.BarRecord {
	return env.BarRecord{Time: t, Equity: equity, Position: pos, Session: session}
}

// trade is a hand-built closed trade; gross and commission give the net.
func trade(entry, exit int64, side int, gross, commission float64) env.Trade {
	return env.Trade{EntryTime: entry, ExitTime: exit, Side: side, Contracts: 1,
		Gross: gross, Commission: commission, Net: gross - commission}
}

var dates3 = []string{"2024-01-02", "2024-01-03", "2024-01-04"}

// threeDays: +200 (a long won 200), -250 (a short lost 250), +150 (a long won 150) on a
// 50,000 account; equity marks at every bar.
func threeDays() *Account {
	return &Account{
		Start: 50_000, Dates: dates3,
		Bars: []env.BarRecord{
			bar(0, 1000, 50_000, 1), bar(0, 1060, 50_100, 1), bar(0, 1120, 50_200, 0),
			bar(1, 2000, 50_150, -1), bar(1, 2060, 49_900, -1), bar(1, 2120, 49_950, 0),
			bar(2, 3000, 49_950, 0), bar(2, 3060, 50_050, 1), bar(2, 3120, 50_100, 0),
		},
		Trades: []env.Trade{
			trade(1000, 1120, 1, 205, 5),
			trade(2000, 2120, -1, -245, 5),
			trade(3060, 3120, 1, 155, 5),
		},
	}
}

const tol = 1e-9

func near(got, want float64) bool {
	if math.IsNaN(want) {
		return math.IsNaN(got)
	}
	if math.IsInf(want, 0) {
		return got == want
	}
	return math.Abs(got-want) <= tol*(1+math.Abs(want))
}

// check compares named metric values.
func check(t *testing.T, got map[string]float64, want map[string]float64) {
	t.Helper()
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("%s: not computed", k)
			continue
		}
		if !near(g, w) {
			t.Errorf("%s = %v, want %v", k, g, w)
		}
	}
}

// values flattens m for check.
func values(m Metrics) map[string]float64 {
	out := map[string]float64{
		"final_equity": m.FinalEquity, "bars": float64(m.Bars), "days": float64(m.Days),
		"wins": float64(m.Wins), "losses": float64(m.Losses), "gross_pnl": m.GrossPnL,
	}
	for _, f := range metricFields {
		out[f.key] = float64(f.get(&m))
	}
	return out
}

func TestMetricsThreeDays(t *testing.T) {
	m := ComputeMetrics(threeDays())
	// Daily returns 200/50000, -250/50000, 150/50000 = 0.004, -0.005, 0.003; mean 0.002/3.
	// Deviations from the mean: 0.01/3, -0.017/3, 0.007/3; squares sum 0.000438/9.
	mean := 0.002 / 3
	sd := math.Sqrt(0.000438 / 9 / 2)  // sample std, n-1 = 2
	dd := math.Sqrt(0.005 * 0.005 / 3) // one losing day, over all 3 days
	maxDDPct := 100 * 300.0 / 50_200   // 50,200 -> 49,900
	annual := 0.2 * 252 / 3            // return 100/50000 = 0.2 %
	check(t, values(m), map[string]float64{
		"net_pnl": 100, "return_pct": 0.2, "final_equity": 50_100,
		"annual_return_pct":     annual,                     // 16.8
		"sharpe":                math.Sqrt(252) * mean / sd, // 2.1454
		"sortino":               math.Sqrt(252) * mean / dd, // 3.6661
		"calmar":                annual / maxDDPct,          // 28.112
		"max_drawdown":          300,
		"max_drawdown_pct":      maxDDPct,
		"longest_drawdown_days": 2, // 49,950 and 50,100 both below the 50,200 of day 1
		"days":                  3, "bars": 9,
		"trades": 3, "wins": 2, "losses": 1, "trades_per_day": 1,
		"win_rate_pct":       200.0 / 3,
		"profit_factor":      350.0 / 250,
		"avg_win":            175,
		"avg_loss":           -250,
		"expectancy":         100.0 / 3,
		"gross_pnl":          115,
		"commissions":        15,
		"time_in_market_pct": 100 * 8.0 / 9, // bars 0-2, 3-5 and 7-8
		"best_day":           200,
		"worst_day":          -250,
	})
	if m.BestDay.Date != "2024-01-02" || m.WorstDay.Date != "2024-01-03" || m.BestDay.Trades != 1 {
		t.Errorf("best day %+v, worst day %+v: want 2024-01-02 (1 trade) and 2024-01-03", *m.BestDay, *m.WorstDay)
	}
	// The same numbers as printed by hand: guard against a formula that is consistently
	// wrong in the test and the code alike.
	for k, w := range map[string]float64{"sharpe": 2.14539, "sortino": 3.66606, "calmar": 28.112} {
		if g := values(m)[k]; math.Abs(g-w) > 5e-5*math.Abs(w) {
			t.Errorf("%s = %.6f, want about %g", k, g, w)
		}
	}
}

func TestMetricsZeroTrades(t *testing.T) {
	a := &Account{Start: 50_000, Dates: dates3, Bars: []env.BarRecord{
		bar(0, 1000, 50_000, 0), bar(0, 1060, 50_000, 0), bar(1, 2000, 50_000, 0),
	}}
	m := ComputeMetrics(a)
	nan := math.NaN()
	check(t, values(m), map[string]float64{
		"net_pnl": 0, "return_pct": 0, "annual_return_pct": 0,
		"sharpe": nan, "sortino": nan, "calmar": nan, // 0 / 0
		"max_drawdown": 0, "max_drawdown_pct": 0, "longest_drawdown_days": 0,
		"days": 2, "trades": 0, "trades_per_day": 0,
		"win_rate_pct": nan, "profit_factor": nan, "avg_win": nan, "avg_loss": nan, "expectancy": nan,
		"commissions": 0, "time_in_market_pct": 0, "best_day": 0, "worst_day": 0,
	})
	if m.BestDay.Date != "2024-01-02" || m.WorstDay.Date != "2024-01-02" {
		t.Errorf("best %s, worst %s: want the first day on a tie", m.BestDay.Date, m.WorstDay.Date)
	}
}

func TestMetricsAllLosers(t *testing.T) {
	// Day 1: a long loses 100 (net); day 2: a short opened and closed on one bar loses 50.
	a := &Account{Start: 50_000, Dates: dates3,
		Bars: []env.BarRecord{
			bar(0, 1000, 49_950, 1), bar(0, 1060, 49_900, 0),
			bar(1, 2000, 49_900, 0), bar(1, 2060, 49_850, 0),
		},
		Trades: []env.Trade{trade(1000, 1060, 1, -95, 5), trade(2060, 2060, -1, -45, 5)},
	}
	m := ComputeMetrics(a)
	// r = -0.002, -0.001: mean -0.0015, sample std sqrt(2 x 0.0005^2 / 1), downside
	// deviation sqrt((0.002^2 + 0.001^2) / 2).
	sd := math.Sqrt(2 * 0.0005 * 0.0005)
	dd := math.Sqrt((0.002*0.002 + 0.001*0.001) / 2)
	annual := -0.3 * 252 / 2
	check(t, values(m), map[string]float64{
		"net_pnl": -150, "return_pct": -0.3, "annual_return_pct": annual, // -37.8
		"sharpe":       math.Sqrt(252) * -0.0015 / sd, // -33.675
		"sortino":      math.Sqrt(252) * -0.0015 / dd, // -15.060
		"calmar":       annual / 0.3,                  // -126
		"max_drawdown": 150, "max_drawdown_pct": 0.3, "longest_drawdown_days": 2,
		"trades": 2, "wins": 0, "losses": 2, "trades_per_day": 1,
		"win_rate_pct": 0, "profit_factor": 0, "avg_win": math.NaN(), "avg_loss": -75, "expectancy": -75,
		"time_in_market_pct": 75, // bars 0-1 and 3
		"best_day":           -50, "worst_day": -100,
	})
}

func TestMetricsSingleDay(t *testing.T) {
	// One winning long: equity 50,000 -> 50,100 (peak) -> 50,080 at the exit.
	a := &Account{Start: 50_000, Dates: dates3,
		Bars:   []env.BarRecord{bar(0, 1000, 50_000, 1), bar(0, 1060, 50_100, 1), bar(0, 1120, 50_080, 0)},
		Trades: []env.Trade{trade(1000, 1120, 1, 85, 5)},
	}
	m := ComputeMetrics(a)
	annual := 0.16 * 252
	ddPct := 100 * 20.0 / 50_100
	check(t, values(m), map[string]float64{
		"net_pnl": 80, "return_pct": 0.16, "annual_return_pct": annual,
		"sharpe": math.NaN(), "sortino": math.NaN(), // one day: no spread
		"calmar":       annual / ddPct, // 1010.0
		"max_drawdown": 20, "max_drawdown_pct": ddPct, "longest_drawdown_days": 0,
		"days": 1, "trades": 1, "win_rate_pct": 100,
		"profit_factor": math.Inf(1), "avg_win": 80, "avg_loss": math.NaN(), "expectancy": 80,
		"time_in_market_pct": 100, "best_day": 80, "worst_day": 80,
	})
}

func TestMetricsNoBars(t *testing.T) {
	m := ComputeMetrics(&Account{Start: 50_000})
	if m.Days != 0 || m.NetPnL != 0 || m.BestDay != nil || m.WorstDay != nil || m.TimeInMarketPct.Defined() || m.Calmar.Defined() {
		t.Errorf("empty account: %+v, want zero days, no best/worst day, undefined ratios", m)
	}
}

func TestRatioZeroDenominator(t *testing.T) {
	// Days with identical returns: std 0. A positive mean gives +inf, a zero mean undefined.
	for _, c := range []struct {
		pnl  float64
		want float64
	}{{100, math.Inf(1)}, {-100, math.Inf(-1)}, {0, math.NaN()}} {
		days := []Day{{PnL: c.pnl}, {PnL: c.pnl}}
		sharpe, _ := dailyRatios(days, 50_000)
		if !near(float64(sharpe), c.want) {
			t.Errorf("Sharpe of two days of %g = %v, want %v", c.pnl, sharpe, c.want)
		}
	}
}

func TestFloatJSON(t *testing.T) {
	for _, c := range []struct {
		f    Float
		json string
	}{{1.5, "1.5"}, {Undefined, "null"}, {Float(math.Inf(1)), `"inf"`}, {Float(math.Inf(-1)), `"-inf"`}, {0, "0"}} {
		b, err := json.Marshal(c.f)
		if err != nil || string(b) != c.json {
			t.Errorf("Marshal(%v) = %s, %v; want %s", c.f, b, err, c.json)
			continue
		}
		var back Float
		if err := json.Unmarshal(b, &back); err != nil || !near(float64(back), float64(c.f)) {
			t.Errorf("Unmarshal(%s) = %v, %v; want %v", b, back, err, c.f)
		}
	}
	var f Float
	if err := json.Unmarshal([]byte(`"big"`), &f); err == nil {
		t.Error(`Unmarshal("big"): want an error`)
	}
}

func posInf() float64 { return math.Inf(1) }
