package env

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// streamLines gives text to a BarStream line by line and returns its dataset, the error
// text of each bad line and every warning.
func streamLines(t *testing.T, text string, inst Instrument, cfg Config) (*Dataset, []string, []Warning) {
	t.Helper()
	s, err := NewBarStream("stdin", inst, cfg)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if err := s.Header(lines[0]); err != nil {
		t.Fatalf("header: %v", err)
	}
	var errs []string
	var warns []Warning
	for i, line := range lines[1:] {
		ev, err := s.Add(strings.TrimSuffix(line, "\r"))
		if ev.Line != i+2 {
			t.Fatalf("line %d reported as line %d", i+2, ev.Line)
		}
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Line != i+2 {
				t.Fatalf("line %d: %v: want a *ParseError on that line", i+2, err)
			}
			errs = append(errs, err.Error())
			continue
		}
		warns = append(warns, ev.Warnings...)
	}
	warns = append(warns, s.Warnings()...)
	return s.Dataset(), errs, warns
}

// sameDataset fails unless got holds exactly want's bars, sessions and market features
// (bit for bit) and dropped count.
func sameDataset(t *testing.T, got, want *Dataset) {
	t.Helper()
	g, w := &got.Bars, &want.Bars
	for _, c := range []struct {
		name     string
		got, wnt any
	}{
		{"time", g.Time, w.Time}, {"open", g.Open, w.Open}, {"high", g.High, w.High}, {"low", g.Low, w.Low},
		{"close", g.Close, w.Close}, {"volume", g.Volume, w.Volume}, {"clock", g.Clock, w.Clock},
		{"session", g.Session, w.Session}, {"sessions", got.Sessions, want.Sessions}, {"dropped", got.Dropped, want.Dropped},
	} {
		if !reflect.DeepEqual(c.got, c.wnt) {
			t.Errorf("%s differ: stream %v, Load %v", c.name, c.got, c.wnt)
		}
	}
	if len(got.Market) != len(want.Market) {
		t.Fatalf("market: %d floats, Load %d", len(got.Market), len(want.Market))
	}
	for i := range want.Market {
		if math.Float32bits(got.Market[i]) != math.Float32bits(want.Market[i]) {
			t.Fatalf("market feature %d of bar %d: stream %v, Load %v", i%MarketDim, i/MarketDim, got.Market[i], want.Market[i])
		}
	}
}

// TestBarStreamMatchesLoad: a file given line by line to a BarStream gives the dataset
// Load reads from it, bit for bit (bars, clocks, sessions, every market feature), and the
// same warnings. The synthetic file crosses the March DST change and has bars outside the
// data session, a blank line and CRLF line ends added.
func TestBarStreamMatchesLoad(t *testing.T) {
	inst := nq(t)
	ds, err := Synthesize(inst, 52, 3)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteCSV(&buf, ds); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	// 08:10 New York (dropped, before the data session), a blank line, 17:30 (dropped).
	extra := []string{"2024-01-03T13:10:00Z,24000,24001,23999,24000,3", "", "2024-01-03T22:30:00Z,24000,24001,23999,24000,3"}
	at := slices.Index(lines, "") // none: insert before the second session's first bar
	if at >= 0 {
		t.Fatal("WriteCSV wrote a blank line")
	}
	for i, l := range lines {
		if strings.HasPrefix(l, "2024-01-03T13:30:00Z") {
			at = i
			break
		}
	}
	lines = slices.Insert(lines, at, extra[:2]...)
	for i, l := range lines {
		if strings.HasPrefix(l, "2024-01-03T22:00:00Z") { // the 17:00 bar does not exist: after 16:59
			t.Fatal("synthetic bar after the data session")
		}
		if strings.HasPrefix(l, "2024-01-04T13:30:00Z") {
			lines = slices.Insert(lines, i, extra[2])
			break
		}
	}
	files := map[string]string{"synthetic.csv": strings.Join(lines, "\r\n") + "\r\n"}
	for _, name := range []string{"dst_offsets.csv", "mixed_forms.csv"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		files[name] = string(b)
	}
	cfg := testConfig()
	cfg.WarmupBars = 0
	for name, text := range files {
		t.Run(name, func(t *testing.T) {
			want, err := Read(strings.NewReader(text), "stdin", inst, cfg)
			if err != nil {
				t.Fatal(err)
			}
			got, errs, warns := streamLines(t, strings.ReplaceAll(text, "\r\n", "\n"), inst, cfg)
			if len(errs) > 0 {
				t.Fatalf("errors on a valid file: %v", errs)
			}
			sameDataset(t, got, want)
			slices.SortStableFunc(warns, func(a, b Warning) int { return a.Line - b.Line })
			if !reflect.DeepEqual(warns, want.Warnings) && (len(warns) > 0 || len(want.Warnings) > 0) {
				t.Errorf("warnings:\nstream %v\nLoad   %v", warns, want.Warnings)
			}
		})
	}
}

