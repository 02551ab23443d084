package env

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// testConfig is the default configuration without warm-up, so that tiny files load (Read
// only reads data_tz, repair_div100 and warmup_bars).
func testConfig() Config {
	c := DefaultConfig()
	c.WarmupBars = 0
	return c
}

const header = "timestamp,open,high,low,close,volume"

func csvOf(lines ...string) string { return strings.Join(lines, "\n") + "\n" }

// readString reads a CSV held in a string for NQ.
func readString(t testing.TB, s string, cfg Config) (*Dataset, error) {
	t.Helper()
	return Read(strings.NewReader(s), "bars.csv", nq(t), cfg)
}

func unix(t testing.TB, rfc3339 string) int64 {
	t.Helper()
	tm, err := time.Parse(time.RFC3339, rfc3339)
	if err != nil {
		t.Fatal(err)
	}
	return tm.Unix()
}

// Every accepted time form of one instant, 2024-03-08 09:30 New York = 14:30 UTC.
func TestReadTimeForms(t *testing.T) {
	want := unix(t, "2024-03-08T14:30:00Z") // 1709908200
	tests := []struct {
		name, value, dataTZ string
	}{
		{"rfc3339 Z", "2024-03-08T14:30:00Z", "UTC"},
		{"rfc3339 lower z", "2024-03-08t14:30:00z", "UTC"},
		{"space and offset", "2024-03-08 09:30:00-05:00", "UTC"},
		{"offset without colon", "2024-03-08 09:30:00-0500", "UTC"},
		{"offset hours only", "2024-03-08 09:30:00-05", "UTC"},
		{"positive offset", "2024-03-08 15:30:00+01:00", "UTC"},
		{"fraction", "2024-03-08T14:30:00.000000000Z", "UTC"},
		{"fraction with offset", "2024-03-08 09:30:00.5-05:00", "UTC"},
		{"no seconds", "2024-03-08T14:30Z", "UTC"},
		{"space before Z", "2024-03-08 14:30:00 Z", "UTC"},
		{"naive UTC", "2024-03-08 14:30:00", "UTC"},
		{"naive New York", "2024-03-08 09:30:00", "America/New_York"},
		{"naive T New York", "2024-03-08T09:30", "America/New_York"},
		{"naive Berlin", "2024-03-08 15:30:00", "Europe/Berlin"},
		{"offset ignores data_tz", "2024-03-08T14:30:00Z", "Asia/Tokyo"},
		{"unix seconds", "1709908200", "UTC"},
		{"unix milliseconds", "1709908200000", "UTC"},
		{"unix microseconds", "1709908200000000", "UTC"},
		{"unix nanoseconds", "1709908200000000000", "UTC"},
		{"unix nanoseconds, unit ignores data_tz", "1709908200000000000", "America/New_York"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.DataTZ = tc.dataTZ
			ds, err := readString(t, csvOf(header, `"`+tc.value+`",100,101,99,100,5`), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if got := ds.Bars.Time[0]; got != want {
				t.Errorf("time = %d (%s), want %d (2024-03-08T14:30:00Z)", got, utcString(got), want)
			}
			if got := ds.Bars.Clock[0]; got != 570 {
				t.Errorf("clock = %s, want 09:30", got)
			}
		})
	}
}

