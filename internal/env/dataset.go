package env

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// NewDataset builds a Dataset from bars that are already in the instrument's data session:
// it checks them (equal column lengths, strictly increasing times, finite positive prices,
// high >= max(open, close), low <= min(open, close), volume >= 0, every bar's open time inside
// inst.DataSession), computes Bars.Clock in inst.Zone, groups the bars by exchange date into
// Sessions, fills Bars.Session and precomputes the market features (Dataset.Market).
//
// The dataset keeps bars' Time and price slices (the caller must not change them later);
// Clock and Session are always freshly allocated. Errors wrap the package's sentinels
// (ErrTimeOrder, ErrHighLow, ...) and name the bar by index and time.
//
// Session rules: EntryBar is the first bar whose open time is at or after EntryStart and
// before the session's flatten time (a bar at or after the flatten time can never be traded,
// so a session without such a bar has EntryBar -1); FlattenBar is the last bar opening
// before the flatten time, which is the bar opening one minute before it when present (-1 if
// the session has none). The flatten time is the instrument's FlattenTime, or the early
// close of its calendar on the session's date; a bar on a holiday of the calendar is an
// error (Load drops such bars with a warning).
func NewDataset(source string, inst Instrument, bars Bars) (*Dataset, error) {
	ds, err := newDataset(source, inst, bars)
	if err != nil {
		return nil, err
	}
	ds.Market = marketFeatures(ds)
	return ds, nil
}

// newDataset is NewDataset without the market features, so that the loader can reject a
// file with too few bars before paying for them.
func newDataset(source string, inst Instrument, bars Bars) (*Dataset, error) {
	fail := func(format string, args ...any) (*Dataset, error) {
		return nil, fmt.Errorf("env: dataset %s: "+format, append([]any{source}, args...)...)
	}
	if inst.Zone == nil {
		return fail("instrument %q has no zone", inst.Symbol)
	}
	if len(inst.DataSession) == 0 {
		return fail("instrument %q has no data session", inst.Symbol)
	}
	n := len(bars.Time)
	if n == 0 {
		return fail("%w", ErrEmpty)
	}
	if len(bars.Open) != n || len(bars.High) != n || len(bars.Low) != n || len(bars.Close) != n || len(bars.Volume) != n {
		return fail("bar columns differ in length: time %d, open %d, high %d, low %d, close %d, volume %d",
			n, len(bars.Open), len(bars.High), len(bars.Low), len(bars.Close), len(bars.Volume))
	}
	bars.Clock = make([]Clock, n)
	bars.Session = make([]int32, n)
	zc := newZoneCache(inst.Zone)
	var sessions []Session
	sb := sessionBuilder{inst: inst}
	for i := range n {
		t := bars.Time[i]
		if i > 0 && t <= bars.Time[i-1] {
			return fail("bar %d (%s): %w: previous bar %s", i, utcString(t), ErrTimeOrder, utcString(bars.Time[i-1]))
		}
		if _, err := checkBar(bars.Open[i], bars.High[i], bars.Low[i], bars.Close[i], bars.Volume[i]); err != nil {
			return fail("bar %d (%s): %w", i, utcString(t), err)
		}
		day, clock := zc.local(t)
		if !inst.InDataSession(clock) {
			return fail("bar %d (%s) opens at %s %s, outside the data session %s",
				i, utcString(t), clock, inst.Zone, inst.sessionString())
		}
		if h, ok := inst.holiday(day); ok {
			return fail("bar %d (%s) is on %s, a holiday of the %s calendar (%s): drop the bars of holidays",
				i, utcString(t), h.Date, inst.Calendar.Name(), h.Name)
		}
		bars.Clock[i] = clock
		sessions = sb.add(sessions, i, day, clock)
		bars.Session[i] = int32(len(sessions) - 1)
	}
	return &Dataset{Source: source, Instrument: inst, Bars: bars, Sessions: sessions}, nil
}

// sessionBuilder groups bars into sessions as they come, in time order: NewDataset's bars,
// and a BarStream's one at a time, so that both follow the same session rules.
type sessionBuilder struct {
	inst Instrument
	day  int64 // exchange day of the last session
}

// add puts bar i, opening at clock on exchange day day, into the last session of sessions,
// or into a new one when the day changed, and returns sessions. The session's End, EntryBar
// and FlattenBar then describe its bars up to i: FlattenBar is the last bar so far that
// opens before the session's flatten time (the calendar's early close on such a day).
func (sb *sessionBuilder) add(sessions []Session, i int, day int64, clock Clock) []Session {
	if len(sessions) == 0 || day != sb.day {
		sessions = append(sessions, Session{Date: dayString(day), Start: i, EntryBar: -1, FlattenBar: -1,
			FlattenTime: sb.inst.flattenOn(day)})
		sb.day = day
	}
	s := &sessions[len(sessions)-1]
	s.End = i + 1
	if clock < s.FlattenTime {
		s.FlattenBar = i
		if s.EntryBar < 0 && clock >= sb.inst.EntryStart {
			s.EntryBar = i
		}
	}
	return sessions
}

