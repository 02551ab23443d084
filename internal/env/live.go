package env

import "errors"

// Why no decision is taken after a bar (LiveBar.Reason). A backtest over a file gives the
// same reasons for its bars (predict --data).
const (
	// ReasonWarmUp: the next bar would be one of the first WindowBars of the data, whose
	// observation window is not yet full.
	ReasonWarmUp = "warm-up"
	// ReasonBeforeEntry: the next bar opens before the session's entry start.
	ReasonBeforeEntry = "before the entry window"
	// ReasonSessionClosed: the bar was its session's flatten bar or came after it; the next
	// decision is in the next session.
	ReasonSessionClosed = "session closed"
	// ReasonOutsideSession: the line's bar opens outside the data session and was dropped.
	ReasonOutsideSession = "outside the data session"
	// ReasonHoliday: the line's bar is on a holiday of the instrument's calendar (no
	// session) and was dropped.
	ReasonHoliday = "holiday"
)

// Live is one continuous account over bars that arrive one at a time (a BarStream), under
// the rules of the backtest (ModeContinuous): after each bar it says whether a decision is
// due for the open of the next bar and gives its observation and mask; Decide takes it, and
// it applies to the next bar that arrives. Each bar is processed by the code that processes
// a backtest's bars (Env.process): the same fills at the next bar's open plus slippage, the
// same stops, targets, Apex threshold and flatten.
//
// A backtest knows each bar's successor from the file; a live account knows only the
// exchange's schedule, and follows it where the two could differ:
//
//   - A decision after bar L is due when the next minute of the data session on L's day opens
//     inside [entry start, flatten time) and L is not among the first WindowBars-1 bars (the
//     flatten time is the session's: an early close of the calendar on such a day). It is
//     taken with that minute's open time; when the bar that arrives opens later (missing
//     minutes), the decision applies to it with the mask of its real open time, as the
//     backtest's would (a masked action becomes HOLD and is counted, as Env.Step counts it).
//   - The flatten bar is the one after which no minute before the flatten time is left
//     (16:58 for CME, 13:14 on an early close at 13:15). When that bar is missing, the
//     account learns at the next bar that its
//     last one was the session's last before the flatten time, and flattens then at that
//     bar's close: the backtest's price and account, one line later.
//   - A session whose bars start at or after its entry start (no bar before it) has no
//     decision at its first bar: the decision would have been due after the previous day's
//     last bar, when its coming was not known.
//
// On bars that arrive at every minute from one minute before the entry start to one minute
// before the flatten time, the decisions and the account are exactly those of the backtest
// of the same bars (TestLiveMatchesBacktest). Not safe for concurrent use.
type Live struct {
	bs   *BarStream
	e    *Env
	rec  liveRecorder
	obs  []float32
	mask []bool

	due     bool   // a decision is due: obs and mask hold it
	pending bool   // a decision waits for the next bar
	action  Action // the pending decision
	session int32  // the pending decision's session: its bar must be in it
	last    int    // the last bar processed, -1 before the first
}

// LiveBar is what became of one line given to Live.Add.
type LiveBar struct {
	BarEvent // the line, the bar's index (-1: none), a dropped bar, warnings

	// Stepped: the account processed the bar with the decision taken for it. Invalid: that
	// decision was masked at the bar's real open time (see Live) and HOLD was applied.
	Stepped, Invalid bool
	// Record is the account after the line (for a line without a bar, the account as it
	// was): what a backtest's Observer records for a bar it processes.
	Record BarRecord
	// Trades closed while the line was processed, in order: at the bar's stop, target,
	// breach or flatten, or the previous bar's late flatten (see Live).
	Trades []Trade

	// Due: a decision is due for the next bar's open: Obs and Mask hold it, Decide takes it.
	// Otherwise Reason says why not (one of the Reason constants; "" for a line without a bar
	// that is not dropped: a blank line).
	Due    bool
	Reason string
}