// A file whose offsets change from -05:00 to -04:00 across 2024-03-10 (as the Python system
// wrote them) loads with 09:30 local on both sides.
func TestReadDSTOffsets(t *testing.T) {
	ds, err := Load(filepath.Join("testdata", "dst_offsets.csv"), nq(t), testConfig())
	if err != nil {
		t.Fatal(err)
	}
	wantTime := []int64{
		unix(t, "2024-03-08T14:30:00Z"), unix(t, "2024-03-08T14:31:00Z"), unix(t, "2024-03-08T21:59:00Z"),
		unix(t, "2024-03-11T13:30:00Z"), unix(t, "2024-03-11T13:31:00Z"), unix(t, "2024-03-11T20:59:00Z"),
	}
	if !slices.Equal(ds.Bars.Time, wantTime) {
		t.Errorf("times: got %v, want %v", ds.Bars.Time, wantTime)
	}
	wantClock := []Clock{570, 571, 1019, 570, 571, 1019}
	if !slices.Equal(ds.Bars.Clock, wantClock) {
		t.Errorf("clocks: got %v, want %v", ds.Bars.Clock, wantClock)
	}
	if len(ds.Sessions) != 2 || ds.Sessions[0].Date != "2024-03-08" || ds.Sessions[1].Date != "2024-03-11" {
		t.Errorf("sessions: got %+v, want 2024-03-08 and 2024-03-11", ds.Sessions)
	}
	if ds.Dropped != 2 {
		t.Errorf("dropped = %d, want 2 (the 08:00 and 17:00 bars)", ds.Dropped)
	}
}

// Naive New York times across both DST changes of 2024, including the repeated 01:xx hour
// of 2024-11-03, which keeps its order.
func TestReadNaiveDST(t *testing.T) {
	cfg := testConfig()
	cfg.DataTZ = "America/New_York"
	ds, err := readString(t, csvOf(header,
		"2024-03-08 09:30:00,100,101,99,100,5",
		"2024-03-11 09:30:00,100,101,99,100,5",
		"2024-11-03 01:30:00,100,101,99,100,5", // EDT, 05:30Z (dropped: outside the session)
		"2024-11-03 01:10:00,100,101,99,100,5", // the second 01:10, EST: 06:10Z
		"2024-11-04 09:30:00,100,101,99,100,5",
	), cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := []int64{unix(t, "2024-03-08T14:30:00Z"), unix(t, "2024-03-11T13:30:00Z"), unix(t, "2024-11-04T14:30:00Z")}
	if !slices.Equal(ds.Bars.Time, want) {
		t.Errorf("times: got %v, want %v", ds.Bars.Time, want)
	}
	if ds.Dropped != 2 {
		t.Errorf("dropped = %d, want 2", ds.Dropped)
	}
}

func TestReadColumns(t *testing.T) {
	tests := []struct {
		name   string
		header string
		row    string
	}{
		{"any order, mixed case, extra columns", "Symbol,CLOSE,Volume,Open,ts_event,Low,High", "NQH4,100.5,7,100,2024-03-08T14:30:00Z,99.75,101"},
		{"timestamp preferred over time", "time,timestamp,open,high,low,close,volume", "junk,2024-03-08T14:30:00Z,100,101,99.75,100.5,7"},
		{"date as last resort", "date,open,high,low,close,volume", "2024-03-08T14:30:00Z,100,101,99.75,100.5,7"},
		{"byte order mark and spaces", "\ufeff Timestamp , open,high,low,close,volume", "2024-03-08T14:30:00Z, 100 ,101,99.75,100.5,7"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ds, err := readString(t, csvOf(tc.header, tc.row), testConfig())
			if err != nil {
				t.Fatal(err)
			}
			b := ds.Bars
			if b.Time[0] != unix(t, "2024-03-08T14:30:00Z") || b.Open[0] != 100 || b.High[0] != 101 ||
				b.Low[0] != 99.75 || b.Close[0] != 100.5 || b.Volume[0] != 7 {
				t.Errorf("got time %d open %v high %v low %v close %v volume %v, want 14:30Z 100 101 99.75 100.5 7",
					b.Time[0], b.Open[0], b.High[0], b.Low[0], b.Close[0], b.Volume[0])
			}
		})
	}
}

func TestReadCRLF(t *testing.T) {
	s := "timestamp,open,high,low,close,volume\r\n2024-03-08T14:30:00Z,100,101,99,100,5\r\n2024-03-08T14:31:00Z,100,101,99,100,5\r\n"
	ds, err := readString(t, s, testConfig())
	if err != nil {
		t.Fatal(err)
	}
	if ds.Bars.Len() != 2 {
		t.Errorf("bars = %d, want 2", ds.Bars.Len())
	}
}

