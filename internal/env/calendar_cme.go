package env

import (
	_ "embed"
	"fmt"
	"strings"
	"sync"
	"time"
)

// The built-in calendars of the CME instruments. Their holidays and early closes come from
// rules (below) for the years cmeFirstYear..cmeLastYear, the years the rules and the
// exceptions were checked against the published calendars: the NYSE holiday schedule
// (NYSE Rule 7.2 and its yearly holiday notices) and CME Group's holiday trading-hours
// notices. docs/environment.md ("Exchange calendar") says what each date means.
//
// The rule of the whole table: a date is a holiday, without a session, when the exchange
// has no regular trading day for it. That covers the days the NYSE is closed: CME Globex
// is closed too on New Year's Day, Good Friday and Christmas, and on the other holidays it
// trades a shortened session (halting at 12:00 CT for the equity index futures) whose trades
// belong to the next day's trade date, with no settlement of its own. An early close is a
// date whose trading day ends early: the half days of the US equity market (13:00 New York),
// on which CME equity index futures close at 12:15 CT, 13:15 New York.
const (
	cmeFirstYear = 2015
	cmeLastYear  = 2027
)

// Names of the built-in calendars; an instrument's calendar key may name them.
const (
	// CalendarCMEEquity is the calendar of the CME equity index futures (ES, NQ, YM, RTY and
	// their micros): the NYSE holidays, unscheduled NYSE closures, and early closes at 13:15
	// New York on the NYSE half days.
	CalendarCMEEquity = "cme-equity"
	// CalendarCMEEnergyMetals is the calendar of NYMEX and COMEX futures (CL, GC): the same
	// holidays without the NYSE's unscheduled closures, and one early close, the day after
	// Thanksgiving at 13:45 New York (12:45 CT).
	CalendarCMEEnergyMetals = "cme-energy-metals"
)

// Early closes of the built-in calendars, New York time.
const (
	cmeEquityEarlyClose       = Clock(13*60 + 15) // 12:15 CT
	cmeEnergyMetalsEarlyClose = Clock(13*60 + 45) // 12:45 CT
)

// cmeEquityExceptions are the unscheduled closures no rule gives, with their sources.
//
//go:embed calendar/cme-equity-exceptions.csv
var cmeEquityExceptions string

var builtinCalendars = map[string]func() (*Calendar, error){
	CalendarCMEEquity: sync.OnceValues(func() (*Calendar, error) {
		c, err := cmeCalendar(CalendarCMEEquity, func(year int) []CalendarDay {
			return nyseEarlyCloses(year, cmeEquityEarlyClose)
		})
		if err != nil {
			return nil, err
		}
		if err := c.read(strings.NewReader(cmeEquityExceptions), "calendar/cme-equity-exceptions.csv"); err != nil {
			return nil, err
		}
		return c, nil
	}),
	CalendarCMEEnergyMetals: sync.OnceValues(func() (*Calendar, error) {
		return cmeCalendar(CalendarCMEEnergyMetals, func(year int) []CalendarDay {
			// The day after Thanksgiving: the fourth Thursday plus one.
			return []CalendarDay{calendarDay(nthWeekday(year, time.November, time.Thursday, 4).AddDate(0, 0, 1),
				false, cmeEnergyMetalsEarlyClose, "day after Thanksgiving")}
		})
	}),
}

// BuiltinCalendar returns the built-in calendar called name (CalendarCMEEquity,
// CalendarCMEEnergyMetals).
func BuiltinCalendar(name string) (*Calendar, bool) {
	build, ok := builtinCalendars[name]
	if !ok {
		return nil, false
	}
	c, err := build()
	if err != nil { // the embedded table is tested: cannot happen
		return nil, false
	}
	return c, true
}

// BuiltinCalendarNames lists the names of the built-in calendars.
func BuiltinCalendarNames() []string { return []string{CalendarCMEEquity, CalendarCMEEnergyMetals} }

// cmeCalendar builds a calendar of the US exchange holidays and the early closes of each
// covered year. Two rules giving one date is an error (TestBuiltinCalendars builds both).
func cmeCalendar(name string, early func(year int) []CalendarDay) (*Calendar, error) {
	c := &Calendar{
		name:  name,
		first: dayOf(date(cmeFirstYear, time.January, 1)),
		last:  dayOf(date(cmeLastYear, time.December, 31)),
		days:  map[int64]CalendarDay{},
	}
	for year := cmeFirstYear; year <= cmeLastYear; year++ {
		for _, d := range append(usHolidays(year), early(year)...) {
			t, err := time.Parse(time.DateOnly, d.Date)
			if err != nil {
				return nil, fmt.Errorf("env: calendar %s: %w", name, err)
			}
			if prev, dup := c.days[dayOf(t)]; dup {
				return nil, fmt.Errorf("env: calendar %s: %s is both %s and %s", name, d.Date, prev.Name, d.Name)
			}
			c.days[dayOf(t)] = d
		}
	}
	return c, nil
}