// NewLive returns an account over the bars of a stream named name (in errors) for inst,
// under cfg (plan, contracts, costs, rules, data_tz, repair_div100), writing observations of
// obsDim floats (ObsDim or BaseObsDim).
func NewLive(name string, inst Instrument, cfg Config, obsDim int) (*Live, error) {
	bs, err := NewBarStream(name, inst, cfg)
	if err != nil {
		return nil, err
	}
	l := &Live{bs: bs, last: -1}
	e, err := newEnv(bs.Dataset(), cfg, Options{Mode: ModeContinuous, ObsDim: obsDim, Observer: &l.rec}, nil)
	if err != nil {
		return nil, err
	}
	start := e.plan.StartBalance // a fresh account, as Env.reset opens one
	e.st = envState{
		Active: true, Balance: start, Equity: start, Peak: start,
		Threshold: e.plan.Threshold(start, e.funded), EpPeak: start,
	}
	l.e, l.obs, l.mask = e, make([]float32, e.obsDim), make([]bool, NumActions)
	return l, nil
}

// Header reads the stream's header line (see BarStream.Header).
func (l *Live) Header(line string) error { return l.bs.Header(line) }

// errUndecided: Add was called while a decision was due.
var errUndecided = errors.New("env: live: a decision is due: call Decide before adding the next line")

// Add reads the next line and processes its bar. A bad line returns the BarStream's error
// and changes nothing: a pending decision waits for the next good bar.
func (l *Live) Add(line string) (LiveBar, error) {
	if l.due {
		return LiveBar{BarEvent: BarEvent{Bar: -1}}, errUndecided
	}
	ev, err := l.bs.Add(line)
	out := LiveBar{BarEvent: ev}
	if err != nil {
		return out, err
	}
	if ev.Bar < 0 {
		out.Record = l.account(ev.Time, -1)
		switch {
		case ev.Dropped:
			out.Reason = ReasonOutsideSession
		case ev.Holiday:
			out.Reason = ReasonHoliday
		}
		return out, nil
	}
	j := ev.Bar
	l.attach()
	e, b := l.e, &l.e.ds.Bars
	st := &e.st
	l.rec.trades = l.rec.trades[:0]

	// Bar j is past the previous bar's session (a new day, or the flatten time): no decision
	// of that session applies to it, and an open position should have been flattened at the
	// previous bar, which turned out to be the session's last before the flatten time.
	past := j > 0 && (b.Session[j] != b.Session[j-1] || b.Clock[j] >= flattenAt(e.ds, j))
	if past && st.Side != 0 {
		var info Info
		e.flatten(l.last, &info)
		st.Equity = st.Balance
	}
	st.Pos = int(b.Session[j]) // the session of bar j's step and of the decision after it
	if l.pending {
		l.pending = false
		if !past {
			st.T = j
			e.computeMask(j-1, b.Clock[j]) // the decision's mask at the bar's real open time
			info, _ := e.process(l.action, j, l.lastBeforeFlatten(j))
			out.Stepped, out.Invalid = true, info.InvalidAction
			l.last = j
		}
	}
	if out.Stepped {
		out.Record = l.rec.bar
	} else {
		out.Record = l.account(b.Time[j], j)
	}
	out.Trades = append([]Trade(nil), l.rec.trades...)

	clock, why := l.nextOpen(j)
	if why != "" {
		out.Reason = why
		return out, nil
	}
	e.computeMask(j, clock)
	e.write(l.obs, l.mask, j)
	l.due, out.Due = true, true
	return out, nil
}

// nextOpen returns the open time of the bar that would follow bar j by the schedule, and
// why no decision is due for it ("" when one is).
func (l *Live) nextOpen(j int) (Clock, string) {
	inst := &l.e.ds.Instrument
	if j+1 < WindowBars {
		return 0, ReasonWarmUp
	}
	if l.lastBeforeFlatten(j) {
		return 0, ReasonSessionClosed
	}
	c, _ := inst.nextMinute(l.e.ds.Bars.Clock[j])
	if c < inst.EntryStart {
		return 0, ReasonBeforeEntry
	}
	return c, ""
}