// One table row per defect, with the exact line and column the error must carry.
func TestReadErrors(t *testing.T) {
	const ok1 = "2024-03-08T14:30:00Z,100,101,99,100,5" // line 2 in most cases
	tests := []struct {
		name       string
		csv        string
		line, col  int
		is         error
		msgContain string
	}{
		{"bad open", csvOf(header, ok1, "2024-03-08T14:31:00Z,abc,101,99,100,5"), 3, 2, ErrBadNumber, `open "abc": not a number`},
		{"empty volume", csvOf(header, ok1, "2024-03-08T14:31:00Z,100,101,99,100,"), 3, 6, ErrBadNumber, `volume "": not a number`},
		{"NaN close", csvOf(header, ok1, "2024-03-08T14:31:00Z,100,101,99,NaN,5"), 3, 5, ErrNonFinite, `close "NaN": NaN or Inf`},
		{"Inf high", csvOf(header, ok1, "2024-03-08T14:31:00Z,100,+Inf,99,100,5"), 3, 3, ErrNonFinite, "high"},
		{"overflow volume", csvOf(header, ok1, "2024-03-08T14:31:00Z,100,101,99,100,1e400"), 3, 6, ErrNonFinite, "out of range"},
		{"zero low", csvOf(header, ok1, "2024-03-08T14:31:00Z,100,101,0,100,5"), 3, 4, ErrNonPositivePrice, `low "0": price <= 0`},
		{"negative open", csvOf(header, ok1, "2024-03-08T14:31:00Z,-1,101,99,100,5"), 3, 2, ErrNonPositivePrice, "open"},
		{"high below close", csvOf(header, ok1, "2024-03-08T14:31:00Z,100,100.5,99,100.75,5"), 3, 3, ErrHighLow, "high 100.5 below max(open 100, close 100.75)"},
		{"low above open", csvOf(header, ok1, "2024-03-08T14:31:00Z,99.5,101,99.75,100,5"), 3, 4, ErrHighLow, "low 99.75 above min(open 99.5, close 100)"},
		{"negative volume", csvOf(header, ok1, "2024-03-08T14:31:00Z,100,101,99,100,-3"), 3, 6, ErrNegativeVolume, `volume "-3": volume < 0`},
		{"bad month", csvOf(header, ok1, "2024-13-08T14:31:00Z,100,101,99,100,5"), 3, 1, ErrBadTime, `timestamp "2024-13-08T14:31:00Z": not a timestamp`},
		{"date only", csvOf(header, ok1, "2024-03-09,100,101,99,100,5"), 3, 1, ErrBadTime, "want RFC 3339"},
		{"float unix", csvOf(header, ok1, "1709908260.5,100,101,99,100,5"), 3, 1, ErrBadTime, ""},
		{"DST gap naive", csvOf(header, ok1, "2024-03-10 02:30:00,100,101,99,100,5"), 3, 1, ErrBadTime, "does not exist in data_tz America/New_York"},
		{"duplicate time", csvOf(header, ok1, "2024-03-08T14:30:00Z,100,101,99,100,5"), 3, 1, ErrTimeOrder, `"2024-03-08T14:30:00Z" is the same as line 2's 2024-03-08T14:30:00Z (UTC)`},
		{"reversed time", csvOf(header, ok1, "2024-03-08T14:31:00Z,100,101,99,100,5", "2024-03-08T14:29:00Z,100,101,99,100,5"), 4, 1, ErrTimeOrder, "is before line 3's 2024-03-08T14:31:00Z"},
		// 09:31 at -05:00 is 14:31Z; 10:30 at -04:00 is 14:30Z: later on the wall, earlier in UTC.
		{"reversed across offsets", csvOf(header, "2024-03-08 09:31:00-05:00,100,101,99,100,5", "2024-03-08 10:30:00-04:00,100,101,99,100,5"), 3, 1, ErrTimeOrder, "before line 2's 2024-03-08T14:31:00Z"},
		{"short row", csvOf(header, ok1, "2024-03-08T14:31:00Z,100,101,99"), 3, 5, ErrFieldCount, "close is field 5, the row has 4"},
		{"permuted columns", csvOf("volume,close,low,high,open,timestamp", "5,100,99,101,100,2024-03-08T14:30:00Z", "5,100,99,101,x,2024-03-08T14:31:00Z"), 3, 5, ErrBadNumber, `open "x"`},
		{"line after a quoted newline", csvOf("note,"+header, "\"two\nlines\","+ok1, "n,2024-03-08T14:31:00Z,100,101,99,100,-5"), 4, 7, ErrNegativeVolume, ""},
		{"first error of a row is its leftmost", csvOf(header, ok1, "2024-03-08T14:31:00Z,100,x,99,y,5"), 3, 3, ErrBadNumber, "high"},
		{"missing close", csvOf("timestamp,open,high,low,volume", ok1), 1, 0, ErrMissingColumn, "missing column: close"},
		{"missing time", csvOf("when,open,high,low,close,volume", ok1), 1, 0, ErrMissingColumn, "missing column: time (want one of timestamp, datetime, ts_event, time, date)"},
		{"duplicate column", csvOf("timestamp,open,high,low,close,volume,Close", ok1+",1"), 1, 7, ErrDuplicateColumn, `duplicate column "Close": also column 5`},
		{"bare quote", csvOf(header, ok1, `2024-03-08T14:31:00Z,1"00,101,99,100,5`), 3, 0, ErrSyntax, "csv syntax error"},
		{"empty file", "", 0, 0, ErrEmpty, "empty file"},
		{"header only", csvOf(header), 0, 0, ErrEmpty, "no bars inside the data session 08:30-16:59 America/New_York (0 rows read, 0 outside it)"},
		{"every bar outside the session", csvOf(header, "2024-03-08T23:00:00Z,100,101,99,100,5"), 0, 0, ErrEmpty, "(1 rows read, 1 outside it)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			if strings.HasPrefix(tc.name, "DST gap") {
				cfg.DataTZ = "America/New_York"
			}
			_, err := readString(t, tc.csv, cfg)
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("got %v (%T), want a *ParseError", err, err)
			}
			if pe.File != "bars.csv" || pe.Line != tc.line || pe.Column != tc.col {
				t.Errorf("got %s line %d column %d, want bars.csv line %d column %d (%v)", pe.File, pe.Line, pe.Column, tc.line, tc.col, err)
			}
			if !errors.Is(err, tc.is) {
				t.Errorf("got %v, want errors.Is %v", err, tc.is)
			}
			if !strings.Contains(err.Error(), tc.msgContain) {
				t.Errorf("got %q, want it to contain %q", err, tc.msgContain)
			}
		})
	}
}

