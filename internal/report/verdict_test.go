package report

import (
	"testing"
	"time"

	"hybridtrain/internal/env"
)

var nyZone = func() *time.Location {
	z, err := time.LoadLocation("America/New_York")
	if err != nil {
		panic(err)
	}
	return z
}()

// at is the Unix time of a New York clock time.
func at(date, clock string) int64 {
	tm, err := time.ParseInLocation("2006-01-02 15:04", date+" "+clock, nyZone)
	if err != nil {
		panic(err)
	}
	return tm.Unix()
}

// session describes one hand-built day: the equity at 09:30, 12:00 and 16:58 (the flatten
// bar), whether a trade was opened (09:30 to 12:00), the bar (0-2) in which equity met the
// threshold (-1: none) and the position left after the flatten bar.
type session struct {
	eq      [3]float64
	traded  bool
	breach  int
	openEnd int
}

var verdictDates = []string{"2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"}
var clocks = [3]string{"09:30", "12:00", "16:58"}

func verdictAccount(days []session) *Account {
	a := &Account{Start: 50_000, Dates: verdictDates}
	for s, d := range days {
		for k, c := range clocks {
			b := env.BarRecord{Time: at(verdictDates[s], c), Equity: d.eq[k], Session: s, Breach: d.breach == k}
			if k == 2 {
				b.Position = d.openEnd
			}
			a.Bars = append(a.Bars, b)
		}
		if d.traded {
			a.Trades = append(a.Trades, env.Trade{
				EntryTime: at(verdictDates[s], "09:30"), ExitTime: at(verdictDates[s], "12:00"), Side: 1, Contracts: 1,
			})
		}
	}
	return a
}

func day(end float64, traded bool) session {
	return session{eq: [3]float64{end, end, end}, traded: traded, breach: -1}
}

