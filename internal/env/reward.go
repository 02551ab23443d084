package env

// Terms of the apex-shaped reward (spec §8): the original system's terms with its bugs fixed
// (a successful trailing enable is paid, a failed management action is never paid, a breach
// adds to the step's other terms instead of replacing them).
const (
	shapedWin        = 1.0    // a closed trade with net P&L > 0
	shapedLoss       = -0.5   // a closed trade with net P&L <= 0
	shapedBreakEven  = 0.1    // a legal MOVE_SL_TO_BE
	shapedTrailOn    = 0.05   // a legal ENABLE_TRAIL
	shapedBreach     = -0.1   // equity met the threshold
	shapedEquityUnit = 10_000 // (equity - start)/10,000 per step while equity > start
)

// shapedReward is the apex-shaped reward of a step apart from the action's terms (added by
// Step, which knows whether the action was legal) and the invalid-action term.
func (e *Env) shapedReward(info *Info) float64 {
	var r float64
	if info.TradeClosed {
		if info.TradePnL > 0 {
			r += shapedWin
		} else {
			r += shapedLoss
		}
	}
	if start := e.plan.StartBalance; info.Equity > start {
		r += (info.Equity - start) / shapedEquityUnit
	}
	if info.Breach {
		r += shapedBreach
	}
	return r
}
