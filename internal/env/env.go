package env

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
)

// ExitReason says why a position was closed.
type ExitReason uint8

// Exit reasons.
const (
	ExitNone      ExitReason = iota
	ExitStop                 // the stop (initial or break-even) was touched
	ExitTrailStop            // the stop was touched while trailing was on
	ExitTarget               // the target was touched
	ExitFlatten              // closed at the close of the session's flatten bar
	ExitBreach               // closed where equity met the Apex threshold
)

var exitNames = [...]string{"none", "stop", "trail_stop", "target", "flatten", "breach"}

// String returns the reason's lower-case name (stop, trail_stop, target, flatten, breach).
func (r ExitReason) String() string {
	if int(r) < len(exitNames) {
		return exitNames[r]
	}
	return "ExitReason(?)"
}

// Info is what one step reports besides the observation, reward and episode flags.
type Info struct {
	InvalidAction bool       // the action was masked (reward invalid_action_reward)
	TradeClosed   bool       // a position was closed in this step
	TradePnL      float64    // net dollars of the closed trade (after both commissions)
	Exit          ExitReason // why it closed
	Breach        bool       // equity met the Apex threshold in this step
	Equity        float64    // equity marked at close[t]

	// Set in the step that ends an episode: raw totals of the episode.
	EpisodeReward float64
	EpisodeLength int
	EpisodePnL    float64
	EpisodeTrades int
	EpisodeWins   int
	EpisodeMaxDD  float64 // largest peak-to-trough fall of marked equity, dollars
}

// Trade is one closed round trip, as the evaluation report lists it.
type Trade struct {
	EntryTime, ExitTime   int64 // Unix seconds of the fill bar and the exit bar
	Side                  int   // +1 long, -1 short
	Contracts             int
	EntryPrice, ExitPrice float64
	Exit                  ExitReason
	Ticks                 int     // signed ticks gained per contract
	Gross                 float64 // ticks x tick value x contracts
	Commission            float64 // both sides, all contracts
	Net                   float64 // Gross - Commission
}

// BarRecord is the account after one step, for equity curves.
type BarRecord struct {
	Time      int64 // Unix seconds of the bar stepped
	Equity    float64
	Threshold float64
	Position  int // signed contracts after the step (0 after an exit or the flatten)
	// The open position's fill price, stop and target in points after the step; 0 when flat.
	Entry, Stop, Target float64

	Session    int  // index into Dataset.Sessions of the bar's session
	SessionEnd bool // the bar was the session's flatten bar (the account is flat after it)
	Breach     bool // equity met the threshold in this step (once per account in ModeContinuous)
}

// Observer receives trades and per-step account records; nil costs nothing. Calls come from
// the goroutine that steps the env.
type Observer interface {
	Trade(Trade)
	Bar(BarRecord)
}

// Mode selects how an Env walks through its sessions.
type Mode uint8

// Modes.
const (
	// ModeRandom: training; each episode starts at a session drawn from the env's generator
	// and runs episode_sessions sessions with a fresh account; a breach terminates it.
	ModeRandom Mode = iota
	// ModeOrdered: training-time evaluation; episode k is session k of Options.Sessions
	// (cycling), one session, fresh account; a breach terminates it.
	ModeOrdered
	// ModeContinuous: the report's backtest; one episode over every session of
	// Options.Sessions with one account; a breach is reported once and trading continues
	// from the breached equity.
	ModeContinuous
)

var modeNames = [...]string{"random", "ordered", "continuous"}

// String returns the mode's name (random, ordered, continuous).
func (m Mode) String() string {
	if int(m) < len(modeNames) {
		return modeNames[m]
	}
	return "Mode(?)"
}

// Options are the constructor arguments of an Env that are not configuration keys.
type Options struct {
	Sessions []int    // sessions (indices into Dataset.Sessions) the env may use; nil: all
	Mode     Mode     // how episodes walk through them
	ObsDim   int      // ObsDim (Phase 3) or BaseObsDim (Phase 2); 0 means ObsDim
	Observer Observer // optional

	// NoStops gives entries neither a stop nor a target: positions end only at the flatten
	// or a breach. It exists for the report's buy-and-hold baseline, the one policy exempt
	// from the stop rule; training never sets it.
	NoStops bool
}

// Step is the result of one Env step.
type Step struct {
	Reward     float64
	Terminated bool
	Truncated  bool
	Info       Info
}

