package env

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// nyRows returns one bar row per minute from..to (inclusive) of date in New York,
// flat at price p, its time in RFC 3339 with the offset.
func nyRows(t testing.TB, date string, from, to Clock, p float64) []string {
	t.Helper()
	ny, _ := loadZone(cmeZone)
	d, err := time.ParseInLocation(time.DateOnly, date, ny)
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for c := from; c <= to; c++ {
		tm := time.Date(d.Year(), d.Month(), d.Day(), int(c)/60, int(c)%60, 0, 0, ny)
		rows = append(rows, fmt.Sprintf("%s,%v,%v,%v,%v,10", tm.Format(time.RFC3339), p, p+1, p-1, p))
	}
	return rows
}

// Thanksgiving 2024 has no session: its bars are dropped with one warning, and data info
// reports the holiday and the next day's early close.
func TestLoadThanksgiving2024(t *testing.T) {
	rows := slices.Concat(
		nyRows(t, "2024-11-27", hm(9, 30), hm(9, 39), 21000), // lines 2-11
		nyRows(t, "2024-11-28", hm(8, 30), hm(8, 34), 21000), // lines 12-16: Thanksgiving
		nyRows(t, "2024-11-28", hm(17, 0), hm(17, 1), 21000), // lines 17-18: outside the data session
		nyRows(t, "2024-11-29", hm(9, 30), hm(9, 39), 21000), // lines 19-28: closes at 13:15
	)
	ds, err := readString(t, csvOf(append([]string{header}, rows...)...), testConfig())
	if err != nil {
		t.Fatal(err)
	}
	var dates []string
	for _, s := range ds.Sessions {
		dates = append(dates, s.Date)
	}
	if !slices.Equal(dates, []string{"2024-11-27", "2024-11-29"}) {
		t.Errorf("sessions %v, want 2024-11-27 and 2024-11-29 (none on Thanksgiving)", dates)
	}
	if ds.HolidayBars != 5 || ds.Dropped != 2 {
		t.Errorf("%d holiday bars and %d dropped, want 5 and 2", ds.HolidayBars, ds.Dropped)
	}
	want := []string{"bars.csv:12: warning: 2024-11-28 is a holiday of the cme-equity calendar (Thanksgiving Day), without a session: 5 bars on lines 12-16 dropped"}
	if got := warningStrings(ds.Warnings); !slices.Equal(got, want) {
		t.Errorf("warnings\n got %q\nwant %q", got, want)
	}
	info := ds.Describe()
	if info.Calendar != CalendarCMEEquity || !slices.Equal(info.Holidays, Dates{"2024-11-28"}) || info.HolidayBars != 5 ||
		!slices.Equal(info.EarlyCloses, Dates{"2024-11-29 13:15"}) || info.Rows != 27 {
		t.Errorf("info: calendar %q, holidays %v, holiday bars %d, early closes %v, rows %d; want cme-equity, [2024-11-28], 5, [2024-11-29 13:15], 27",
			info.Calendar, info.Holidays, info.HolidayBars, info.EarlyCloses, info.Rows)
	}
	if got := info.Holidays.String() + "; " + info.EarlyCloses.String(); got != "2024-11-28; 2024-11-29 13:15" {
		t.Errorf("printed: %q", got)
	}

	// Without a calendar (a custom instrument without one) Thanksgiving is a session.
	in := nq(t)
	in.Calendar = nil
	plain, err := Read(strings.NewReader(csvOf(append([]string{header}, rows...)...)), "bars.csv", in, testConfig())
	if err != nil {
		t.Fatal(err)
	}
	if len(plain.Sessions) != 3 || plain.HolidayBars != 0 {
		t.Errorf("without a calendar: %d sessions, %d holiday bars; want 3, 0", len(plain.Sessions), plain.HolidayBars)
	}
}

func warningStrings(ws []Warning) []string {
	var out []string
	for _, w := range ws {
		out = append(out, w.String())
	}
	return out
}

