package env

import "fmt"

// holidayRun is the open run of dropped bars on one holiday.
type holidayRun struct {
	day         int64
	count       int
	first, last int // lines
	entry       CalendarDay
}

// onHoliday drops a bar of exchange day day (at line) when the day is a holiday of the
// instrument's calendar, and reports whether it did. A kept bar whose date the calendar does
// not cover starts, when the bar before it was covered, a warning that holidays and early
// closes are unknown there.
func (l *loader) onHoliday(line int, day int64) bool {
	cal := l.inst.Calendar
	if cal == nil {
		return false
	}
	if h, ok := l.inst.holiday(day); ok {
		if l.holiday.count > 0 && l.holiday.day != day {
			l.endHoliday()
		}
		if l.holiday.count == 0 {
			l.holiday = holidayRun{day: day, first: line, entry: h}
		}
		l.holiday.count++
		l.holiday.last = line
		l.holidayBars++
		return true
	}
	if covered := cal.covers(day); !covered && !l.uncovered {
		first, last := cal.Span()
		l.warn(line, WarnCalendar, fmt.Sprintf(
			"%s is outside the dates the %s calendar covers (%s to %s): holidays and early closes are unknown outside them, so those dates are ordinary sessions",
			dayString(day), cal.Name(), first, last))
		l.uncovered = true
	} else if covered {
		l.uncovered = false
	}
	return false
}

// endHoliday closes the open run of a holiday's dropped bars with one warning.
func (l *loader) endHoliday() {
	h := &l.holiday
	if h.count == 0 {
		return
	}
	what := fmt.Sprintf("%d bars on lines %d-%d dropped", h.count, h.first, h.last)
	if h.count == 1 {
		what = fmt.Sprintf("1 bar on line %d dropped", h.first)
	}
	name := ""
	if h.entry.Name != "" {
		name = " (" + h.entry.Name + ")"
	}
	l.warn(h.first, WarnHoliday, fmt.Sprintf("%s is a holiday of the %s calendar%s, without a session: %s",
		h.entry.Date, l.inst.Calendar.Name(), name, what))
	h.count = 0
}