// Env is one trading environment over one account. It is not safe for concurrent use.
//
// An episode walks the bars of its sessions one decision at a time. The decision for bar t
// is taken at open[t] having seen bars up to t-1; Step processes bar t in the order of the
// specification (docs/environment.md) and writes the observation of the next decision.
// Within a multi-session episode the env jumps from a session's flatten bar to the next
// session's first decision bar; bars in between are never traded (the account is flat).
type Env struct {
	ds       *Dataset
	cfg      Config
	plan     Plan
	mode     Mode
	obsDim   int
	observer Observer
	rng      *rand.Rand

	sessions []int // usable sessions of Options.Sessions, in order
	starts   []int // ModeRandom: positions in sessions that may start an episode

	// Bars and features, cached from ds.
	open, high, low, close []float64
	times                  []int64
	clock                  []Clock
	market                 []float32

	// Instrument and rule constants.
	tick       float64 // price points per tick
	tickValue  float64 // dollars per tick per contract
	pointValue float64 // dollars per point per contract
	commission float64 // dollars per side, all contracts
	slip       int64   // slippage ticks
	contracts  int
	rewardUnit float64 // pnl reward unit: reward_scale_ticks x tick value, dollars
	window     entryWindow
	funded     bool
	shaped     bool
	noStops    bool

	st   envState
	mask [NumActions]bool // legal actions of the coming decision
}