func TestReadErrorFormat(t *testing.T) {
	_, err := readString(t, csvOf(header, "2024-03-08T14:31:00Z,100,101,99,100,-3"), testConfig())
	want := `bars.csv:2:6: volume "-3": volume < 0`
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %q", err, want)
	}
}

func TestReadTooFewBars(t *testing.T) {
	cfg := testConfig()
	cfg.WarmupBars = 3
	rows := []string{header}
	for i := range 3 { // 09:30, 09:31, 09:32: the entry bar has no history
		rows = append(rows, fmt.Sprintf("2024-03-08T14:%02d:00Z,100,101,99,100,5", 30+i))
	}
	_, err := readString(t, csvOf(rows...), cfg)
	var pe *ParseError
	if !errors.As(err, &pe) || !errors.Is(err, ErrTooFewBars) || pe.Line != 0 {
		t.Fatalf("got %v, want a line-0 *ParseError wrapping ErrTooFewBars", err)
	}
	// Three bars of history before the entry bar of the second session: enough.
	rows = append(rows, "2024-03-11T13:30:00Z,100,101,99,100,5")
	if _, err := readString(t, csvOf(rows...), cfg); err != nil {
		t.Errorf("with 3 bars of history: %v", err)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "none.csv"), nq(t), testConfig())
	var pe *ParseError
	if !errors.As(err, &pe) || !errors.Is(err, ErrRead) || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("got %v, want a *ParseError wrapping ErrRead and fs.ErrNotExist", err)
	}
}

