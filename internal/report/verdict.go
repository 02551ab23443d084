package report

import (
	"fmt"
	"strings"
	"time"

	"hybridtrain/internal/env"
)

// Verdict is the outcome of an account under the Apex evaluation rules of its plan (rule
// set env.ApexRuleSet): it passes when the profit target is reached with no breach of the
// trailing threshold and at least MinTradingDays sessions with a trade, no position is held
// through a flatten and no entry exceeds the plan's contracts. The first decisive event
// wins (env.ApexTracker): a breach before passing fails the account even if the equity
// recovers later; events after a pass are ignored.
type Verdict struct {
	Passed bool   `json:"passed"`
	Reason string `json:"reason"` // one sentence: why it passed or failed

	RuleSet      string  `json:"rule_set"`      // env.ApexRuleSet
	Plan         string  `json:"plan"`          // 50k, ...
	TargetEquity float64 `json:"target_equity"` // start balance + profit target

	// TargetReached: a session ended, before any breach, with equity at or above
	// TargetEquity; TargetDate is the first such session. The target is tested at session
	// ends, where the account is flat (its balance), as an evaluation account is judged.
	TargetReached bool   `json:"target_reached"`
	TargetDate    string `json:"target_date,omitempty"`
	// Breached: equity met the trailing threshold (env.Info.Breach); BreachTime is the
	// open time of that bar, RFC 3339 in the exchange's zone, and BreachDate its session.
	Breached   bool   `json:"breached"`
	BreachTime string `json:"breach_time,omitempty"`
	BreachDate string `json:"breach_date,omitempty"`
	PassDate   string `json:"pass_date,omitempty"` // session at whose end the account passed

	// TradingDays counts the sessions in which a trade was opened, over the whole run (the
	// pass rule counts them up to its decision: the reason quotes that count).
	TradingDays    int `json:"trading_days"`
	MinTradingDays int `json:"min_trading_days"`
	// BestSessionEquity is the highest session-end equity before any breach (the start
	// balance when no session ended first): how close a missed target came.
	BestSessionEquity float64 `json:"best_session_equity"`

	// FlattenViolations counts sessions that ended with a position still open plus trades
	// whose exit fell in a later session than their fill: the env flattens every position
	// on the flatten bar, so this must be 0.
	FlattenViolations int `json:"flatten_violations"`
	MaxContractsUsed  int `json:"max_contracts_used"` // largest position, contracts
	PlanMaxContracts  int `json:"plan_max_contracts"`
}

// ComputeVerdict judges account a under plan p with minDays trading days required; zone
// is the exchange's time zone for BreachTime.
func ComputeVerdict(a *Account, p env.Plan, minDays int, zone *time.Location) Verdict {
	if zone == nil {
		zone = time.UTC
	}
	v := Verdict{
		RuleSet: env.ApexRuleSet, Plan: p.Name, TargetEquity: p.TargetEquity(),
		MinTradingDays: minDays, PlanMaxContracts: p.MaxContracts, BestSessionEquity: a.Start,
	}
	tr := env.NewApexTracker(p, minDays)
	days := a.Days()
	d := 0
	for i, b := range a.Bars {
		v.MaxContractsUsed = max(v.MaxContractsUsed, abs(b.Position))
		if b.Breach {
			if !tr.Verdict().Breached && !tr.Verdict().Passed {
				v.BreachTime = time.Unix(b.Time, 0).In(zone).Format(time.RFC3339)
				v.BreachDate = days[d].Date
			}
			tr.Breach(b.Time)
		}
		last := i+1 == len(a.Bars) || a.Bars[i+1].Session != b.Session
		if !last {
			continue
		}
		if b.Position != 0 {
			v.FlattenViolations++
		}
		before := tr.Verdict()
		tr.EndSession(days[d].Date, b.Equity, days[d].Trades > 0)
		after := tr.Verdict()
		if !before.Breached && !before.Passed {
			v.BestSessionEquity = max(v.BestSessionEquity, b.Equity)
			if after.TargetReached && !before.TargetReached {
				v.TargetDate = days[d].Date
			}
		}
		d++
	}
	for _, t := range a.Trades {
		v.MaxContractsUsed = max(v.MaxContractsUsed, t.Contracts)
	}
	v.FlattenViolations += crossSessionTrades(a)

	for _, day := range days {
		if day.Trades > 0 {
			v.TradingDays++
		}
	}
	tv := tr.Verdict()
	v.TargetReached, v.Breached = tv.TargetReached, tv.Breached
	if tv.Passed {
		v.PassDate = tv.PassDate
	}
	v.Passed, v.Reason = decide(v, tv)
	if !v.Passed {
		v.PassDate = ""
	}
	return v
}

// decide applies the pass rule's parts in order and says why; tv is the tracker's
// decision, whose TradingDays stop at the pass or the breach.
func decide(v Verdict, tv env.ApexVerdict) (bool, string) {
	target := dollars(v.TargetEquity)
	switch {
	case v.FlattenViolations > 0:
		return false, fmt.Sprintf("failed: %d flatten violation(s): a position was held past the flatten time", v.FlattenViolations)
	case v.MaxContractsUsed > v.PlanMaxContracts:
		return false, fmt.Sprintf("failed: %d contracts used, more than the %s plan's %d", v.MaxContractsUsed, v.Plan, v.PlanMaxContracts)
	case tv.Passed:
		return true, fmt.Sprintf("passed: target %s reached at the end of %s with %d trading days (minimum %d) and no breach",
			target, v.PassDate, tv.TradingDays, v.MinTradingDays)
	case v.Breached && v.TargetReached:
		return false, fmt.Sprintf("failed: breached the trailing threshold at %s after reaching the target on %s with %d of the %d trading days needed",
			v.BreachTime, v.TargetDate, tv.TradingDays, v.MinTradingDays)
	case v.Breached:
		return false, fmt.Sprintf("failed: breached the trailing threshold at %s", v.BreachTime)
	case v.TargetReached:
		return false, fmt.Sprintf("failed: target %s reached on %s but only %d of the %d trading days needed",
			target, v.TargetDate, tv.TradingDays, v.MinTradingDays)
	}
	return false, fmt.Sprintf("failed: target %s not reached (highest session-end equity %s)", target, dollars(v.BestSessionEquity))
}

// crossSessionTrades counts trades whose exit bar lies in a later session than their fill
// bar.
func crossSessionTrades(a *Account) int {
	idx := a.barIndex()
	n := 0
	for _, t := range a.Trades {
		i, ok1 := idx[t.EntryTime]
		j, ok2 := idx[t.ExitTime]
		if ok1 && ok2 && a.Bars[i].Session != a.Bars[j].Session {
			n++
		}
	}
	return n
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// dollars formats x as $1,234.50 (negative: -$1,234.50).
func dollars(x float64) string {
	s := fmt.Sprintf("%.2f", x)
	if s == "-0.00" {
		s = "0.00"
	}
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	intPart, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	out := "$" + b.String() + "." + frac
	if neg {
		out = "-" + out
	}
	return out
}