// usHolidays returns the dates of year on which the NYSE is closed for a holiday, by the
// rules of NYSE Rule 7.2: New Year's Day, Martin Luther King Jr. Day (third Monday of
// January), Washington's Birthday (third Monday of February), Good Friday, Memorial Day
// (last Monday of May), Juneteenth (from 2022), Independence Day, Labor Day (first Monday of
// September), Thanksgiving (fourth Thursday of November) and Christmas. A holiday on a
// Saturday is observed on the Friday before, one on a Sunday on the Monday after, except
// New Year's Day on a Saturday, which is not observed (the Friday before ends the year).
func usHolidays(year int) []CalendarDay {
	closed := func(t time.Time, name string) CalendarDay { return calendarDay(t, true, 0, name) }
	var out []CalendarDay
	if ny := date(year, time.January, 1); ny.Weekday() != time.Saturday {
		out = append(out, closed(observed(ny), "New Year's Day"))
	}
	out = append(out,
		closed(nthWeekday(year, time.January, time.Monday, 3), "Martin Luther King Jr. Day"),
		closed(nthWeekday(year, time.February, time.Monday, 3), "Washington's Birthday"),
		closed(easter(year).AddDate(0, 0, -2), "Good Friday"),
		closed(nthWeekday(year, time.May, time.Monday, -1), "Memorial Day"),
	)
	if year >= 2022 {
		out = append(out, closed(observed(date(year, time.June, 19)), "Juneteenth"))
	}
	return append(out,
		closed(observed(date(year, time.July, 4)), "Independence Day"),
		closed(nthWeekday(year, time.September, time.Monday, 1), "Labor Day"),
		closed(nthWeekday(year, time.November, time.Thursday, 4), "Thanksgiving Day"),
		closed(observed(date(year, time.December, 25)), "Christmas Day"),
	)
}

// nyseEarlyCloses returns the NYSE half days of year (13:00 New York) with the futures'
// close at: the day after Thanksgiving, and July 3 and December 24 when they fall on Monday
// to Thursday (on a Friday they are the observed Independence Day and Christmas).
func nyseEarlyCloses(year int, at Clock) []CalendarDay {
	out := []CalendarDay{calendarDay(nthWeekday(year, time.November, time.Thursday, 4).AddDate(0, 0, 1),
		false, at, "day after Thanksgiving")}
	for _, d := range []struct {
		t    time.Time
		name string
	}{{date(year, time.July, 3), "day before Independence Day"}, {date(year, time.December, 24), "Christmas Eve"}} {
		if wd := d.t.Weekday(); wd >= time.Monday && wd <= time.Thursday {
			out = append(out, calendarDay(d.t, false, at, d.name))
		}
	}
	return out
}

func calendarDay(t time.Time, closed bool, at Clock, name string) CalendarDay {
	return CalendarDay{Date: t.Format(time.DateOnly), Closed: closed, Close: at, Name: name}
}

func date(year int, month time.Month, day int) time.Time {
	return time.Date(year, month, day, 0, 0, 0, 0, time.UTC)
}

// dayOf is the day number (days since 1970-01-01) of a UTC midnight, as zoneCache.local
// numbers exchange dates.
func dayOf(t time.Time) int64 { return floorDiv(t.Unix(), 86400) }

// observed moves a holiday on a Saturday to the Friday before and one on a Sunday to the
// Monday after.
func observed(t time.Time) time.Time {
	switch t.Weekday() {
	case time.Saturday:
		return t.AddDate(0, 0, -1)
	case time.Sunday:
		return t.AddDate(0, 0, 1)
	}
	return t
}

// nthWeekday returns the n-th (1-based) wd of month in year, or with n = -1 the last one.
func nthWeekday(year int, month time.Month, wd time.Weekday, n int) time.Time {
	if n < 0 {
		last := date(year, month+1, 0) // day 0 of the next month
		return last.AddDate(0, 0, -((int(last.Weekday()) - int(wd) + 7) % 7))
	}
	first := date(year, month, 1)
	return first.AddDate(0, 0, (int(wd)-int(first.Weekday())+7)%7+7*(n-1))
}

// easter returns Easter Sunday of year in the Gregorian calendar (the anonymous Gregorian
// algorithm, also known as Meeus/Jones/Butcher).
func easter(year int) time.Time {
	a := year % 19
	b, c := year/100, year%100
	d, e := b/4, b%4
	f := (b + 8) / 25
	g := (b - f + 1) / 3
	h := (19*a + b - d - g + 15) % 30
	i, k := c/4, c%4
	l := (32 + 2*e + 2*i - h - k) % 7
	m := (a + 11*h + 22*l) / 451
	month := (h + l - 7*m + 114) / 31
	day := (h+l-7*m+114)%31 + 1
	return date(year, time.Month(month), day)
}
