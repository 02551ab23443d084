package report

import (
	"math"

	"hybridtrain/internal/env"
)

// TradingDaysPerYear annualises daily figures: Sharpe and Sortino by sqrt(252), the return
// by 252 / days.
const TradingDaysPerYear = 252

// Account is what one backtest recorded: everything the metrics and the verdict are
// computed from.
type Account struct {
	Start  float64         // start balance, dollars (the plan's)
	Bars   []env.BarRecord // the account after every step, in order
	Trades []env.Trade     // closed round trips, in order
	// Dates holds the exchange date (YYYY-MM-DD) of every session of the dataset, indexed
	// by BarRecord.Session.
	Dates []string
}

// Day is one session of an account.
type Day struct {
	Date   string  `json:"date"`
	PnL    float64 `json:"pnl"`    // session-end equity minus the previous session's (the start balance for the first)
	Equity float64 `json:"equity"` // equity after the session's last bar (flat after the flatten)
	Trades int     `json:"trades"` // trades opened in the session
}

// Metrics are the strategy statistics of one account over every session of a backtest.
// Dollar amounts are net of commissions and slippage. Undefined values (a ratio of
// nothing) are NaN, written null in JSON; see Float.
type Metrics struct {
	StartBalance float64 `json:"start_balance"`
	FinalEquity  float64 `json:"final_equity"` // equity after the last bar
	NetPnL       float64 `json:"net_pnl"`      // FinalEquity - StartBalance
	ReturnPct    float64 `json:"return_pct"`   // 100 NetPnL / StartBalance
	// AnnualReturnPct is ReturnPct x 252 / Days: simple (not compounded) annualisation, as
	// befits an account trading a fixed number of contracts.
	AnnualReturnPct Float `json:"annual_return_pct"`

	// Sharpe is sqrt(252) mean(r) / std(r) over the daily returns r_d = PnL_d /
	// StartBalance, std the sample standard deviation (n-1); undefined with fewer than 2
	// days. Sortino is sqrt(252) mean(r) / DD with the downside deviation
	// DD = sqrt(sum_d min(r_d, 0)^2 / n) over all n days (target return 0); undefined with
	// fewer than 2 days. A zero denominator gives +-inf for a non-zero mean, undefined
	// for a zero mean.
	Sharpe  Float `json:"sharpe"`
	Sortino Float `json:"sortino"`
	// Calmar is AnnualReturnPct / MaxDrawdownPct (+-inf without drawdown, undefined with no
	// days or a zero return and no drawdown).
	Calmar Float `json:"calmar"`

	// MaxDrawdown is the largest fall of the equity marked at each bar's close from its
	// running peak (the start balance included), dollars; MaxDrawdownPct the largest such
	// fall as a percentage of the running peak (both maxima are taken separately).
	MaxDrawdown    float64 `json:"max_drawdown"`
	MaxDrawdownPct float64 `json:"max_drawdown_pct"`
	// LongestDrawdownDays is the most consecutive sessions that ended below the highest
	// session-end equity before them (the start balance included); a drawdown still open at
	// the end counts.
	LongestDrawdownDays int `json:"longest_drawdown_days"`

	Days         int     `json:"days"`           // sessions run
	Bars         int     `json:"bars"`           // bars stepped
	Trades       int     `json:"trades"`         // closed round trips
	Wins         int     `json:"wins"`           // trades with net P&L > 0
	Losses       int     `json:"losses"`         // trades with net P&L < 0 (a net of exactly 0 is neither)
	TradesPerDay Float   `json:"trades_per_day"` // Trades / Days
	WinRatePct   Float   `json:"win_rate_pct"`   // 100 Wins / Trades; undefined without trades
	GrossPnL     float64 `json:"gross_pnl"`      // sum of the trades' gross P&L (ticks x tick value x contracts)
	Commissions  float64 `json:"commissions"`    // sum of the trades' commissions (two sides each)
	// ProfitFactor is the sum of winning trades' net P&L over the magnitude of the losing
	// trades' sum: "inf" with wins and no losses, undefined without trades or when every
	// trade netted 0.
	ProfitFactor Float `json:"profit_factor"`
	AvgWin       Float `json:"avg_win"`    // mean net P&L of the winners; undefined without one
	AvgLoss      Float `json:"avg_loss"`   // mean net P&L of the losers (negative); undefined without one
	Expectancy   Float `json:"expectancy"` // mean net P&L per trade; undefined without trades
	// TimeInMarketPct is the share of the bars stepped during which a position was open, in
	// percent: a trade covers the bars from its fill bar to its exit bar, both included.
	TimeInMarketPct Float `json:"time_in_market_pct"`

	BestDay  *Day `json:"best_day"`  // highest daily P&L (the first on a tie); null with no days
	WorstDay *Day `json:"worst_day"` // lowest daily P&L (the first on a tie); null with no days
}

// Days splits the account into sessions: consecutive bars with the same session index form
// one day, whose equity is that of its last bar. A trade belongs to the day of its fill bar.
func (a *Account) Days() []Day {
	var days []Day
	dayOfBar := make([]int, len(a.Bars))
	prev := a.Start
	for i := 0; i < len(a.Bars); {
		s := a.Bars[i].Session
		j := i
		for j < len(a.Bars) && a.Bars[j].Session == s {
			dayOfBar[j] = len(days)
			j++
		}
		eq := a.Bars[j-1].Equity
		days = append(days, Day{Date: a.date(s), PnL: eq - prev, Equity: eq})
		prev = eq
		i = j
	}
	idx := a.barIndex()
	for _, t := range a.Trades {
		if k, ok := idx[t.EntryTime]; ok {
			days[dayOfBar[k]].Trades++
		}
	}
	return days
}

