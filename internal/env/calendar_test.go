package env

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// Easter Sunday by the Gregorian computus; the dates are those of the published tables
// (e.g. the US Naval Observatory's), including both ends of its range (March 22, April 25).
func TestEaster(t *testing.T) {
	want := map[int]string{
		1818: "1818-03-22", 1943: "1943-04-25", 2000: "2000-04-23", 2008: "2008-03-23",
		2015: "2015-04-05", 2016: "2016-03-27", 2017: "2017-04-16", 2018: "2018-04-01",
		2019: "2019-04-21", 2020: "2020-04-12", 2021: "2021-04-04", 2022: "2022-04-17",
		2023: "2023-04-09", 2024: "2024-03-31", 2025: "2025-04-20", 2026: "2026-04-05",
		2027: "2027-03-28", 2038: "2038-04-25",
	}
	for year, w := range want {
		if got := easter(year).Format(time.DateOnly); got != w {
			t.Errorf("easter(%d) = %s, want %s", year, got, w)
		}
	}
}

// The NYSE's full-day holidays as its holiday notices list them, for years that exercise
// every observance rule: a Sunday New Year (2017, 2023), a Saturday one not observed
// (2022), Juneteenth's first year on a Sunday (2022) and on a Saturday (2027), Independence
// Day and Christmas on a weekend (2020, 2021, 2022, 2027).
func TestUSHolidays(t *testing.T) {
	want := map[int][]string{
		2017: {"2017-01-02", "2017-01-16", "2017-02-20", "2017-04-14", "2017-05-29", "2017-07-04", "2017-09-04", "2017-11-23", "2017-12-25"},
		2020: {"2020-01-01", "2020-01-20", "2020-02-17", "2020-04-10", "2020-05-25", "2020-07-03", "2020-09-07", "2020-11-26", "2020-12-25"},
		2021: {"2021-01-01", "2021-01-18", "2021-02-15", "2021-04-02", "2021-05-31", "2021-07-05", "2021-09-06", "2021-11-25", "2021-12-24"},
		2022: {"2022-01-17", "2022-02-21", "2022-04-15", "2022-05-30", "2022-06-20", "2022-07-04", "2022-09-05", "2022-11-24", "2022-12-26"},
		2023: {"2023-01-02", "2023-01-16", "2023-02-20", "2023-04-07", "2023-05-29", "2023-06-19", "2023-07-04", "2023-09-04", "2023-11-23", "2023-12-25"},
		2024: {"2024-01-01", "2024-01-15", "2024-02-19", "2024-03-29", "2024-05-27", "2024-06-19", "2024-07-04", "2024-09-02", "2024-11-28", "2024-12-25"},
		2025: {"2025-01-01", "2025-01-20", "2025-02-17", "2025-04-18", "2025-05-26", "2025-06-19", "2025-07-04", "2025-09-01", "2025-11-27", "2025-12-25"},
		2026: {"2026-01-01", "2026-01-19", "2026-02-16", "2026-04-03", "2026-05-25", "2026-06-19", "2026-07-03", "2026-09-07", "2026-11-26", "2026-12-25"},
		2027: {"2027-01-01", "2027-01-18", "2027-02-15", "2027-03-26", "2027-05-31", "2027-06-18", "2027-07-05", "2027-09-06", "2027-11-25", "2027-12-24"},
	}
	for year, w := range want {
		var got []string
		for _, d := range usHolidays(year) {
			if !d.Closed || d.Name == "" {
				t.Errorf("%s: closed %v, name %q; want a named holiday", d.Date, d.Closed, d.Name)
			}
			got = append(got, d.Date)
		}
		if !slices.Equal(got, w) {
			t.Errorf("%d: holidays\n got %v\nwant %v", year, got, w)
		}
	}
}

