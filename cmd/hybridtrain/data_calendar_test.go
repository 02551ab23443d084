package main

import (
	"encoding/json"
	"strings"
	"testing"

	"hybridtrain/configs"
)

// thanksgivingCSV has bars on 2024-11-27, on Thanksgiving 2024 (a holiday) and on the day
// after (an early close), 10 each from 09:30 New York.
func thanksgivingCSV() string {
	var b strings.Builder
	b.WriteString("timestamp,open,high,low,close,volume\n")
	for _, day := range []string{"2024-11-27", "2024-11-28", "2024-11-29"} {
		for m := range 10 {
			b.WriteString(day + "T09:3" + string(rune('0'+m)) + ":00-05:00,21000,21001,20999,21000,10\n")
		}
	}
	return b.String()
}

// data info reports the holidays and early closes of the data; the dropped bars of a
// holiday are one warning on stderr, for data info and for every command that loads bars.
func TestDataInfoCalendar(t *testing.T) {
	inTempDir(t)
	writeFile(t, "NQ_tg.csv", thanksgivingCSV())
	writeFile(t, "h.yaml", "warmup_bars: 1\n")
	a := newTestApp(t)
	if code := a.run("data", "info", "NQ_tg.csv", "--json", "--config", "h.yaml"); code != exitOK {
		t.Fatalf("exit %d: %s", code, a.err.String())
	}
	var info struct {
		Sessions    int      `json:"sessions"`
		Calendar    string   `json:"calendar"`
		Holidays    []string `json:"holidays"`
		HolidayBars int      `json:"holiday_bars"`
		EarlyCloses []string `json:"early_closes"`
	}
	if err := json.Unmarshal(a.out.Bytes(), &info); err != nil {
		t.Fatal(err)
	}
	if info.Sessions != 2 || info.Calendar != "cme-equity" || strings.Join(info.Holidays, ",") != "2024-11-28" ||
		info.HolidayBars != 10 || strings.Join(info.EarlyCloses, ",") != "2024-11-29 13:15" {
		t.Errorf("info %+v: want 2 sessions, cme-equity, holiday 2024-11-28 with 10 bars, early close 2024-11-29 13:15", info)
	}
	want := "NQ_tg.csv:12: warning: 2024-11-28 is a holiday of the cme-equity calendar (Thanksgiving Day), without a session: 10 bars on lines 12-21 dropped\n"
	if a.err.String() != want {
		t.Errorf("stderr %q, want %q", a.err.String(), want)
	}
	a = newTestApp(t)
	if code := a.run("data", "info", "NQ_tg.csv", "--config", "h.yaml"); code != exitOK ||
		!strings.Contains(a.out.String(), "holidays             2024-11-28\n") || !strings.Contains(a.out.String(), "early_closes         2024-11-29 13:15\n") ||
		strings.Count(a.err.String(), "warning") != 1 {
		t.Errorf("exit %d, stdout\n%s\nstderr %q", code, a.out.String(), a.err.String())
	}
}

// A custom instrument takes a calendar file; an override of a built-in keeps its calendar
// unless it names another, and a new instrument may leave the key out.
func TestInstrumentCalendarKey(t *testing.T) {
	inTempDir(t)
	writeFile(t, "cal.csv", "date,kind,close,note\n2024-11-28,closed,,Thanksgiving\n2024-11-29,early,12:00\n")
	writeFile(t, "c.yaml", `instruments:
  NQ:
    commission_per_side: 1.0
  ES:
    calendar: cal.csv
  XYZ:
    point_value: 1
    tick_size: 1
    commission_per_side: 0
    slippage_ticks: 0
    typical_price: 100
    timezone: America/New_York
    data_session: ["08:30-16:59"]
    entry_start: "09:30"
    flatten_time: "16:59"
`)
	res, err := loadSettings(configs.FS, configRequest{flags: trainFlags(t), configFile: "c.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	for sym, want := range map[string]string{"NQ": "cme-equity", "ES": "cal.csv", "XYZ": ""} {
		in, err := instrumentFor(res.settings, sym)
		if err != nil {
			t.Fatal(err)
		}
		if got := in.Calendar.Name(); got != want {
			t.Errorf("%s: calendar %q, want %q", sym, got, want)
		}
	}
	out, err := renderConfig(res.settings, renderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"calendar: cme-equity", "calendar: cal.csv", `calendar: ""`} {
		if !strings.Contains(string(out), w) {
			t.Errorf("config.yaml lacks %q:\n%s", w, out)
		}
	}

	writeFile(t, "bad.yaml", "instruments:\n  ES:\n    calendar: nope.csv\n")
	_, err = loadSettings(configs.FS, configRequest{flags: trainFlags(t), configFile: "bad.yaml"})
	if err == nil || exitCode(err, true) != exitUsage || !strings.Contains(err.Error(), "instruments.ES.calendar: nope.csv: cannot read") {
		t.Errorf("err = %v, want a configuration error naming instruments.ES.calendar and the file", err)
	}
}