// checkBar validates one bar's values. It returns the column at fault (colOpen..colVolume)
// and an error wrapping ErrNonFinite, ErrNonPositivePrice, ErrHighLow or ErrNegativeVolume.
func checkBar(o, h, l, c, v float64) (col int, err error) {
	for j, p := range [4]float64{o, h, l, c} {
		if math.IsNaN(p) || math.IsInf(p, 0) {
			return colOpen + j, fmt.Errorf("%s %v: %w", colNames[colOpen+j], p, ErrNonFinite)
		}
		if p <= 0 {
			return colOpen + j, fmt.Errorf("%s %v: %w", colNames[colOpen+j], p, ErrNonPositivePrice)
		}
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return colVolume, fmt.Errorf("volume %v: %w", v, ErrNonFinite)
	}
	if v < 0 {
		return colVolume, fmt.Errorf("volume %v: %w", v, ErrNegativeVolume)
	}
	if h < max(o, c) {
		return colHigh, fmt.Errorf("high %v below max(open %v, close %v): %w", h, o, c, ErrHighLow)
	}
	if l > min(o, c) {
		return colLow, fmt.Errorf("low %v above min(open %v, close %v): %w", l, o, c, ErrHighLow)
	}
	return 0, nil
}

// The columns a bar file must have, in the order the loader keeps them.
const (
	colTime = iota
	colOpen
	colHigh
	colLow
	colClose
	colVolume
	numCols
)

var colNames = [numCols]string{"time", "open", "high", "low", "close", "volume"}

func utcString(sec int64) string { return time.Unix(sec, 0).UTC().Format(time.RFC3339) }

// SplitSessions splits the dataset's sessions chronologically (never shuffled): the first
// k = floor(trainFraction x n + 1e-9) sessions train, the other n-k validate. The 1e-9 keeps
// floating-point products such as 0.29 x 100 = 28.999999999999996 from losing a session.
// Edge rules: with n >= 2 and trainFraction < 1, k is kept in [1, n-1] so that both parts
// are non-empty; trainFraction >= 1 puts every session in train; a single session always
// trains (there is nothing left to validate on). trainFraction <= 0 or NaN counts as 0.
// The returned slices are session indices into d.Sessions, in order.
func (d *Dataset) SplitSessions(trainFraction float64) (train, validation []int) {
	n := len(d.Sessions)
	k := splitPoint(n, trainFraction)
	train = make([]int, 0, k)
	for i := range k {
		train = append(train, i)
	}
	validation = make([]int, 0, n-k)
	for i := k; i < n; i++ {
		validation = append(validation, i)
	}
	return train, validation
}

// splitPoint is the number of training sessions among n for trainFraction.
func splitPoint(n int, trainFraction float64) int {
	switch {
	case n == 0:
		return 0
	case n == 1 || trainFraction >= 1:
		return n
	case !(trainFraction > 0):
		trainFraction = 0
	}
	k := int(math.Floor(trainFraction*float64(n) + 1e-9))
	return min(max(k, 1), n-1)
}

// EligibleSessions returns, in order, the sessions among the given indices that can start a
// training episode: they have an entry bar and at least warmupBars bars of history before it
// (bars of earlier sessions count, so indicators are warm). Indices out of range are skipped.
func (d *Dataset) EligibleSessions(sessions []int, warmupBars int) []int {
	out := make([]int, 0, len(sessions))
	for _, s := range sessions {
		if s < 0 || s >= len(d.Sessions) {
			continue
		}
		if e := d.Sessions[s].EntryBar; e >= 0 && e >= warmupBars {
			out = append(out, s)
		}
	}
	return out
}

// missingMinutes counts the minutes strictly between two bar open times of one day that lie
// inside the data session: a session break is not a gap.
func (in Instrument) missingMinutes(a, b Clock) int {
	n := 0
	for _, r := range in.DataSession {
		lo, hi := max(r.From, a+1), min(r.To, b-1)
		if hi >= lo {
			n += int(hi-lo) + 1
		}
	}
	return n
}

