package env

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Clock is a time of day in an exchange's zone, in minutes after midnight (0..1439).
type Clock int16

// ClockRange is an inclusive range of bar open times, as in a data session "08:30-16:59".
type ClockRange struct {
	From, To Clock
}

// Instrument describes a futures contract and its trading calendar. Nothing in the package
// is specific to one market: the ten built-in specifications and custom instruments from
// configuration are values of this type.
type Instrument struct {
	Symbol            string
	PointValue        float64 // dollars per 1.0 price point
	TickSize          float64 // price points per tick
	CommissionPerSide float64 // dollars per contract per side
	SlippageTicks     int     // adverse ticks on entries, stop, breach and flatten exits
	TypicalPrice      float64 // used by the divided-by-100 warning and synthetic bars

	Zone        *time.Location // exchange time zone
	DataSession []ClockRange   // bar open times kept at load (several ranges = breaks)
	EntryStart  Clock          // first bar open time at which BUY/SELL may be legal
	FlattenTime Clock          // positions are flat at this time; the flatten bar opens 1 minute before

	// Calendar holds the exchange's holidays (no session) and early closes (an earlier
	// flatten time); nil treats every date with bars as an ordinary session.
	Calendar *Calendar
}

// TickValue is the dollar value of one tick for one contract.
func (in Instrument) TickValue() float64 { return in.PointValue * in.TickSize }

// InstrumentSpec is a custom instrument as written in a configuration file (key
// `instruments`). Times are "HH:MM" strings in the instrument's zone; DataSession is a list
// of "HH:MM-HH:MM" ranges.
type InstrumentSpec struct {
	PointValue        float64
	TickSize          float64
	CommissionPerSide float64
	SlippageTicks     int
	TypicalPrice      float64
	Timezone          string
	DataSession       []string
	EntryStart        string
	FlattenTime       string
	Calendar          string // "" (none), a built-in calendar's name, or a calendar file
}

// String formats the clock as HH:MM.
func (c Clock) String() string {
	if c < 0 || c >= 24*60 {
		return fmt.Sprintf("Clock(%d)", int(c))
	}
	return fmt.Sprintf("%02d:%02d", int(c)/60, int(c)%60)
}

// String formats the range as HH:MM-HH:MM.
func (r ClockRange) String() string { return r.From.String() + "-" + r.To.String() }

// ParseClock parses "HH:MM" (24-hour, 00:00..23:59).
func ParseClock(s string) (Clock, error) {
	if len(s) != 5 || s[2] != ':' {
		return 0, fmt.Errorf("want HH:MM, got %q", s)
	}
	h, ok1 := twoDigits(s[0:2])
	m, ok2 := twoDigits(s[3:5])
	if !ok1 || !ok2 || h > 23 || m > 59 {
		return 0, fmt.Errorf("want HH:MM between 00:00 and 23:59, got %q", s)
	}
	return Clock(h*60 + m), nil
}

// ParseClockRange parses "HH:MM-HH:MM" with From <= To (a session may not cross midnight).
func ParseClockRange(s string) (ClockRange, error) {
	from, to, ok := strings.Cut(s, "-")
	if !ok {
		return ClockRange{}, fmt.Errorf("want HH:MM-HH:MM, got %q", s)
	}
	f, err := ParseClock(strings.TrimSpace(from))
	if err != nil {
		return ClockRange{}, fmt.Errorf("range %q: %w", s, err)
	}
	t, err := ParseClock(strings.TrimSpace(to))
	if err != nil {
		return ClockRange{}, fmt.Errorf("range %q: %w", s, err)
	}
	if t < f {
		return ClockRange{}, fmt.Errorf("range %q ends before it starts (a session may not cross midnight)", s)
	}
	return ClockRange{From: f, To: t}, nil
}

func twoDigits(s string) (int, bool) {
	if len(s) != 2 || s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9' {
		return 0, false
	}
	return int(s[0]-'0')*10 + int(s[1]-'0'), true
}

// InDataSession reports whether a bar opening at c is kept at load.
func (in Instrument) InDataSession(c Clock) bool {
	for _, r := range in.DataSession {
		if c >= r.From && c <= r.To {
			return true
		}
	}
	return false
}