// The NYSE's early closes (13:00 New York) as its notices list them for every covered
// year: the day after Thanksgiving always, July 3 and December 24 when Monday to Thursday.
func TestNYSEEarlyCloses(t *testing.T) {
	want := map[int][]string{
		2015: {"2015-11-27", "2015-12-24"},
		2016: {"2016-11-25"},
		2017: {"2017-11-24", "2017-07-03"},
		2018: {"2018-11-23", "2018-07-03", "2018-12-24"},
		2019: {"2019-11-29", "2019-07-03", "2019-12-24"},
		2020: {"2020-11-27", "2020-12-24"},
		2021: {"2021-11-26"},
		2022: {"2022-11-25"},
		2023: {"2023-11-24", "2023-07-03"},
		2024: {"2024-11-29", "2024-07-03", "2024-12-24"},
		2025: {"2025-11-28", "2025-07-03", "2025-12-24"},
		2026: {"2026-11-27", "2026-12-24"},
		2027: {"2027-11-26"},
	}
	for year := cmeFirstYear; year <= cmeLastYear; year++ {
		var got []string
		for _, d := range nyseEarlyCloses(year, cmeEquityEarlyClose) {
			if d.Closed || d.Close != hm(13, 15) {
				t.Errorf("%s: closed %v, close %s; want an early close at 13:15", d.Date, d.Closed, d.Close)
			}
			got = append(got, d.Date)
		}
		if !slices.Equal(got, want[year]) {
			t.Errorf("%d: early closes %v, want %v", year, got, want[year])
		}
	}
}

// Both built-in calendars build (no two rules give one date) and cover 2015-2027; the
// NYSE's unscheduled closures are in the equity calendar only; Thanksgiving 2024 is closed
// and the day after closes early in both.
func TestBuiltinCalendars(t *testing.T) {
	eq, ok := BuiltinCalendar(CalendarCMEEquity)
	if !ok {
		t.Fatal("no cme-equity calendar")
	}
	em, ok := BuiltinCalendar(CalendarCMEEnergyMetals)
	if !ok {
		t.Fatal("no cme-energy-metals calendar")
	}
	for _, c := range []*Calendar{eq, em} {
		if first, last := c.Span(); first != "2015-01-01" || last != "2027-12-31" {
			t.Errorf("%s covers %s..%s, want 2015-01-01..2027-12-31", c.Name(), first, last)
		}
		thanks := dayOf(date(2024, time.November, 28))
		if d, ok := c.day(thanks); !ok || !d.Closed || d.Name != "Thanksgiving Day" {
			t.Errorf("%s: 2024-11-28 = %+v, want Thanksgiving Day, closed", c.Name(), d)
		}
		if d, ok := c.day(thanks + 1); !ok || d.Closed {
			t.Errorf("%s: 2024-11-29 = %+v, want an early close", c.Name(), d)
		}
	}
	if d, _ := eq.day(dayOf(date(2024, time.November, 29))); d.Close != hm(13, 15) {
		t.Errorf("cme-equity closes 2024-11-29 at %s, want 13:15", d.Close)
	}
	if d, _ := em.day(dayOf(date(2024, time.November, 29))); d.Close != hm(13, 45) {
		t.Errorf("cme-energy-metals closes 2024-11-29 at %s, want 13:45", d.Close)
	}
	for _, mourning := range []time.Time{date(2018, time.December, 5), date(2025, time.January, 9)} {
		if d, ok := eq.day(dayOf(mourning)); !ok || !d.Closed || !strings.Contains(d.Name, "Mourning") {
			t.Errorf("cme-equity %s = %+v, want a closed day of mourning", mourning.Format(time.DateOnly), d)
		}
		if _, ok := em.day(dayOf(mourning)); ok {
			t.Errorf("cme-energy-metals lists %s", mourning.Format(time.DateOnly))
		}
	}
	if _, ok := em.day(dayOf(date(2024, time.December, 24))); ok {
		t.Error("cme-energy-metals lists Christmas Eve 2024, which it leaves as an ordinary day")
	}
	// Every built-in instrument has its group's calendar.
	for _, sym := range BuiltinSymbols() {
		in, _ := BuiltinInstrument(sym)
		want := CalendarCMEEquity
		if sym == "CL" || sym == "GC" {
			want = CalendarCMEEnergyMetals
		}
		if in.Calendar.Name() != want {
			t.Errorf("%s: calendar %q, want %q", sym, in.Calendar.Name(), want)
		}
	}
}

