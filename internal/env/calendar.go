package env

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"time"
)

// Calendar is an exchange's trading calendar: the dates without a session (holidays) and
// the dates whose session ends early, by exchange date in the instrument's zone. Every
// other date is an ordinary day: its bars make a session with the instrument's own times.
//
// A calendar knows the dates from first to last (a built-in one, the years its table was
// checked for); outside them it knows nothing, and the loader says so in a warning rather
// than treating an unknown holiday as an ordinary day silently. A calendar is immutable and
// shared by the instruments that use it.
type Calendar struct {
	name        string
	first, last int64 // exchange days covered, inclusive
	days        map[int64]CalendarDay
}

// CalendarDay is what a calendar says about one exchange date that is not an ordinary day.
type CalendarDay struct {
	Date   string // YYYY-MM-DD
	Closed bool   // a holiday: no session; bars of that date are dropped at load
	// Close is the early close of a date that is not Closed: positions are flat at this
	// time (the session's flatten time), entries end no_entry_minutes before it.
	Close Clock
	Name  string // why, e.g. "Thanksgiving Day"; "" when a file gives no note
}

// Kinds of calendar entries as calendar files write them.
const (
	calendarClosed = "closed"
	calendarEarly  = "early"
)

// Name is the calendar's name: a built-in calendar's (cme-equity), or its file's path;
// "" for no calendar.
func (c *Calendar) Name() string {
	if c == nil {
		return ""
	}
	return c.name
}

// Span returns the first and last dates the calendar covers (YYYY-MM-DD); both "" when it
// covers every date (a calendar file).
func (c *Calendar) Span() (first, last string) {
	if c == nil || c.first == math.MinInt64 {
		return "", ""
	}
	return dayString(c.first), dayString(c.last)
}

// Days returns the calendar's holidays and early closes in date order.
func (c *Calendar) Days() []CalendarDay {
	if c == nil {
		return nil
	}
	keys := make([]int64, 0, len(c.days))
	for d := range c.days {
		keys = append(keys, d)
	}
	slices.Sort(keys)
	out := make([]CalendarDay, len(keys))
	for i, d := range keys {
		out[i] = c.days[d]
	}
	return out
}

// covers reports whether the calendar knows exchange day day (a nil calendar knows none).
func (c *Calendar) covers(day int64) bool {
	return c != nil && day >= c.first && day <= c.last
}

// day returns the entry of exchange day day, if it is a holiday or an early close.
func (c *Calendar) day(day int64) (CalendarDay, bool) {
	if c == nil {
		return CalendarDay{}, false
	}
	d, ok := c.days[day]
	return d, ok
}

// holiday returns the calendar entry of exchange day day when the instrument has no session
// on it.
func (in Instrument) holiday(day int64) (CalendarDay, bool) {
	d, ok := in.Calendar.day(day)
	return d, ok && d.Closed
}

// flattenOn is the flatten time of the session of exchange day day: the instrument's, or
// an earlier close of its calendar.
func (in Instrument) flattenOn(day int64) Clock {
	if d, ok := in.Calendar.day(day); ok && !d.Closed {
		return min(d.Close, in.FlattenTime)
	}
	return in.FlattenTime
}

// LoadCalendar reads a calendar file (docs/environment.md, "Exchange calendar"): CSV rows
// of date (YYYY-MM-DD), kind (closed or early), close time (HH:MM in the instrument's
// zone, for early only) and an optional note; an optional header row starting with "date";
// lines starting with # are comments. The calendar covers every date. Errors are
// *ParseErrors naming the file, line and column.
func LoadCalendar(path string) (*Calendar, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &ParseError{File: path, Err: fmt.Errorf("%w: %w", ErrRead, err)}
	}
	defer f.Close()
	return ReadCalendar(f, path)
}

// ReadCalendar is LoadCalendar for an open reader; name names the calendar and its errors.
func ReadCalendar(r io.Reader, name string) (*Calendar, error) {
	c := &Calendar{name: name, first: math.MinInt64, last: math.MaxInt64, days: map[int64]CalendarDay{}}
	if err := c.read(r, name); err != nil {
		return nil, err
	}
	return c, nil
}

// read adds the rows of a calendar file to c; an entry for a date already in c is an error.
func (c *Calendar) read(r io.Reader, name string) error {
	cr := csv.NewReader(r)
	cr.Comment = '#'
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	lines := map[int64]int{}
	for first := true; ; first = false {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return &ParseError{File: name, Line: pe.Line, Err: fmt.Errorf("%w: %v", ErrSyntax, pe.Err)}
			}
			return &ParseError{File: name, Err: fmt.Errorf("%w: %w", ErrRead, err)}
		}
		line, _ := cr.FieldPos(0)
		if first && strings.EqualFold(strings.TrimSpace(rec[0]), "date") {
			continue // the header
		}
		fail := func(col int, format string, args ...any) error {
			return &ParseError{File: name, Line: line, Column: col, Err: fmt.Errorf(format, args...)}
		}
		for i := range rec {
			rec[i] = strings.TrimSpace(rec[i])
		}
		if len(rec) < 2 || len(rec) > 4 {
			return fail(0, "want date,kind[,close[,note]] (kind closed or early), got %d fields", len(rec))
		}
		date, err := time.Parse(time.DateOnly, rec[0])
		if err != nil {
			return fail(1, "date %q: want YYYY-MM-DD", rec[0])
		}
		d := CalendarDay{Date: rec[0]}
		if len(rec) == 4 {
			d.Name = rec[3]
		}
		closeField := ""
		if len(rec) >= 3 {
			closeField = rec[2]
		}
		switch strings.ToLower(rec[1]) {
		case calendarClosed:
			if closeField != "" {
				return fail(3, "a closed date has no close time, got %q", closeField)
			}
			d.Closed = true
		case calendarEarly:
			if d.Close, err = ParseClock(closeField); err != nil {
				return fail(3, "close time of an early close: %v", err)
			}
		default:
			return fail(2, "kind %q: want %s or %s", rec[1], calendarClosed, calendarEarly)
		}
		day := floorDiv(date.Unix(), 86400)
		if prev, ok := lines[day]; ok {
			return fail(1, "date %s is listed twice (also line %d)", rec[0], prev)
		}
		if _, ok := c.days[day]; ok {
			return fail(1, "date %s is already in the %s calendar's rules", rec[0], c.name)
		}
		lines[day] = line
		c.days[day] = d
	}
}

// check verifies that the calendar's early closes fit the instrument: after its entry start
// and not after its flatten time (an early close before the entry start is a closed day).
func (c *Calendar) check(in Instrument) error {
	for _, d := range c.Days() {
		if !d.Closed && (d.Close <= in.EntryStart || d.Close > in.FlattenTime) {
			return fmt.Errorf("%s: early close %s on %s must be after entry_start %s and at or before flatten_time %s (a day without trading is closed)",
				c.name, d.Close, d.Date, in.EntryStart, in.FlattenTime)
		}
	}
	return nil
}

// weekday reports whether the date YYYY-MM-DD is a Monday to Friday.
func weekday(date string) bool {
	t, err := time.Parse(time.DateOnly, date)
	return err == nil && t.Weekday() != time.Saturday && t.Weekday() != time.Sunday
}