// lastBeforeFlatten reports whether bar j is its session's flatten bar by the schedule: no
// minute of the data session is left on its day before the session's flatten time (the bar
// opening at the flatten time - 1 minute), or it opens at or after the flatten time itself.
func (l *Live) lastBeforeFlatten(j int) bool {
	c, ok := l.e.ds.Instrument.nextMinute(l.e.ds.Bars.Clock[j])
	return !ok || c >= flattenAt(l.e.ds, j)
}

// nextMinute is the first bar open time after c on the same day inside the data session.
func (in Instrument) nextMinute(c Clock) (Clock, bool) {
	for _, r := range in.DataSession {
		switch {
		case c+1 >= r.From && c+1 <= r.To:
			return c + 1, true
		case r.From > c:
			return r.From, true
		}
	}
	return 0, false
}

// Decide takes the due decision: action a applies at the open of the next bar. A masked
// action is replaced by HOLD then and counted (InvalidActions), as Env.Step does.
func (l *Live) Decide(a Action) error {
	if !l.due {
		return errors.New("env: live: no decision is due")
	}
	l.due, l.pending, l.action = false, true, a
	l.session = l.e.ds.Bars.Session[len(l.e.ds.Bars.Session)-1]
	return nil
}

// Obs is the observation of the due decision (ObsDim() floats, raw), valid until the next
// Add; Mask its legal actions.
func (l *Live) Obs() []float32 { return l.obs }

// Mask is the due decision's legal actions (NumActions), valid until the next Add.
func (l *Live) Mask() []bool { return l.mask }

// ObsDim is the length of the observations (ObsDim or BaseObsDim).
func (l *Live) ObsDim() int { return l.e.obsDim }

// Dataset is the bars read so far (see BarStream.Dataset).
func (l *Live) Dataset() *Dataset { return l.bs.Dataset() }

// Warnings are the warnings only the end of the stream brings (see BarStream.Warnings).
func (l *Live) Warnings() []Warning { return l.bs.Warnings() }

// InvalidActions counts the decisions that were masked at their bar's real open time.
func (l *Live) InvalidActions() int64 { return l.e.st.Invalid }

// attach points the env at the dataset's current columns (appending may have moved them)
// and makes every session one it walks, so that its records name the bar's session.
func (l *Live) attach() {
	e, ds := l.e, l.e.ds
	b := &ds.Bars
	e.open, e.high, e.low, e.close, e.times, e.clock, e.market = b.Open, b.High, b.Low, b.Close, b.Time, b.Clock, ds.Market
	for s := len(e.sessions); s < len(ds.Sessions); s++ {
		e.sessions = append(e.sessions, s)
	}
}

// account is the record of the account at a bar opening at time that was not processed
// (bar j of the dataset, or -1 for a dropped bar): nothing traded, so the account is as the
// last processed bar left it.
func (l *Live) account(time int64, j int) BarRecord {
	e, st := l.e, &l.e.st
	r := BarRecord{Time: time, Equity: st.Equity, Threshold: st.Threshold, Position: int(st.Side) * e.contracts, Session: -1}
	if j >= 0 {
		r.Session = int(e.ds.Bars.Session[j])
	}
	if st.Side != 0 {
		r.Entry, r.Stop, r.Target = e.price(st.Entry), e.price(st.Stop), e.price(st.Target)
	}
	return r
}

// liveRecorder is a Live account's Observer: the last bar's record and the trades closed
// while one line is processed.
type liveRecorder struct {
	bar    BarRecord
	trades []Trade
}

func (r *liveRecorder) Trade(t Trade)   { r.trades = append(r.trades, t) }
func (r *liveRecorder) Bar(b BarRecord) { r.bar = b }