// CME defaults shared by the built-in instruments (spec §2): bar open times 08:30-16:59
// kept (the 16:59 bar feeds indicators but is never traded), entries from 09:30, flat at 16:59,
// and the exchange calendar of the product group (calendar_cme.go).
const (
	cmeZone        = "America/New_York"
	cmeSessionFrom = Clock(8*60 + 30)
	cmeSessionTo   = Clock(16*60 + 59)
	cmeEntryStart  = Clock(9*60 + 30)
	cmeFlatten     = Clock(16*60 + 59)
)

// builtins is the instrument table of spec §2, in table order.
var builtins = []struct {
	sym                          string
	pointValue, tick, commission float64
	slippage                     int
	typical                      float64
	calendar                     string
}{
	{"ES", 50, 0.25, 2.50, 1, 6400, CalendarCMEEquity},
	{"NQ", 20, 0.25, 2.50, 1, 24000, CalendarCMEEquity},
	{"YM", 5, 1.0, 2.50, 2, 44000, CalendarCMEEquity},
	{"RTY", 50, 0.10, 2.50, 2, 2200, CalendarCMEEquity},
	{"MES", 5, 0.25, 0.60, 1, 6400, CalendarCMEEquity},
	{"MNQ", 2, 0.25, 0.60, 1, 24000, CalendarCMEEquity},
	{"M2K", 5, 0.10, 0.60, 2, 2200, CalendarCMEEquity},
	{"MYM", 0.5, 1.0, 0.60, 2, 44000, CalendarCMEEquity},
	{"CL", 1000, 0.01, 2.50, 2, 70, CalendarCMEEnergyMetals},
	{"GC", 100, 0.10, 2.50, 2, 2400, CalendarCMEEnergyMetals},
}

// BuiltinInstrument returns the built-in specification of symbol (ES, NQ, YM, RTY, MES, MNQ,
// M2K, MYM, CL, GC; case-sensitive, as the table spells them).
func BuiltinInstrument(symbol string) (Instrument, bool) {
	for _, b := range builtins {
		if b.sym != symbol {
			continue
		}
		zone, err := loadZone(cmeZone)
		if err != nil { // the zone database is embedded: cannot happen
			return Instrument{}, false
		}
		cal, ok := BuiltinCalendar(b.calendar)
		if !ok { // built from rules and an embedded table that the tests build: cannot happen
			return Instrument{}, false
		}
		return Instrument{
			Symbol:            b.sym,
			PointValue:        b.pointValue,
			TickSize:          b.tick,
			CommissionPerSide: b.commission,
			SlippageTicks:     b.slippage,
			TypicalPrice:      b.typical,
			Zone:              zone,
			DataSession:       []ClockRange{{From: cmeSessionFrom, To: cmeSessionTo}},
			EntryStart:        cmeEntryStart,
			FlattenTime:       cmeFlatten,
			Calendar:          cal,
		}, true
	}
	return Instrument{}, false
}

// BuiltinSymbols lists the built-in symbols in table order.
func BuiltinSymbols() []string {
	out := make([]string, len(builtins))
	for i, b := range builtins {
		out[i] = b.sym
	}
	return out
}