func TestReadConfigErrors(t *testing.T) {
	cfg := testConfig()
	cfg.DataTZ = "Nowhere/City"
	_, err := readString(t, csvOf(header), cfg)
	if err == nil || !strings.HasPrefix(err.Error(), `env: data_tz: unknown time zone "Nowhere/City"`) {
		t.Errorf("got %v, want env: data_tz: unknown time zone", err)
	}
	var pe *ParseError
	if errors.As(err, &pe) {
		t.Error("a configuration error must not be a *ParseError")
	}
	if _, err := Read(strings.NewReader(csvOf(header)), "x", Instrument{Symbol: "Q"}, testConfig()); err == nil {
		t.Error("instrument without zone: got nil error")
	}
}

func TestReadWarnings(t *testing.T) {
	// Lines: 2 09:30, 3 09:31, 4 09:35 (gap of 3), 5 09:36 close +6% (jump), 6 09:37 exactly
	// -5% of 106 = 100.7 (no jump), then lines 7-8 divided by 100, line 9 back to normal.
	s := csvOf(header,
		"2024-03-08T14:30:00Z,24000,24001,23999,24000,5",
		"2024-03-08T14:31:00Z,24000,24001,23999,24000,5",
		"2024-03-08T14:35:00Z,24000,24001,23999,24000,5",
		"2024-03-08T14:36:00Z,24000,25441,23999,25440,5",
		"2024-03-08T14:37:00Z,25440,25441,24167,24168,5",
		"2024-03-08T14:38:00Z,241.68,241.7,241.6,241.68,5",
		"2024-03-08T14:39:00Z,241.68,241.7,241.6,241.69,5",
		"2024-03-08T14:40:00Z,24169,24170,24168,24169,5",
	)
	t.Run("report", func(t *testing.T) {
		ds, err := readString(t, s, testConfig())
		if err != nil {
			t.Fatal(err)
		}
		got := warningKeys(ds.Warnings)
		want := []string{"gap@4", "jump@5", "jump@7", "div100@7", "jump@9"}
		if !slices.Equal(got, want) {
			t.Errorf("warnings %v, want %v\n%v", got, want, ds.Warnings)
		}
		for _, w := range ds.Warnings {
			if w.Kind == WarnGap && !strings.Contains(w.Msg, "3 minute(s) missing between the 09:31 bar (line 3) and the 09:35 bar") {
				t.Errorf("gap message %q", w.Msg)
			}
			if w.Kind == WarnDiv100 && !strings.Contains(w.Msg, "2 bars on lines 7-8 look divided by 100") {
				t.Errorf("div100 message %q", w.Msg)
			}
		}
		if ds.Bars.Close[5] != 241.68 {
			t.Errorf("without repair_div100 the close is %v, want 241.68", ds.Bars.Close[5])
		}
	})
	t.Run("repair", func(t *testing.T) {
		cfg := testConfig()
		cfg.RepairDiv100 = true
		ds, err := readString(t, s, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := warningKeys(ds.Warnings), []string{"gap@4", "jump@5", "div100@7"}; !slices.Equal(got, want) {
			t.Errorf("warnings %v, want %v", got, want)
		}
		b := ds.Bars
		// 241.68 x 100 = 24168 up to one rounding of the product.
		for _, p := range []float64{b.Open[5], b.High[5] - 2, b.Low[5] + 8, b.Close[5], b.Close[6] - 1} {
			if p < 24168-1e-9 || p > 24168+1e-9 {
				t.Errorf("repaired bar: open %v high %v low %v close %v, next close %v; want 24168 24170 24160 24168, 24169",
					b.Open[5], b.High[5], b.Low[5], b.Close[5], b.Close[6])
				break
			}
		}
	})
}

func warningKeys(ws []Warning) []string {
	var out []string
	for _, w := range ws {
		out = append(out, fmt.Sprintf("%s@%d", w.Kind, w.Line))
	}
	return out
}

// A custom session with a lunch break: the break is not a gap.
func TestReadGapsWithBreak(t *testing.T) {
	spec := InstrumentSpec{PointValue: 1, TickSize: 0.25, TypicalPrice: 100, Timezone: "America/New_York",
		DataSession: []string{"08:30-11:59", "13:00-16:59"}, EntryStart: "09:30", FlattenTime: "16:59"}
	inst, err := spec.NewInstrument("LUNCH")
	if err != nil {
		t.Fatal(err)
	}
	s := csvOf(header,
		"2024-03-08 11:58:00-05:00,100,101,99,100,5",
		"2024-03-08 11:59:00-05:00,100,101,99,100,5",
		"2024-03-08 12:30:00-05:00,100,101,99,100,5", // in the break: dropped
		"2024-03-08 13:00:00-05:00,100,101,99,100,5", // no gap: 12:00-12:59 is the break
		"2024-03-08 13:01:00-05:00,100,101,99,100,5",
		"2024-03-11 11:58:00-04:00,100,101,99,100,5",
		"2024-03-11 13:01:00-04:00,100,101,99,100,5", // gap: 11:59 and 13:00 missing
	)
	ds, err := Read(strings.NewReader(s), "lunch.csv", inst, testConfig())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := warningKeys(ds.Warnings), []string{"gap@8"}; !slices.Equal(got, want) {
		t.Fatalf("warnings %v, want %v", got, want)
	}
	if !strings.Contains(ds.Warnings[0].Msg, "2 minute(s) missing") || ds.Dropped != 1 {
		t.Errorf("got %q and %d dropped, want 2 minutes missing and 1 dropped", ds.Warnings[0].Msg, ds.Dropped)
	}
}

func TestValidateReader(t *testing.T) {
	s := csvOf(header,
		"2024-03-08T14:30:00Z,24000,24001,23999,24000,5",
		"2024-03-08T14:31:00Z,abc,24001,23999,24000,-1",     // two errors: open, volume
		"2024-03-08T14:31:00Z,24000,24001,23999,24000,5",    // duplicate of line 3's time (valid there)
		"2024-03-08T14:33:00Z,24000,23999,23999,24000,5",    // high below close
		"2024-03-08T14:34:00Z,24000,24001,23999,24000,5",    // fine
		"2024-03-08T14:35:00Z,24000,24001,23999,24000,5,77", // extra field: fine
	)
	want := []struct {
		line, col int
		is        error
	}{{3, 2, ErrBadNumber}, {3, 6, ErrNegativeVolume}, {4, 1, ErrTimeOrder}, {5, 3, ErrHighLow}}
	errs, warns, err := ValidateReader(strings.NewReader(s), "v.csv", nq(t), testConfig(), 100)
	if err != nil {
		t.Fatal(err)
	}
	// Warnings come from the valid rows only: lines 2, 6 and 7 (09:30, 09:34, 09:35).
	if got, want := warningKeys(warns), []string{"gap@6"}; !slices.Equal(got, want) {
		t.Errorf("warnings %v, want %v", got, want)
	}
	if len(errs) != len(want) {
		t.Fatalf("got %d errors %v, want %d", len(errs), errs, len(want))
	}
	for i, w := range want {
		var pe *ParseError
		if !errors.As(errs[i], &pe) || pe.Line != w.line || pe.Column != w.col || !errors.Is(errs[i], w.is) {
			t.Errorf("error %d: got %v, want line %d column %d %v", i, errs[i], w.line, w.col, w.is)
		}
	}
	// With max 3: three errors and "and 1 more error".
	errs, _, _ = ValidateReader(strings.NewReader(s), "v.csv", nq(t), testConfig(), 3)
	if len(errs) != 4 {
		t.Fatalf("max 3: got %d entries %v, want 3 errors and an OmittedError", len(errs), errs)
	}
	var om *OmittedError
	if !errors.As(errs[3], &om) || om.Count != 1 || errs[3].Error() != "and 1 more error" {
		t.Errorf("last entry %v, want *OmittedError{1} \"and 1 more error\"", errs[3])
	}
}

func TestValidateManyErrors(t *testing.T) {
	rows := []string{header}
	for i := range 250 {
		rows = append(rows, fmt.Sprintf("2024-03-08T14:%02d:%02dZ,100,101,99,100,-1", 30+i/60, i%60))
	}
	errs, _, err := ValidateReader(strings.NewReader(csvOf(rows...)), "m.csv", nq(t), testConfig(), 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(errs) != 101 || errs[100].Error() != "and 150 more errors" {
		t.Fatalf("got %d entries ending %v, want 100 and \"and 150 more errors\"", len(errs), errs[len(errs)-1])
	}
	var pe *ParseError
	if !errors.As(errs[99], &pe) || pe.Line != 101 || pe.Column != 6 {
		t.Errorf("100th error %v, want line 101 column 6", errs[99])
	}
}

func TestValidateFileStructural(t *testing.T) {
	dir := t.TempDir()
	// Every missing column is listed; nothing after them.
	p := filepath.Join(dir, "cols.csv")
	writeFile(t, p, csvOf("timestamp,open,volume", "2024-03-08T14:30:00Z,100,5"))
	errs, _, err := ValidateFile(p, nq(t), testConfig(), 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range errs {
		got = append(got, e.Error())
	}
	want := []string{"cols.csv:1: missing column: high", "cols.csv:1: missing column: low", "cols.csv:1: missing column: close"}
	for i := range want {
		want[i] = filepath.Join(dir, want[i])
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	// A file that does not exist is one error, not err.
	errs, _, err = ValidateFile(filepath.Join(dir, "none.csv"), nq(t), testConfig(), 100)
	if err != nil || len(errs) != 1 || !errors.Is(errs[0], fs.ErrNotExist) {
		t.Errorf("missing file: got %v, %v; want one error wrapping fs.ErrNotExist", errs, err)
	}
	// Too few bars is reported by validation too.
	cfg := testConfig()
	cfg.WarmupBars = 100
	writeFile(t, p, csvOf(header, "2024-03-08T14:30:00Z,100,101,99,100,5"))
	errs, _, _ = ValidateFile(p, nq(t), cfg, 100)
	if len(errs) != 1 || !errors.Is(errs[0], ErrTooFewBars) {
		t.Errorf("too few bars: got %v", errs)
	}
}

// yearCSV is a year of synthetic NQ minute bars (252 sessions x 510 = 128,520 rows).
func yearCSV(b *testing.B) []byte {
	b.Helper()
	in, _ := BuiltinInstrument("NQ")
	ds, err := Synthesize(in, 252, 1)
	if err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteCSV(&buf, ds); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// BenchmarkRead is Load's work on a year of minute bars: parse, validate, sessions and the
// market features (marketFeatures, the simulator owner's, is included).
func BenchmarkRead(b *testing.B) {
	data := yearCSV(b)
	in, _ := BuiltinInstrument("NQ")
	cfg := DefaultConfig()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	cpu := processCPU(b)
	for b.Loop() {
		if _, err := Read(bytes.NewReader(data), "year.csv", in, cfg); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu)
}

// reportCPU adds the process CPU time per operation (user + system, all threads, GC
// included) since start: on a machine shared with other work, wall time per op measures the
// neighbours as much as the code.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64((processCPU(b)-start).Milliseconds())/float64(b.N), "cpu-ms/op")
}

// BenchmarkParse is the loader alone on the same year: CSV, times, validation, session filter
// and warnings, then the sessions, without the market features.
func BenchmarkParse(b *testing.B) {
	data := yearCSV(b)
	in, _ := BuiltinInstrument("NQ")
	cfg := DefaultConfig()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	cpu := processCPU(b)
	for b.Loop() {
		l, err := newLoader("year.csv", in, cfg, stopAtFirst)
		if err != nil {
			b.Fatal(err)
		}
		l.read(bytes.NewReader(data))
		if len(l.errs) > 0 {
			b.Fatal(l.errs[0])
		}
		if _, err := mergeFiles([]*loader{l}).dataset(cfg.WarmupBars); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu)
}

func BenchmarkParseTime(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := parseTime("2024-03-08 09:30:00-05:00"); err != nil {
			b.Fatal(err)
		}
	}
}

func TestReadTestdata(t *testing.T) {
	t.Run("mixed forms", func(t *testing.T) {
		ds, err := Load(filepath.Join("testdata", "mixed_forms.csv"), nq(t), testConfig())
		if err != nil {
			t.Fatal(err)
		}
		start := unix(t, "2024-03-08T14:30:00Z")
		for i, got := range ds.Bars.Time {
			if want := start + int64(60*i); got != want {
				t.Errorf("bar %d: %s, want %s", i, utcString(got), utcString(want))
			}
		}
		if ds.Bars.Len() != 7 {
			t.Errorf("bars = %d, want 7", ds.Bars.Len())
		}
	})
	t.Run("naive New York", func(t *testing.T) {
		cfg := testConfig()
		cfg.DataTZ = "America/New_York"
		ds, err := Load(filepath.Join("testdata", "naive_ny.csv"), nq(t), cfg)
		if err != nil {
			t.Fatal(err)
		}
		// 2024-11-01 is EDT (UTC-4), 2024-11-04 EST (UTC-5); the 01:xx bars are dropped.
		want := []int64{unix(t, "2024-11-01T20:58:00Z"), unix(t, "2024-11-01T20:59:00Z"), unix(t, "2024-11-04T14:30:00Z")}
		if !slices.Equal(ds.Bars.Time, want) || ds.Dropped != 2 {
			t.Errorf("times %v dropped %d, want %v and 2", ds.Bars.Time, ds.Dropped, want)
		}
	})
	t.Run("defects", func(t *testing.T) {
		path := filepath.Join("testdata", "defects.csv")
		errs, _, err := ValidateFile(path, nq(t), testConfig(), 100)
		if err != nil {
			t.Fatal(err)
		}
		want := []struct {
			line, col int
			is        error
		}{
			{3, 2, ErrBadNumber},
			{4, 1, ErrTimeOrder}, {4, 5, ErrNonFinite}, // sorted by column within a line
			{5, 3, ErrHighLow}, {5, 6, ErrNegativeVolume},
			{6, 1, ErrTimeOrder},
			{7, 2, ErrNonPositivePrice},
		}
		if len(errs) != len(want) {
			t.Fatalf("got %d errors %v, want %d", len(errs), errs, len(want))
		}
		for i, w := range want {
			var pe *ParseError
			if !errors.As(errs[i], &pe) || pe.Line != w.line || pe.Column != w.col || !errors.Is(errs[i], w.is) {
				t.Errorf("error %d: got %v, want line %d column %d %v", i, errs[i], w.line, w.col, w.is)
			}
		}
		_, rerr := Load(path, nq(t), testConfig())
		if rerr == nil || rerr.Error() != errs[0].Error() {
			t.Errorf("Load: %v, want the first error %v", rerr, errs[0])
		}
	})
}

// A limit of 1 still reads the whole file and counts what it leaves out.
func TestValidateLimitOne(t *testing.T) {
	errs, _, err := ValidateFile(filepath.Join("testdata", "defects.csv"), nq(t), testConfig(), 1)
	if err != nil {
		t.Fatal(err)
	}
	var om *OmittedError
	if len(errs) != 2 || !errors.Is(errs[0], ErrBadNumber) || !errors.As(errs[1], &om) || om.Count != 6 {
		t.Errorf("got %v, want the line 3 error and \"and 6 more errors\"", errs)
	}
}