// DataInfo describes a dataset; `data info` prints it and `data info --json` its JSON form.
type DataInfo struct {
	Source      string `json:"source"`
	Symbol      string `json:"symbol"`
	Zone        string `json:"zone"`
	DataSession string `json:"data_session"` // e.g. "08:30-16:59"

	Rows     int    `json:"rows"`     // valid data rows read: bars + dropped + holiday_bars
	Bars     int    `json:"bars"`     // bars kept (inside the data session)
	Dropped  int    `json:"dropped"`  // valid bars outside the data session, dropped at load
	Sessions int    `json:"sessions"` // exchange dates with bars
	First    string `json:"first"`    // open time of the first bar, RFC 3339 in the exchange zone
	Last     string `json:"last"`     // open time of the last bar, RFC 3339 in the exchange zone

	Gaps           int `json:"gaps"`            // places where minutes are missing inside a session
	MissingMinutes int `json:"missing_minutes"` // minutes missing inside sessions, in all
	Div100Runs     int `json:"div100_runs"`     // warnings: runs of bars that look divided by 100
	Jumps          int `json:"jumps"`           // warnings: bar-to-bar close changes over 5%

	Calendar    string `json:"calendar"`     // the instrument's calendar (cme-equity, a file), "none" without one
	Holidays    Dates  `json:"holidays"`     // the calendar's holidays on weekdays from the first bar's date to the last's
	HolidayBars int    `json:"holiday_bars"` // bars inside the data session on holidays, dropped at load
	EarlyCloses Dates  `json:"early_closes"` // sessions that close early, as "YYYY-MM-DD HH:MM" (the close)

	TrainFraction      float64 `json:"train_fraction"`
	TrainSessions      int     `json:"train_sessions"`
	ValidationSessions int     `json:"validation_sessions"`
}

// Dates is a list of dates (or dates and times) that prints as "2024-01-15, 2024-02-19", or
// "none"; its JSON form is an array.
type Dates []string

// String joins the dates with commas; "none" when there are none.
func (d Dates) String() string {
	if len(d) == 0 {
		return "none"
	}
	return strings.Join(d, ", ")
}

// Describe summarises the dataset with the default train_fraction (0.8); DescribeSplit takes
// another.
func (d *Dataset) Describe() DataInfo { return d.DescribeSplit(DefaultConfig().TrainFraction) }

// DescribeSplit summarises the dataset, with the session counts of SplitSessions(trainFraction).
// Gaps are counted from the bars themselves (as the loader's gap warnings define them), so
// they are reported for synthetic and NewDataset data too.
func (d *Dataset) DescribeSplit(trainFraction float64) DataInfo {
	in := d.Instrument
	info := DataInfo{
		Source:        d.Source,
		Symbol:        in.Symbol,
		DataSession:   in.sessionString(),
		Bars:          d.Bars.Len(),
		Dropped:       d.Dropped,
		Rows:          d.Bars.Len() + d.Dropped + d.HolidayBars,
		Sessions:      len(d.Sessions),
		TrainFraction: trainFraction,
		Calendar:      "none",
		Holidays:      Dates{},
		HolidayBars:   d.HolidayBars,
		EarlyCloses:   Dates{},
	}
	if in.Calendar != nil {
		info.Calendar = in.Calendar.Name()
	}
	if n := len(d.Sessions); n > 0 {
		first, last := d.Sessions[0].Date, d.Sessions[n-1].Date
		for _, h := range in.Calendar.Days() {
			if h.Closed && h.Date >= first && h.Date <= last && weekday(h.Date) {
				info.Holidays = append(info.Holidays, h.Date)
			}
		}
	}
	for _, s := range d.Sessions {
		if s.FlattenTime > 0 && s.FlattenTime < in.FlattenTime {
			info.EarlyCloses = append(info.EarlyCloses, s.Date+" "+s.FlattenTime.String())
		}
	}
	if in.Zone != nil {
		info.Zone = in.Zone.String()
	}
	if n := d.Bars.Len(); n > 0 && in.Zone != nil {
		info.First = time.Unix(d.Bars.Time[0], 0).In(in.Zone).Format(time.RFC3339)
		info.Last = time.Unix(d.Bars.Time[n-1], 0).In(in.Zone).Format(time.RFC3339)
	}
	b := &d.Bars
	if len(b.Clock) == b.Len() && len(b.Session) == b.Len() {
		for i := 1; i < b.Len(); i++ {
			if b.Session[i] != b.Session[i-1] {
				continue
			}
			if m := in.missingMinutes(b.Clock[i-1], b.Clock[i]); m > 0 {
				info.Gaps++
				info.MissingMinutes += m
			}
		}
	}
	for _, w := range d.Warnings {
		switch w.Kind {
		case WarnDiv100:
			info.Div100Runs++
		case WarnJump:
			info.Jumps++
		}
	}
	k := splitPoint(len(d.Sessions), trainFraction)
	info.TrainSessions, info.ValidationSessions = k, len(d.Sessions)-k
	return info
}