// Bars on dates the calendar does not cover give one warning where such dates begin.
func TestLoadOutsideCalendar(t *testing.T) {
	rows := slices.Concat(
		nyRows(t, "2014-12-30", hm(9, 30), hm(9, 31), 4000), // line 2
		nyRows(t, "2014-12-31", hm(9, 30), hm(9, 31), 4000),
		nyRows(t, "2015-01-02", hm(9, 30), hm(9, 31), 4000),
	)
	ds, err := readString(t, csvOf(append([]string{header}, rows...)...), testConfig())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"bars.csv:2: warning: 2014-12-30 is outside the dates the cme-equity calendar covers (2015-01-01 to 2027-12-31): " +
		"holidays and early closes are unknown outside them, so those dates are ordinary sessions"}
	if got := warningStrings(ds.Warnings); !slices.Equal(got, want) {
		t.Errorf("warnings\n got %q\nwant %q", got, want)
	}
}

// NewDataset takes no bars on holidays (Load drops them).
func TestNewDatasetHoliday(t *testing.T) {
	_, err := NewDataset("test", nq(t), barsAt(t, "2024-11-27 09:30", "2024-11-28 09:30"))
	if err == nil || !strings.Contains(err.Error(), "is on 2024-11-28, a holiday of the cme-equity calendar (Thanksgiving Day)") {
		t.Errorf("err = %v, want the Thanksgiving bar refused", err)
	}
}