func TestVerdict(t *testing.T) {
	plan, err := env.LookupPlan("50k") // target equity 53,000
	if err != nil {
		t.Fatal(err)
	}
	breachDay := session{eq: [3]float64{49_000, 47_400, 47_500}, traded: true, breach: 1}
	cases := []struct {
		name   string
		days   []session
		modify func(*Account)
		want   Verdict // the fields compared: Passed, TargetReached, TargetDate, Breached, BreachTime, BreachDate, PassDate, TradingDays, FlattenViolations, MaxContractsUsed
		reason string  // the reason's exact text
	}{
		{
			name:   "pass",
			days:   []session{day(51_000, true), day(52_000, true), day(53_000, true)},
			want:   Verdict{Passed: true, TargetReached: true, TargetDate: "2024-01-04", PassDate: "2024-01-04", TradingDays: 3, MaxContractsUsed: 1},
			reason: "passed: target $53,000.00 reached at the end of 2024-01-04 with 3 trading days (minimum 3) and no breach",
		},
		{
			name:   "breach mid-day, then recovery to the target",
			days:   []session{day(50_500, true), breachDay, day(53_500, true), day(53_600, true)},
			want:   Verdict{Breached: true, BreachTime: "2024-01-03T12:00:00-05:00", BreachDate: "2024-01-03", TradingDays: 4, MaxContractsUsed: 1},
			reason: "failed: breached the trailing threshold at 2024-01-03T12:00:00-05:00",
		},
		{
			name: "target reached then breached",
			days: []session{day(53_200, true), breachDay, day(53_500, true)},
			want: Verdict{TargetReached: true, TargetDate: "2024-01-02", Breached: true, BreachTime: "2024-01-03T12:00:00-05:00",
				BreachDate: "2024-01-03", TradingDays: 3, MaxContractsUsed: 1},
			reason: "failed: breached the trailing threshold at 2024-01-03T12:00:00-05:00 after reaching the target on 2024-01-02 with 1 of the 3 trading days needed",
		},
		{
			name:   "too few trading days",
			days:   []session{day(52_000, true), day(52_000, false), day(53_100, true)},
			want:   Verdict{TargetReached: true, TargetDate: "2024-01-04", TradingDays: 2, MaxContractsUsed: 1},
			reason: "failed: target $53,000.00 reached on 2024-01-04 but only 2 of the 3 trading days needed",
		},
		{
			name:   "target missed",
			days:   []session{day(50_500, true), day(51_500, true), day(51_200, true)},
			want:   Verdict{TradingDays: 3, MaxContractsUsed: 1},
			reason: "failed: target $53,000.00 not reached (highest session-end equity $51,500.00)",
		},
		{
			name:   "breach after the pass is ignored",
			days:   []session{day(51_000, true), day(52_000, true), day(53_000, true), breachDay},
			want:   Verdict{Passed: true, TargetReached: true, TargetDate: "2024-01-04", PassDate: "2024-01-04", TradingDays: 4, MaxContractsUsed: 1},
			reason: "passed: target $53,000.00 reached at the end of 2024-01-04 with 3 trading days (minimum 3) and no breach",
		},
		{
			name:   "position held through the flatten",
			days:   []session{day(51_000, true), day(52_000, true), {eq: [3]float64{53_000, 53_000, 53_000}, traded: true, breach: -1, openEnd: 1}},
			want:   Verdict{TargetReached: true, TargetDate: "2024-01-04", TradingDays: 3, FlattenViolations: 1, MaxContractsUsed: 1},
			reason: "failed: 1 flatten violation(s): a position was held past the flatten time",
		},
		{
			name: "trade exits in a later session",
			days: []session{day(51_000, true), day(51_000, true), day(51_000, false)},
			modify: func(a *Account) {
				a.Trades[1].ExitTime = at("2024-01-04", "09:30")
			},
			want:   Verdict{TradingDays: 2, FlattenViolations: 1, MaxContractsUsed: 1},
			reason: "failed: 1 flatten violation(s): a position was held past the flatten time",
		},
		{
			name: "more contracts than the plan allows",
			days: []session{day(51_000, true), day(52_000, true), day(53_000, true)},
			modify: func(a *Account) {
				a.Bars[1].Position = 11
			},
			want:   Verdict{TargetReached: true, TargetDate: "2024-01-04", TradingDays: 3, MaxContractsUsed: 11},
			reason: "failed: 11 contracts used, more than the 50k plan's 10",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := verdictAccount(c.days)
			if c.modify != nil {
				c.modify(a)
			}
			v := ComputeVerdict(a, plan, 3, nyZone)
			got := []any{v.Passed, v.TargetReached, v.TargetDate, v.Breached, v.BreachTime, v.BreachDate, v.PassDate,
				v.TradingDays, v.FlattenViolations, v.MaxContractsUsed}
			w := c.want
			want := []any{w.Passed, w.TargetReached, w.TargetDate, w.Breached, w.BreachTime, w.BreachDate, w.PassDate,
				w.TradingDays, w.FlattenViolations, w.MaxContractsUsed}
			names := []string{"Passed", "TargetReached", "TargetDate", "Breached", "BreachTime", "BreachDate", "PassDate",
				"TradingDays", "FlattenViolations", "MaxContractsUsed"}
			for i := range got {
				if got[i] != want[i] {
					t.Errorf("%s = %v, want %v", names[i], got[i], want[i])
				}
			}
			if v.Reason != c.reason {
				t.Errorf("reason = %q\nwant     %q", v.Reason, c.reason)
			}
			if v.TargetEquity != 53_000 || v.RuleSet != env.ApexRuleSet || v.MinTradingDays != 3 || v.PlanMaxContracts != 10 {
				t.Errorf("rule fields %+v: want target 53000, rule set %s, 3 days, 10 contracts", v, env.ApexRuleSet)
			}
		})
	}
}

func TestDollars(t *testing.T) {
	for x, want := range map[float64]string{
		0: "$0.00", 5: "$5.00", 999.994: "$999.99", 1000: "$1,000.00", 53_000: "$53,000.00",
		1_234_567.5: "$1,234,567.50", -2500: "-$2,500.00", -0.001: "$0.00",
	} {
		if got := dollars(x); got != want {
			t.Errorf("dollars(%v) = %q, want %q", x, got, want)
		}
	}
}