// newEnv checks its arguments and returns an env over ds that walks no session yet: New
// adds the sessions, a Live account walks the bars itself.
func newEnv(ds *Dataset, cfg Config, opt Options, rng *rand.Rand) (*Env, error) {
	if ds == nil {
		return nil, errors.New("env: nil dataset")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	plan, err := LookupPlan(cfg.Plan)
	if err != nil {
		return nil, err
	}
	n := ds.Bars.Len()
	b := &ds.Bars
	if len(b.Open) != n || len(b.High) != n || len(b.Low) != n || len(b.Close) != n ||
		len(b.Clock) != n || len(b.Session) != n {
		return nil, fmt.Errorf("env: dataset %s: bar columns differ in length (build it with NewDataset)", ds.Source)
	}
	if len(ds.Market) != n*MarketDim {
		return nil, fmt.Errorf("env: dataset %s: %d market features, want %d x %d (build it with NewDataset)",
			ds.Source, len(ds.Market), n, MarketDim)
	}
	inst := ds.Instrument
	if !(inst.TickSize > 0) || !(inst.PointValue > 0) || inst.SlippageTicks < 0 || inst.CommissionPerSide < 0 {
		return nil, fmt.Errorf("env: instrument %q: tick size and point value must be > 0, slippage and commission >= 0", inst.Symbol)
	}
	obsDim := opt.ObsDim
	switch obsDim {
	case 0:
		obsDim = ObsDim
	case ObsDim, BaseObsDim:
	default:
		return nil, fmt.Errorf("env: observation size must be %d (Phase 3) or %d (Phase 2), got %d", ObsDim, BaseObsDim, opt.ObsDim)
	}
	if opt.Mode > ModeContinuous {
		return nil, fmt.Errorf("env: unknown mode %d", opt.Mode)
	}
	if opt.Mode == ModeRandom && rng == nil {
		return nil, errors.New("env: ModeRandom needs a generator")
	}

	e := &Env{
		ds: ds, cfg: cfg, plan: plan, mode: opt.Mode, obsDim: obsDim, observer: opt.Observer, rng: rng,
		open: b.Open, high: b.High, low: b.Low, close: b.Close, times: b.Time, clock: b.Clock, market: ds.Market,
		tick:       inst.TickSize,
		tickValue:  inst.TickValue(),
		pointValue: inst.PointValue,
		commission: inst.CommissionPerSide * float64(cfg.Contracts),
		slip:       int64(inst.SlippageTicks),
		contracts:  cfg.Contracts,
		rewardUnit: cfg.RewardScaleTicks * inst.TickValue(),
		window:     entryWindow{from: inst.EntryStart, to: inst.FlattenTime - Clock(cfg.NoEntryMinutes)},
		funded:     cfg.ApexMode == ApexFunded,
		shaped:     cfg.Reward == RewardApexShaped,
		noStops:    opt.NoStops,
	}
	return e, nil
}

// New returns an env over ds; rng is its own generator (required in ModeRandom, where it
// draws the start sessions; unused otherwise and may be nil). It validates cfg and opt and
// fails when no session can be traded.
func New(ds *Dataset, cfg Config, opt Options, rng *rand.Rand) (*Env, error) {
	e, err := newEnv(ds, cfg, opt, rng)
	if err != nil {
		return nil, err
	}

	given := opt.Sessions
	if given == nil {
		given = make([]int, len(ds.Sessions))
		for i := range given {
			given[i] = i
		}
	}
	for _, s := range given {
		if s < 0 || s >= len(ds.Sessions) {
			return nil, fmt.Errorf("env: session %d out of range [0, %d)", s, len(ds.Sessions))
		}
		if tradable(&ds.Sessions[s]) {
			e.sessions = append(e.sessions, s)
		}
	}
	if len(e.sessions) == 0 {
		return nil, fmt.Errorf("env: dataset %s: none of the %d sessions given can be traded (each needs a bar between the entry start and the flatten time, after the first %d bars)",
			ds.Source, len(given), WindowBars)
	}
	if e.mode == ModeRandom {
		eligible := ds.EligibleSessions(e.sessions, cfg.WarmupBars)
		for p, s := range e.sessions {
			if len(eligible) > 0 && eligible[0] == s {
				e.starts = append(e.starts, p)
				eligible = eligible[1:]
			}
		}
		if len(e.starts) == 0 {
			return nil, fmt.Errorf("env: dataset %s: no training session has warmup_bars = %d bars of history before its entry bar: %w",
				ds.Source, cfg.WarmupBars, ErrTooFewBars)
		}
	}
	return e, nil
}

// firstDecision is the bar of a session's first decision: its entry bar, but never before
// bar WindowBars, so that the observation window (bars L-19..L) lies inside the data.
func firstDecision(s *Session) int { return max(s.EntryBar, WindowBars) }

// tradable reports whether a session has at least one decision bar.
func tradable(s *Session) bool {
	return s.EntryBar >= 0 && s.FlattenBar >= 0 && firstDecision(s) <= s.FlattenBar
}

// ObsDim is the length of the observations the env writes (ObsDim or BaseObsDim).
func (e *Env) ObsDim() int { return e.obsDim }

// Sessions returns the sessions the env walks (those of Options.Sessions that can be
// traded, in order). The slice is the env's own: do not modify it.
func (e *Env) Sessions() []int { return e.sessions }

// Session is the index into Dataset.Sessions of the current (or last) episode's current
// session.
func (e *Env) Session() int { return e.sessions[e.st.Pos] }

// Bar is the bar of the coming decision (meaningless once the episode has ended).
func (e *Env) Bar() int { return e.st.T }

// InvalidActions is the number of masked actions the env has received since it was created.
func (e *Env) InvalidActions() int64 { return e.st.Invalid }

// Reset starts a new episode and writes its first observation and mask. obs must hold
// ObsDim() floats and mask NumActions bools.
func (e *Env) Reset(obs []float32, mask []bool) error {
	if len(obs) != e.obsDim || len(mask) != NumActions {
		return fmt.Errorf("env: reset: got %d observation floats and %d mask entries, want %d and %d",
			len(obs), len(mask), e.obsDim, NumActions)
	}
	e.reset()
	e.write(obs, mask, e.st.T-1)
	return nil
}

// reset starts a new episode with a fresh account and computes the first decision's mask.
func (e *Env) reset() {
	next, invalid := e.st.Next, e.st.Invalid
	var pos, left int
	switch e.mode {
	case ModeRandom:
		pos = e.starts[e.rng.IntN(len(e.starts))]
		left = e.cfg.EpisodeSessions - 1
	case ModeOrdered:
		pos = next % len(e.sessions)
		next = (pos + 1) % len(e.sessions)
	case ModeContinuous:
		left = len(e.sessions) - 1
	}
	start := e.plan.StartBalance
	e.st = envState{
		Active: true, Pos: pos, Left: left, Next: next, Invalid: invalid,
		T:       firstDecision(&e.ds.Sessions[e.sessions[pos]]),
		Balance: start, Equity: start, Peak: start, Threshold: e.plan.Threshold(start, e.funded),
		EpPeak: start,
	}
	e.computeMask(e.st.T-1, e.clock[e.st.T])
}

// Step applies action a at the open of the current bar, processes the bar and writes the
// observation and mask of the next decision (the final observation when the episode ended).
// A masked (or out-of-range) action is counted, earns invalid_action_reward and is replaced
// by HOLD: the bar is still processed in full. Step on an env whose episode has ended (or
// that was never reset) starts a new episode first, as Reset would. obs and mask must have
// the lengths Reset checks; Step, which has no error result, leaves slices of other lengths
// untouched.
func (e *Env) Step(a Action, obs []float32, mask []bool) Step {
	if !e.st.Active {
		e.reset()
	}
	t := e.st.T
	flattenBar := t == e.ds.Sessions[e.sessions[e.st.Pos]].FlattenBar
	info, r := e.process(a, t, flattenBar)
	return e.advance(t, flattenBar, info, r, obs, mask)
}

// process applies action a at the open of bar t and processes the bar (steps 1 to 8 of
// docs/environment.md but the episode flags; flattenBar: t is its session's flatten bar),
// and returns the step's info and reward. It changes the account, not the episode's place
// in the data: Step walks the sessions of a dataset, a Live account the bars of a stream.
func (e *Env) process(a Action, t int, flattenBar bool) (Info, float64) {
	st := &e.st
	L := t - 1
	var info Info
	var shaped float64 // apex-shaped terms of the action
	eqBefore := st.Equity

	// 1. Action at open[t].
	if a < 0 || a >= NumActions || !e.mask[a] {
		info.InvalidAction = true
		st.Invalid++
		a = Hold
	}
	switch a {
	case Buy:
		e.enter(1, t, L)
	case Sell:
		e.enter(-1, t, L)
	case MoveStopToBE:
		st.Stop = st.Entry + int64(st.Side)*int64(e.cfg.BEOffsetTicks)
		shaped += shapedBreakEven
	case EnableTrail:
		st.Trail = true
		shaped += shapedTrailOn
	case DisableTrail:
		st.Trail = false
	}

	// 2. Trailing ratchet from the last closed bar; it never loosens the stop.
	if st.Side != 0 && st.Trail {
		d := e.cfg.TrailATR * e.atr(L)
		if st.Side > 0 {
			st.Stop = max(st.Stop, e.ticksDown(e.close[L]-d))
		} else {
			st.Stop = min(st.Stop, e.ticksUp(e.close[L]+d))
		}
	}

	// 3. Exit test on bar t's range, the entry bar included; the stop first.
	if st.Side > 0 {
		if e.below(e.low[t], st.Stop) {
			e.exit(min(st.Stop, e.ticksDown(e.open[t]))-e.slip, e.stopReason(), t, &info)
		} else if e.above(e.high[t], st.Target) {
			e.exit(st.Target, ExitTarget, t, &info)
		}
	} else if st.Side < 0 {
		if e.above(e.high[t], st.Stop) {
			e.exit(max(st.Stop, e.ticksUp(e.open[t]))+e.slip, e.stopReason(), t, &info)
		} else if e.below(e.low[t], st.Target) {
			e.exit(st.Target, ExitTarget, t, &info)
		}
	}

	// 4. Threshold rise at the favourable extreme (balance when flat). thOpen, the threshold
	// in force at the open, tells a gap in step 5 from a breach made by this bar's own rise.
	thOpen := st.Threshold
	fav := st.Balance
	if st.Side > 0 {
		fav = e.equityAt(e.high[t])
	} else if st.Side < 0 {
		fav = e.equityAt(e.low[t])
	}
	if fav > st.Peak {
		st.Peak = fav
		st.Threshold = e.plan.Threshold(fav, e.funded)
	}

	// 5. Breach test at the adverse extreme (the balance when flat, after an exit in step 3).
	// In ModeContinuous a breached account keeps trading and is not tested again.
	if !st.Breached {
		adv := st.Balance
		if st.Side > 0 {
			adv = e.equityAt(e.low[t])
		} else if st.Side < 0 {
			adv = e.equityAt(e.high[t])
		}
		if adv <= st.Threshold {
			info.Breach = true
			st.Breached = true
			if st.Side != 0 {
				// The price at which equity equals the threshold, rounded adversely, then
				// slippage. The bar gapped when its open was already at or beyond the
				// threshold in force then: the exit is at the open. A threshold raised by
				// this bar's own favourable extreme is met on the way back from it (the
				// order the rise-first rule assumes), above the open for a long, so the
				// open is not an exit price then.
				p := e.price(st.Entry) + float64(st.Side)*(st.Threshold-st.Balance)/(e.pointValue*float64(e.contracts))
				gap := e.equityAt(e.open[t]) <= thOpen
				switch {
				case st.Side > 0 && gap:
					e.exit(min(e.ticksDown(p), e.ticksDown(e.open[t]))-e.slip, ExitBreach, t, &info)
				case st.Side > 0:
					e.exit(e.ticksDown(p)-e.slip, ExitBreach, t, &info)
				case gap:
					e.exit(max(e.ticksUp(p), e.ticksUp(e.open[t]))+e.slip, ExitBreach, t, &info)
				default:
					e.exit(e.ticksUp(p)+e.slip, ExitBreach, t, &info)
				}
			}
		}
	}

	// 6. Mark at close[t].
	equity := st.Balance
	if st.Side != 0 {
		u := e.unrealized(e.close[t])
		st.MAE, st.MFE = min(st.MAE, u), max(st.MFE, u)
		equity += u
	}

	// 7. Flatten on the session's flatten bar.
	if flattenBar && st.Side != 0 {
		e.flatten(t, &info)
		equity = st.Balance
	}
	st.Equity = equity
	info.Equity = equity

	// 8. Reward.
	var r float64
	if e.shaped {
		r = shaped + e.shapedReward(&info)
	} else {
		r = (equity - eqBefore) / e.rewardUnit
		if info.Breach {
			r += e.cfg.BreachReward
		}
	}
	if info.InvalidAction {
		r += e.cfg.InvalidActionReward
	}

	st.EpReward += r
	st.EpLen++
	if equity > st.EpPeak {
		st.EpPeak = equity
	}
	st.EpMaxDD = max(st.EpMaxDD, st.EpPeak-equity)

	if e.observer != nil {
		pos := int(st.Side) * e.contracts
		rec := BarRecord{
			Time: e.times[t], Equity: equity, Threshold: st.Threshold, Position: pos,
			Session: e.sessions[st.Pos], SessionEnd: flattenBar, Breach: info.Breach,
		}
		if st.Side != 0 {
			rec.Entry, rec.Stop, rec.Target = e.price(st.Entry), e.price(st.Stop), e.price(st.Target)
		}
		e.observer.Bar(rec)
	}
	return info, r
}

// advance ends the episode after bar t or moves to its next decision, and writes that
// decision's observation and mask (the final observation when the episode ended).
func (e *Env) advance(t int, flattenBar bool, info Info, r float64, obs []float32, mask []bool) Step {
	st := &e.st
	equity := st.Equity

	// Episode end and the next decision.
	res := Step{Reward: r}
	switch {
	case info.Breach && e.mode != ModeContinuous:
		res.Terminated = true
	case flattenBar && st.Left == 0:
		res.Terminated = true
	case flattenBar && st.Pos+1 >= len(e.sessions):
		res.Truncated = true // the episode wanted another session and the data ended
	case flattenBar:
		st.Pos++
		st.Left--
		st.T = firstDecision(&e.ds.Sessions[e.sessions[st.Pos]])
	default:
		st.T = t + 1
	}
	if res.Terminated || res.Truncated {
		st.Active = false
		info.EpisodeReward = st.EpReward
		info.EpisodeLength = st.EpLen
		info.EpisodePnL = equity - e.plan.StartBalance
		info.EpisodeTrades = st.EpTrades
		info.EpisodeWins = st.EpWins
		info.EpisodeMaxDD = st.EpMaxDD
		// The final observation is that of a decision one minute after the last bar.
		e.computeMask(t, e.clock[t]+1)
		e.write(obs, mask, t)
	} else {
		e.computeMask(st.T-1, e.clock[st.T])
		e.write(obs, mask, st.T-1)
	}
	res.Info = info
	return res
}

// enter opens a position of side at open[t]: fill with adverse slippage rounded adversely to
// the tick, stop and target sl_atr x ATR14[L] and tp_ratio times that away from the fill,
// rounded away from it; one side of commission is paid now.
func (e *Env) enter(side int8, t, L int) {
	st := &e.st
	d := e.cfg.SLATR * e.atr(L)
	var fill, stop, target int64
	if side > 0 {
		fill = e.ticksUp(e.open[t]) + e.slip
		fp := e.price(fill)
		stop = min(e.ticksDown(fp-d), fill-1)
		target = max(e.ticksUp(fp+e.cfg.TPRatio*d), fill+1)
	} else {
		fill = e.ticksDown(e.open[t]) - e.slip
		fp := e.price(fill)
		stop = max(e.ticksUp(fp+d), fill+1)
		target = min(e.ticksDown(fp-e.cfg.TPRatio*d), fill-1)
	}
	if e.noStops {
		// Levels no price reaches: 0 and 2^50 ticks (prices are > 0 and far below 2^50 ticks).
		stop, target = 0, noLevel
		if side < 0 {
			stop, target = noLevel, 0
		}
	}
	st.Side, st.Entry, st.Stop, st.Target = side, fill, stop, target
	st.Trail = false
	st.EntryBar = t
	st.MAE, st.MFE = 0, 0
	st.Balance -= e.commission
	st.EpTrades++
}

// flatten closes the open position at close[t] rounded adversely, with slippage.
func (e *Env) flatten(t int, info *Info) {
	if e.st.Side > 0 {
		e.exit(e.ticksDown(e.close[t])-e.slip, ExitFlatten, t, info)
	} else {
		e.exit(e.ticksUp(e.close[t])+e.slip, ExitFlatten, t, info)
	}
}

// noLevel is a price level, in ticks, above any real price (see Options.NoStops).
const noLevel = 1 << 50

// exit closes the position at price px (ticks): the gross is a whole number of ticks and the
// second side of commission is paid; the trade goes to the observer and the counters.
func (e *Env) exit(px int64, why ExitReason, t int, info *Info) {
	st := &e.st
	ticks := int64(st.Side) * (px - st.Entry)
	gross := float64(ticks*int64(e.contracts)) * e.tickValue
	net := gross - 2*e.commission
	st.Balance += gross - e.commission
	win := net > 0
	if win {
		st.LossRun = 0
		st.EpWins++
	} else {
		st.LossRun++
	}
	st.Recent = (st.Recent<<1 | b2u(win)) & (1<<recentTrades - 1)
	st.RecentN = min(st.RecentN+1, recentTrades)
	info.TradeClosed, info.TradePnL, info.Exit = true, net, why
	if e.observer != nil {
		e.observer.Trade(Trade{
			EntryTime: e.times[st.EntryBar], ExitTime: e.times[t],
			Side: int(st.Side), Contracts: e.contracts,
			EntryPrice: e.price(st.Entry), ExitPrice: e.price(px),
			Exit: why, Ticks: int(ticks), Gross: gross, Commission: 2 * e.commission, Net: net,
		})
	}
	st.Side, st.Entry, st.Stop, st.Target, st.Trail = 0, 0, 0, 0, false
	st.EntryBar, st.MAE, st.MFE = 0, 0, 0
}

func (e *Env) stopReason() ExitReason {
	if e.st.Trail {
		return ExitTrailStop
	}
	return ExitStop
}

// atr is ATR14 of bar j as the observation holds it; a non-positive ATR falls back to 0.1%
// of the close.
func (e *Env) atr(j int) float64 {
	a := float64(e.market[j*MarketDim+FeatATR14])
	if !(a > 0) {
		a = 0.001 * e.close[j]
	}
	return a
}

// unrealized is the open position's P&L in dollars at price p (no exit costs).
func (e *Env) unrealized(p float64) float64 {
	st := &e.st
	return float64(st.Side) * (p - e.price(st.Entry)) * e.pointValue * float64(e.contracts)
}

// equityAt is the live equity with the position marked at price p.
func (e *Env) equityAt(p float64) float64 { return e.st.Balance + e.unrealized(p) }

// Tick arithmetic. Prices from files are decimal numbers that binary floating point holds
// only approximately (2200.3 / 0.1 = 22002.999999999996), so a price within 1e-6 ticks of
// the grid counts as on it.
const tickEps = 1e-6

func (e *Env) price(k int64) float64 { return float64(k) * e.tick }

// ticksDown is price p rounded down to the tick grid, in ticks.
func (e *Env) ticksDown(p float64) int64 { return int64(math.Floor(p/e.tick + tickEps)) }

// ticksUp is price p rounded up to the tick grid, in ticks.
func (e *Env) ticksUp(p float64) int64 { return int64(math.Ceil(p/e.tick - tickEps)) }

// below reports whether price p is at or below the level of k ticks.
func (e *Env) below(p float64, k int64) bool { return p/e.tick <= float64(k)+tickEps }

// above reports whether price p is at or above the level of k ticks.
func (e *Env) above(p float64, k int64) bool { return p/e.tick >= float64(k)-tickEps }

func b2u(b bool) uint16 {
	if b {
		return 1
	}
	return 0
}
