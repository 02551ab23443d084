package env

import (
	"fmt"
	"strings"
)

// ApexRuleSet names the version of the Apex-style rules this package implements; it is
// recorded with results so that a later change of the rules cannot be mistaken for a change
// of the policy.
const ApexRuleSet = "apex-2025"

// Plan is one row of the Apex plan table (rule set apex-2025).
type Plan struct {
	Name           string
	StartBalance   float64 // dollars
	TrailingAmount float64 // dollars between the equity peak and the threshold
	MaxContracts   int     // most contracts per entry
	ProfitTarget   float64 // dollars above StartBalance an evaluation must reach
}

// plans is the table of the specification, smallest account first.
var plans = [...]Plan{
	{"25k", 25_000, 1_500, 4, 1_500},
	{"50k", 50_000, 2_500, 10, 3_000},
	{"75k", 75_000, 2_750, 12, 4_250},
	{"100k", 100_000, 3_000, 14, 6_000},
	{"150k", 150_000, 5_000, 17, 9_000},
	{"250k", 250_000, 6_500, 27, 15_000},
	{"300k", 300_000, 7_500, 35, 20_000},
}

// PlanNames lists the plans in table order.
func PlanNames() []string {
	out := make([]string, len(plans))
	for i, p := range plans {
		out[i] = p.Name
	}
	return out
}

// LookupPlan returns the plan called name (25k, 50k, 75k, 100k, 150k, 250k, 300k).
func LookupPlan(name string) (Plan, error) {
	for _, p := range plans {
		if p.Name == name {
			return p, nil
		}
	}
	return Plan{}, fmt.Errorf("env: plan must be one of %s, got %q", strings.Join(PlanNames(), ", "), name)
}

// fundedLockOffset is how far above the start balance the threshold stops trailing in a
// funded account.
const fundedLockOffset = 100

// Threshold is the liquidation threshold for the highest live equity peak seen so far:
// peak - TrailingAmount, and in a funded account (funded = true) never above
// StartBalance + 100, where it stops trailing.
func (p Plan) Threshold(peak float64, funded bool) float64 {
	th := peak - p.TrailingAmount
	if funded {
		th = min(th, p.StartBalance+fundedLockOffset)
	}
	return th
}

// TargetEquity is the equity an evaluation must reach: StartBalance + ProfitTarget.
func (p Plan) TargetEquity() float64 { return p.StartBalance + p.ProfitTarget }

// ApexVerdict is the outcome of an evaluation account under the pass rule: the profit
// target reached with no breach and at least MinTradingDays sessions with a trade.
type ApexVerdict struct {
	Passed   bool
	PassDate string // session (YYYY-MM-DD) at whose end the account passed

	Breached   bool
	BreachTime int64 // Unix seconds of the bar in which equity met the threshold

	// TargetReached: some session ended, before any breach, with equity at or above the
	// target (it may have passed later, or lacked trading days).
	TargetReached  bool
	TradingDays    int // sessions with at least one trade, up to the decision
	MinTradingDays int
	Sessions       int // sessions seen, up to the decision
}

// ApexTracker applies the pass rule session by session. The first decisive event wins: a
// breach before passing fails the account; a session end with no breach so far, equity at
// or above the target and at least MinTradingDays trading sessions passes it. Events after
// the decision are ignored. The zero value is not usable; use NewApexTracker.
type ApexTracker struct {
	plan    Plan
	v       ApexVerdict
	decided bool
}

// NewApexTracker returns a tracker for an evaluation account of plan p.
func NewApexTracker(p Plan, minTradingDays int) *ApexTracker {
	return &ApexTracker{plan: p, v: ApexVerdict{MinTradingDays: minTradingDays}}
}

// Breach records that equity met the threshold in the bar opening at time (Unix seconds).
func (a *ApexTracker) Breach(time int64) {
	if a.decided {
		return
	}
	a.v.Breached, a.v.BreachTime = true, time
	a.decided = true
}

// EndSession records the end of a session: its date, the equity at its end (flat, after
// the flatten) and whether a trade was opened in it.
func (a *ApexTracker) EndSession(date string, equity float64, traded bool) {
	if a.decided {
		return
	}
	a.v.Sessions++
	if traded {
		a.v.TradingDays++
	}
	if equity >= a.plan.TargetEquity() {
		a.v.TargetReached = true
		if a.v.TradingDays >= a.v.MinTradingDays {
			a.v.Passed, a.v.PassDate = true, date
			a.decided = true
		}
	}
}

// Verdict returns the outcome so far: neither Passed nor Breached means the evaluation is
// still open (target or trading days missing).
func (a *ApexTracker) Verdict() ApexVerdict { return a.v }