// earlyCloseDays is 2024-11-27 (an ordinary day, 08:30-16:59) and 2024-11-29, whose bars
// end at 13:14 as CME's do (its equity index futures halt at 13:15 New York); the price
// rises by one point a minute.
func earlyCloseDays(t testing.TB, inst Instrument) *Dataset {
	t.Helper()
	var b Bars
	p := 21000.0
	for _, d := range []struct {
		date string
		to   Clock
	}{{"2024-11-27", hm(16, 59)}, {"2024-11-29", hm(13, 14)}} {
		day, _ := time.ParseInLocation(time.DateOnly, d.date, inst.Zone)
		for c := hm(8, 30); c <= d.to; c++ {
			tm := time.Date(day.Year(), day.Month(), day.Day(), int(c)/60, int(c)%60, 0, 0, inst.Zone)
			b.Time = append(b.Time, tm.Unix())
			b.Open, b.High, b.Low, b.Close = append(b.Open, p), append(b.High, p+2), append(b.Low, p-1), append(b.Close, p+1)
			b.Volume = append(b.Volume, 100)
			p++
		}
	}
	ds, err := NewDataset("early", inst, b)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// On an early close the session flattens at the close (its flatten bar is the 13:14 one),
// takes no entry in the last no_entry_minutes (5) before it, and its time-to-flatten
// features count to it.
func TestEarlyCloseSession(t *testing.T) {
	ds := earlyCloseDays(t, nq(t))
	s := ds.Sessions[1]
	if s.Date != "2024-11-29" || s.FlattenTime != hm(13, 15) || ds.Bars.Clock[s.FlattenBar] != hm(13, 14) || ds.Bars.Clock[s.EntryBar] != hm(9, 30) {
		t.Fatalf("session %+v: want 2024-11-29 flattening at 13:15, on the 13:14 bar, entering from 09:30", s)
	}
	if ds.Sessions[0].FlattenTime != hm(16, 59) {
		t.Errorf("the ordinary day flattens at %s, want 16:59", ds.Sessions[0].FlattenTime)
	}
	// f10 = (flatten - open time) / 449 (09:30 to 16:59, a regular day's span).
	for _, c := range []struct {
		session int
		clock   Clock
		want    float32
	}{
		{0, hm(13, 14), float32(float64(hm(16, 59)-hm(13, 14)) / 449)},
		{1, hm(13, 14), float32(1.0 / 449)},
		{1, hm(9, 30), float32(float64(hm(13, 15)-hm(9, 30)) / 449)},
	} {
		j := barAt(t, ds, c.session, c.clock)
		if got := ds.Market[j*MarketDim+FeatToFlatten]; got != c.want {
			t.Errorf("session %d, %s: time to flatten %v, want %v", c.session, c.clock, got, c.want)
		}
	}

	// Flat all session: BUY is legal (and observation 225 says so) from 09:30 up to the
	// 13:09 decision, not from 13:10, 5 minutes before the close.
	e, obs, mask := startEnv(t, ds, DefaultConfig(), Options{Sessions: []int{1}, Mode: ModeOrdered}, nil)
	for {
		clock := ds.Bars.Clock[e.Bar()]
		want := clock >= hm(9, 30) && clock < hm(13, 10)
		if mask[Buy] != want || (obs[ObsCanEnter] == 1) != want {
			t.Fatalf("decision at %s: BUY legal %v (observation %v), want %v", clock, mask[Buy], obs[ObsCanEnter], want)
		}
		if r := e.Step(Hold, obs, mask); r.Terminated || r.Truncated {
			if last := ds.Bars.Clock[e.Bar()]; last != hm(13, 14) {
				t.Errorf("the episode ended at the %s bar, want 13:14", last)
			}
			break
		}
	}

	// A long bought at 13:09, the last entry, is flattened on the 13:14 bar.
	rec := &recorder{}
	e, obs, mask = startEnv(t, ds, DefaultConfig(), Options{Sessions: []int{1}, Mode: ModeOrdered, Observer: rec}, nil)
	for {
		a := Hold
		if ds.Bars.Clock[e.Bar()] == hm(13, 9) {
			a = Buy
		}
		if r := e.Step(a, obs, mask); r.Terminated || r.Truncated {
			break
		}
	}
	if len(rec.trades) != 1 {
		t.Fatalf("%d trades, want 1", len(rec.trades))
	}
	tr := rec.trades[0]
	entry := time.Unix(tr.EntryTime, 0).In(ds.Instrument.Zone).Format("15:04")
	exit := time.Unix(tr.ExitTime, 0).In(ds.Instrument.Zone).Format("15:04")
	if entry != "13:09" || tr.Exit != ExitFlatten || exit != "13:14" {
		t.Errorf("trade from %s, exit %v at %s; want from 13:09, the flatten on the 13:14 bar", entry, tr.Exit, exit)
	}
}

// On days without holidays or early closes the calendar changes nothing: the same bars with
// and without a calendar give the same sessions, features, observations, masks, rewards and
// trades, bit for bit.
func TestOrdinaryDaysUnchanged(t *testing.T) {
	with := randomWalkDays(t, 8, 5)
	in := with.Instrument
	in.Calendar = nil
	bars := with.Bars
	bars.Clock, bars.Session = nil, nil
	without, err := NewDataset(with.Source, in, bars)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(with.Sessions, without.Sessions) || !slices.Equal(with.Market, without.Market) {
		t.Fatal("sessions or market features differ")
	}
	run := func(ds *Dataset) ([]byte, []Trade) {
		rec := &recorder{}
		e, obs, mask := startEnv(t, ds, DefaultConfig(), Options{Mode: ModeContinuous, Observer: rec}, nil)
		rng := rand.New(rand.NewPCG(3, 4))
		var out bytes.Buffer
		for {
			legal := []Action{}
			for a := range Action(NumActions) {
				if mask[a] {
					legal = append(legal, a)
				}
			}
			r := e.Step(legal[rng.IntN(len(legal))], obs, mask)
			binary.Write(&out, binary.LittleEndian, obs)
			binary.Write(&out, binary.LittleEndian, mask)
			binary.Write(&out, binary.LittleEndian, r.Reward)
			if r.Terminated || r.Truncated {
				return out.Bytes(), rec.trades
			}
		}
	}
	a, ta := run(with)
	b, tb := run(without)
	if !bytes.Equal(a, b) || !reflect.DeepEqual(ta, tb) || len(ta) == 0 {
		t.Errorf("a backtest of ordinary days differs with the calendar (%d and %d trades)", len(ta), len(tb))
	}
}

// Synthetic bars skip holidays and end an early close's bars at the close.
func TestSynthesizeCalendar(t *testing.T) {
	in := nq(t)
	ds, err := Synthesize(in, 235, 1) // 2024-01-02 .. 2024-12-05: every 2024 holiday up to then
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range ds.Sessions {
		if s.Date == "2024-11-28" || s.Date == "2024-07-04" {
			t.Errorf("a session on the holiday %s", s.Date)
		}
		if s.Date == "2024-11-29" || s.Date == "2024-07-03" {
			if last := ds.Bars.Clock[s.End-1]; s.FlattenTime != hm(13, 15) || last != hm(13, 14) {
				t.Errorf("%s: flatten %s, last bar %s; want 13:15 and 13:14", s.Date, s.FlattenTime, last)
			}
		}
	}
	if got := ds.Describe().EarlyCloses; !slices.Equal(got, Dates{"2024-07-03 13:15", "2024-11-29 13:15"}) {
		t.Errorf("early closes %v", got)
	}
}