// TestBarStreamBadLines: each bad line of defects.csv gives its first error in Load's words
// (file, line, column), and the stream goes on. A bad line is left out as if it had not
// been there: its time does not become the order check's reference, so line 4 (the same
// time as bad line 3) is judged on its own defect and line 6 (before bad line 5's time) is
// kept, where `data validate` reports both as out of order.
func TestBarStreamBadLines(t *testing.T) {
	inst := nq(t)
	cfg := testConfig()
	b, err := os.ReadFile(filepath.Join("testdata", "defects.csv"))
	if err != nil {
		t.Fatal(err)
	}
	ds, errs, _ := streamLines(t, string(b), inst, cfg)
	want := []string{
		`stdin:3:2: open "abc": not a number`,
		`stdin:4:5: close "NaN": NaN or Inf`,
		`stdin:5:3: high 99 below max(open 100, close 100): high/low do not contain open and close`,
		`stdin:7:2: open "0": price <= 0`,
	}
	if !reflect.DeepEqual(errs, want) {
		t.Errorf("errors:\nstream %q\nwant   %q", errs, want)
	}
	if got := ds.Bars.Len(); got != 2 {
		t.Errorf("%d bars kept, want 2 (lines 2 and 6)", got)
	}

	// A CSV syntax error and a short row are one line's errors; the next line is read.
	s, err := NewBarStream("stdin", inst, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Header("timestamp,open,high,low,close,volume"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ line, err string }{
		{`2024-03-08T14:30:00Z,1"00,101,99,100,5`, `stdin:2: csv syntax error: bare " in non-quoted-field (byte 23 of the line)`},
		{"2024-03-08T14:30:00Z,100,101,99", "stdin:3:5: too few fields: close is field 5, the row has 4"},
		{"2024-03-08T14:30:00Z,100,101,99,100,5", ""},
		{"2024-03-08T14:30:00Z,100,101,99,100,5", `stdin:5:1: time not strictly increasing: timestamp "2024-03-08T14:30:00Z" is the same as line 4's 2024-03-08T14:30:00Z (UTC)`},
		{"2024-03-08T14:31:00Z,100,101,99,100,5", ""},
	} {
		_, err := s.Add(tc.line)
		if got := errString(err); got != tc.err {
			t.Errorf("Add(%q) = %q, want %q", tc.line, got, tc.err)
		}
	}
	if n := s.Dataset().Bars.Len(); n != 2 {
		t.Errorf("%d bars, want 2", n)
	}
}

// TestBarStreamHeader: a header without the columns is Load's error, and no line can be
// added after it.
func TestBarStreamHeader(t *testing.T) {
	s, err := NewBarStream("stdin", nq(t), testConfig())
	if err != nil {
		t.Fatal(err)
	}
	err = s.Header("timestamp,open,high,low,volume")
	if got, want := errString(err), "stdin:1: missing column: close"; got != want {
		t.Errorf("Header: %q, want %q", got, want)
	}
	if _, err := s.Add("2024-03-08T14:30:00Z,100,101,99,5"); !errors.Is(err, ErrHeaderFirst) {
		t.Errorf("Add after a bad header: %v, want ErrHeaderFirst", err)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