// NewInstrument builds and validates a custom instrument from its configuration. Every error
// names the key at fault as instruments.<symbol>.<key> and says what was expected. Rules:
// point_value, tick_size and typical_price > 0 and finite; commission_per_side >= 0;
// slippage_ticks >= 0; timezone an IANA zone ("Local" is refused); data_session one or more
// "HH:MM-HH:MM" ranges of bar open times, each From <= To, increasing and not overlapping
// (gaps between them are breaks); entry_start and flatten_time "HH:MM" with entry_start
// and flatten_time inside the data session, entry_start < flatten_time; calendar empty, the
// name of a built-in calendar (whose times are New York's: the timezone must be
// America/New_York), or a calendar file (LoadCalendar) whose early closes lie after
// entry_start and at or before flatten_time.
func (s InstrumentSpec) NewInstrument(symbol string) (Instrument, error) {
	key := func(k string) string { return "env: instruments." + symbol + "." + k }
	if symbol == "" {
		return Instrument{}, errors.New("env: instruments: empty symbol")
	}
	positive := func(k string, v float64) error {
		if !(v > 0) || math.IsInf(v, 0) {
			return fmt.Errorf("%s must be > 0, got %g", key(k), v)
		}
		return nil
	}
	if err := positive("point_value", s.PointValue); err != nil {
		return Instrument{}, err
	}
	if err := positive("tick_size", s.TickSize); err != nil {
		return Instrument{}, err
	}
	if !(s.CommissionPerSide >= 0) || math.IsInf(s.CommissionPerSide, 0) {
		return Instrument{}, fmt.Errorf("%s must be >= 0, got %g", key("commission_per_side"), s.CommissionPerSide)
	}
	if s.SlippageTicks < 0 {
		return Instrument{}, fmt.Errorf("%s must be >= 0, got %d", key("slippage_ticks"), s.SlippageTicks)
	}
	if err := positive("typical_price", s.TypicalPrice); err != nil {
		return Instrument{}, err
	}
	if s.Timezone == "" {
		return Instrument{}, fmt.Errorf("%s is required (an IANA zone such as \"America/New_York\")", key("timezone"))
	}
	zone, err := loadZone(s.Timezone)
	if err != nil {
		return Instrument{}, fmt.Errorf("%s: %w", key("timezone"), err)
	}
	if len(s.DataSession) == 0 {
		return Instrument{}, fmt.Errorf("%s is required (a list of \"HH:MM-HH:MM\" ranges)", key("data_session"))
	}
	in := Instrument{
		Symbol:            symbol,
		PointValue:        s.PointValue,
		TickSize:          s.TickSize,
		CommissionPerSide: s.CommissionPerSide,
		SlippageTicks:     s.SlippageTicks,
		TypicalPrice:      s.TypicalPrice,
		Zone:              zone,
		DataSession:       make([]ClockRange, len(s.DataSession)),
	}
	for i, r := range s.DataSession {
		cr, err := ParseClockRange(r)
		if err != nil {
			return Instrument{}, fmt.Errorf("%s[%d]: %w", key("data_session"), i, err)
		}
		if i > 0 && cr.From <= in.DataSession[i-1].To {
			return Instrument{}, fmt.Errorf("%s[%d]: range %q must start after the previous range ends (%s)",
				key("data_session"), i, r, in.DataSession[i-1].To)
		}
		in.DataSession[i] = cr
	}
	if in.EntryStart, err = ParseClock(s.EntryStart); err != nil {
		return Instrument{}, fmt.Errorf("%s: %w", key("entry_start"), err)
	}
	if in.FlattenTime, err = ParseClock(s.FlattenTime); err != nil {
		return Instrument{}, fmt.Errorf("%s: %w", key("flatten_time"), err)
	}
	if !in.InDataSession(in.EntryStart) {
		return Instrument{}, fmt.Errorf("%s must be inside the data session %s, got %s",
			key("entry_start"), in.sessionString(), in.EntryStart)
	}
	if in.FlattenTime <= in.EntryStart {
		return Instrument{}, fmt.Errorf("%s must be after entry_start %s, got %s",
			key("flatten_time"), in.EntryStart, in.FlattenTime)
	}
	if !in.InDataSession(in.FlattenTime) {
		return Instrument{}, fmt.Errorf("%s must be inside the data session %s, got %s",
			key("flatten_time"), in.sessionString(), in.FlattenTime)
	}
	if in.Calendar, err = s.calendar(in); err != nil {
		return Instrument{}, fmt.Errorf("%s: %w", key("calendar"), err)
	}
	return in, nil
}

// calendar resolves the calendar key of the spec for the instrument in.
func (s InstrumentSpec) calendar(in Instrument) (*Calendar, error) {
	switch {
	case s.Calendar == "":
		return nil, nil
	case slices.Contains(BuiltinCalendarNames(), s.Calendar):
		if z := in.Zone.String(); z != cmeZone {
			return nil, fmt.Errorf("the built-in calendar %s gives New York times: it needs timezone %s, got %s (write a calendar file in your zone)",
				s.Calendar, cmeZone, z)
		}
		c, _ := BuiltinCalendar(s.Calendar)
		return c, nil
	}
	c, err := LoadCalendar(s.Calendar)
	if err != nil {
		return nil, err
	}
	if err := c.check(in); err != nil {
		return nil, err
	}
	return c, nil
}

// sessionString formats the data session as "08:30-11:30,13:00-16:59".
func (in Instrument) sessionString() string {
	parts := make([]string, len(in.DataSession))
	for i, r := range in.DataSession {
		parts[i] = r.String()
	}
	return strings.Join(parts, ",")
}