func TestReadCalendar(t *testing.T) {
	c, err := ReadCalendar(strings.NewReader(`# our exchange
date,kind,close,note
2024-12-24, early, 12:00, Christmas Eve
2024-12-25,closed,,Christmas
2024-12-31,EARLY,13:30

2025-01-01,closed
`), "cal.csv")
	if err != nil {
		t.Fatal(err)
	}
	want := []CalendarDay{
		{Date: "2024-12-24", Close: hm(12, 0), Name: "Christmas Eve"},
		{Date: "2024-12-25", Closed: true, Name: "Christmas"},
		{Date: "2024-12-31", Close: hm(13, 30)},
		{Date: "2025-01-01", Closed: true},
	}
	if got := c.Days(); !slices.Equal(got, want) {
		t.Errorf("days\n got %+v\nwant %+v", got, want)
	}
	if first, last := c.Span(); first != "" || last != "" || c.Name() != "cal.csv" {
		t.Errorf("name %q, span %q..%q; want cal.csv covering every date", c.Name(), first, last)
	}

	for _, tc := range []struct{ name, file, want string }{
		{"bad date", "2024-13-01,closed\n", "cal.csv:1:1: date \"2024-13-01\": want YYYY-MM-DD"},
		{"bad kind", "date,kind\n2024-12-24,half,12:00\n", "cal.csv:2:2: kind \"half\": want closed or early"},
		{"closed with a time", "2024-12-25,closed,12:00\n", "cal.csv:1:3: a closed date has no close time, got \"12:00\""},
		{"early without a time", "2024-12-24,early\n", "cal.csv:1:3: close time of an early close: want HH:MM, got \"\""},
		{"one field", "2024-12-24\n", "cal.csv:1: want date,kind[,close[,note]]"},
		{"twice", "2024-12-24,early,12:00\n# note\n2024-12-24,closed\n", "cal.csv:3:1: date 2024-12-24 is listed twice (also line 1)"},
		{"csv syntax", "2024-12-24,\"early\n", "cal.csv:1: csv syntax error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadCalendar(strings.NewReader(tc.file), "cal.csv")
			var pe *ParseError
			if !errors.As(err, &pe) || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("err = %v\nwant a *ParseError starting %q", err, tc.want)
			}
		})
	}
}

// The calendar key of a custom instrument: a file, a built-in calendar (New York times
// only), or an error naming the key.
func TestInstrumentCalendar(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.csv")
	writeFile(t, good, "2024-12-24,early,12:00\n2024-12-25,closed\n")
	late := filepath.Join(dir, "late.csv")
	writeFile(t, late, "2024-12-24,early,17:30\n")
	spec := func(zone, cal string) InstrumentSpec {
		return InstrumentSpec{PointValue: 1, TickSize: 1, TypicalPrice: 100, Timezone: zone,
			DataSession: []string{"08:30-16:59"}, EntryStart: "09:30", FlattenTime: "16:59", Calendar: cal}
	}
	for _, tc := range []struct {
		name, zone, cal, want string // want: the calendar's name, or the error
	}{
		{"none", "Europe/Berlin", "", ""},
		{"file", "Europe/Berlin", good, good},
		{"built-in", "America/New_York", CalendarCMEEquity, CalendarCMEEquity},
		{"built-in in another zone", "America/Chicago", CalendarCMEEquity,
			"env: instruments.X.calendar: the built-in calendar cme-equity gives New York times: it needs timezone America/New_York, got America/Chicago"},
		{"missing file", "UTC", filepath.Join(dir, "nope.csv"), "env: instruments.X.calendar: " + filepath.Join(dir, "nope.csv") + ": cannot read"},
		{"close after the flatten time", "UTC", late, "env: instruments.X.calendar: " + late + ": early close 17:30 on 2024-12-24 must be after entry_start 09:30 and at or before flatten_time 16:59"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in, err := spec(tc.zone, tc.cal).NewInstrument("X")
			switch {
			case err != nil && !strings.HasPrefix(err.Error(), tc.want):
				t.Errorf("err = %v, want %q", err, tc.want)
			case err == nil && in.Calendar.Name() != tc.want:
				t.Errorf("calendar %q, want %q", in.Calendar.Name(), tc.want)
			}
		})
	}
}