// date is the date of session s ("" when Dates does not cover it).
func (a *Account) date(s int) string {
	if s >= 0 && s < len(a.Dates) {
		return a.Dates[s]
	}
	return ""
}

// barIndex maps each stepped bar's time to its position in Bars (for lookups only; never
// iterated).
func (a *Account) barIndex() map[int64]int {
	m := make(map[int64]int, len(a.Bars))
	for i, b := range a.Bars {
		m[b.Time] = i
	}
	return m
}

// ComputeMetrics computes every metric of a (definitions on the fields of Metrics and in
// docs/report.md).
func ComputeMetrics(a *Account) Metrics {
	m := Metrics{StartBalance: a.Start, FinalEquity: a.Start, Bars: len(a.Bars), Trades: len(a.Trades)}
	if n := len(a.Bars); n > 0 {
		m.FinalEquity = a.Bars[n-1].Equity
	}
	m.NetPnL = m.FinalEquity - a.Start
	m.ReturnPct = 100 * m.NetPnL / a.Start

	days := a.Days()
	m.Days = len(days)
	m.AnnualReturnPct, m.TradesPerDay = Undefined, Undefined
	if m.Days > 0 {
		m.AnnualReturnPct = Float(m.ReturnPct * TradingDaysPerYear / float64(m.Days))
		m.TradesPerDay = Float(float64(m.Trades) / float64(m.Days))
	}
	m.Sharpe, m.Sortino = dailyRatios(days, a.Start)

	m.MaxDrawdown, m.MaxDrawdownPct = drawdown(a.Bars, a.Start)
	m.LongestDrawdownDays = longestDrawdown(days, a.Start)
	m.Calmar = Undefined
	if m.Days > 0 {
		m.Calmar = ratio(float64(m.AnnualReturnPct), m.MaxDrawdownPct)
	}

	var won, lost, total float64
	for _, t := range a.Trades {
		m.GrossPnL += t.Gross
		m.Commissions += t.Commission
		total += t.Net
		switch {
		case t.Net > 0:
			m.Wins++
			won += t.Net
		case t.Net < 0:
			m.Losses++
			lost += t.Net
		}
	}
	m.WinRatePct, m.ProfitFactor, m.Expectancy = Undefined, Undefined, Undefined
	m.AvgWin, m.AvgLoss = Undefined, Undefined
	if m.Trades > 0 {
		m.WinRatePct = Float(100 * float64(m.Wins) / float64(m.Trades))
		m.ProfitFactor = ratio(won, -lost)
		m.Expectancy = Float(total / float64(m.Trades))
	}
	if m.Wins > 0 {
		m.AvgWin = Float(won / float64(m.Wins))
	}
	if m.Losses > 0 {
		m.AvgLoss = Float(lost / float64(m.Losses))
	}
	m.TimeInMarketPct = timeInMarket(a)

	for i := range days {
		if m.BestDay == nil || days[i].PnL > m.BestDay.PnL {
			m.BestDay = &days[i]
		}
		if m.WorstDay == nil || days[i].PnL < m.WorstDay.PnL {
			m.WorstDay = &days[i]
		}
	}
	if m.BestDay != nil {
		b, w := *m.BestDay, *m.WorstDay // copies: the report must not alias the days slice
		m.BestDay, m.WorstDay = &b, &w
	}
	return m
}

// dailyRatios returns the annualised Sharpe and Sortino ratios of the daily returns
// PnL_d / start (see Metrics).
func dailyRatios(days []Day, start float64) (sharpe, sortino Float) {
	n := len(days)
	if n < 2 {
		return Undefined, Undefined
	}
	var sum float64
	for _, d := range days {
		sum += d.PnL / start
	}
	mean := sum / float64(n)
	var ss, down float64
	for _, d := range days {
		r := d.PnL / start
		ss += (r - mean) * (r - mean)
		if r < 0 {
			down += r * r
		}
	}
	sd := math.Sqrt(ss / float64(n-1))
	dd := math.Sqrt(down / float64(n))
	ann := math.Sqrt(TradingDaysPerYear)
	return scale(ratio(mean, sd), ann), scale(ratio(mean, dd), ann)
}

// scale multiplies a defined, finite f by k.
func scale(f Float, k float64) Float {
	if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
		return f
	}
	return Float(float64(f) * k)
}

// drawdown returns the largest fall of bar-close equity from its running peak (the start
// balance is the first peak), in dollars and as a percentage of the peak.
func drawdown(bars []env.BarRecord, start float64) (dollars, pct float64) {
	peak := start
	for _, b := range bars {
		peak = max(peak, b.Equity)
		dd := peak - b.Equity
		dollars = max(dollars, dd)
		if peak > 0 {
			pct = max(pct, 100*dd/peak)
		}
	}
	return dollars, pct
}

// longestDrawdown counts the most consecutive days that ended below the highest
// session-end equity before them (the start balance included).
func longestDrawdown(days []Day, start float64) int {
	peak := start
	run, longest := 0, 0
	for _, d := range days {
		if d.Equity < peak {
			run++
			longest = max(longest, run)
			continue
		}
		peak, run = d.Equity, 0
	}
	return longest
}

// timeInMarket is the percentage of stepped bars covered by trades, each from its fill bar
// to its exit bar inclusive (positions never overlap: an entry needs a flat account).
func timeInMarket(a *Account) Float {
	if len(a.Bars) == 0 {
		return Undefined
	}
	idx := a.barIndex()
	in := 0
	for _, t := range a.Trades {
		i, ok1 := idx[t.EntryTime]
		j, ok2 := idx[t.ExitTime]
		if ok1 && ok2 && j >= i {
			in += j - i + 1
		}
	}
	return Float(100 * float64(in) / float64(len(a.Bars)))
}
