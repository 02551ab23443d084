package env

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// minuteRows returns n bar rows of one minute each from the UTC time start, closes rising
// by one point from close.
func minuteRows(t testing.TB, start string, n int, close float64) []string {
	t.Helper()
	sec := unix(t, start)
	rows := make([]string, n)
	for i := range n {
		c := close + float64(i)
		rows[i] = fmt.Sprintf("%s,%v,%v,%v,%v,10", utcString(sec+int64(60*i)), c, c+1, c-1, c)
	}
	return rows
}

// writeCSV writes a bar file with the header and rows into dir and returns its path.
func writeCSV(t testing.TB, dir, name string, rows ...string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	writeFile(t, p, csvOf(append([]string{header}, rows...)...))
	return p
}

// Files given in any order merge into the bars of the one file holding all their rows, in
// time order: same bars, sessions and features.
func TestLoadFilesMergeOrder(t *testing.T) {
	dir := t.TempDir()
	day1 := minuteRows(t, "2024-03-08T14:30:00Z", 30, 24000) // Friday 09:30-09:59 New York
	day2 := minuteRows(t, "2024-03-11T13:30:00Z", 30, 24100) // Monday 09:30-09:59 (EDT)
	day3 := minuteRows(t, "2024-03-12T13:30:00Z", 30, 24200)
	a := writeCSV(t, dir, "a.csv", day1...)
	b := writeCSV(t, dir, "b.csv", day2...)
	c := writeCSV(t, dir, "c.csv", day3...)
	all := writeCSV(t, dir, "all.csv", slices.Concat(day1, day2, day3)...)

	want, err := Load(all, nq(t), testConfig())
	if err != nil {
		t.Fatal(err)
	}
	got, err := LoadFiles([]string{c, a, b}, nq(t), testConfig())
	if err != nil {
		t.Fatal(err)
	}
	if got.Source != strings.Join([]string{c, a, b}, ",") {
		t.Errorf("Source = %q, want the files joined by commas in the order given", got.Source)
	}
	if !slices.Equal(got.Bars.Time, want.Bars.Time) || !slices.Equal(got.Bars.Close, want.Bars.Close) {
		t.Errorf("merged bars differ from the single file's: first times %v, want %v", got.Bars.Time[:3], want.Bars.Time[:3])
	}
	if !slices.Equal(got.Sessions, want.Sessions) {
		t.Errorf("sessions = %+v, want %+v", got.Sessions, want.Sessions)
	}
	if !slices.Equal(got.Market, want.Market) {
		t.Error("market features of the merged files differ from the single file's")
	}
}

// The time ranges of files must be separate: a duplicated minute, a file inside another's
// range, and rows outside the data session (dropped, yet the same minutes twice) are errors
// at the later file's first row, naming the other file's last row.
func TestLoadFilesOverlap(t *testing.T) {
	dir := t.TempDir()
	morning := minuteRows(t, "2024-03-08T14:30:00Z", 30, 24000) // 09:30-09:59 New York, lines 2-31
	evening := minuteRows(t, "2024-03-08T21:30:00Z", 60, 24000) // 16:30-17:29, from 17:00 dropped
	tests := []struct {
		name    string
		a, b    []string
		wantErr string // after "b.csv:2:1: files overlap in time: its first row, "
	}{
		{"duplicated last minute", morning, minuteRows(t, "2024-03-08T14:59:00Z", 5, 24000),
			"2024-03-08T14:59:00Z (UTC), is the same as a.csv:31's 2024-03-08T14:59:00Z, the last row of that file (rows from line 2)"},
		{"inside the other's range", morning, minuteRows(t, "2024-03-08T14:40:00Z", 3, 24000),
			"2024-03-08T14:40:00Z (UTC), is not after a.csv:31's 2024-03-08T14:59:00Z"},
		{"outside the data session", evening, minuteRows(t, "2024-03-08T22:10:00Z", 10, 24000),
			"2024-03-08T22:10:00Z (UTC), is not after a.csv:61's 2024-03-08T22:29:00Z"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := writeCSV(t, dir, "a.csv", tc.a...)
			b := writeCSV(t, dir, "b.csv", tc.b...)
			_, err := LoadFiles([]string{a, b}, nq(t), testConfig())
			var pe *ParseError
			if !errors.As(err, &pe) || !errors.Is(err, ErrOverlap) {
				t.Fatalf("err = %v, want a *ParseError wrapping ErrOverlap", err)
			}
			want := "b.csv:2:1: files overlap in time: its first row, " + tc.wantErr
			if got := strings.ReplaceAll(err.Error(), dir+string(filepath.Separator), ""); !strings.HasPrefix(got, want) {
				t.Errorf("err = %q\nwant prefix %q", got, want)
			}
			// The order the files are given in does not matter.
			_, err2 := LoadFiles([]string{b, a}, nq(t), testConfig())
			if err2 == nil || err2.Error() != err.Error() {
				t.Errorf("reversed order: err = %v, want %v", err2, err)
			}
		})
	}
}

// ValidateFiles lists each file's errors, then every overlap (a file overlapping two
// earlier ones once, against the one reaching furthest), all under one limit.
func TestValidateFilesOverlap(t *testing.T) {
	dir := t.TempDir()
	a := writeCSV(t, dir, "a.csv", minuteRows(t, "2024-03-08T14:30:00Z", 60, 24000)...)
	bRows := minuteRows(t, "2024-03-08T14:40:00Z", 5, 24000)
	bRows[1] = strings.Replace(bRows[1], ",10", ",-1", 1) // a negative volume on line 3
	b := writeCSV(t, dir, "b.csv", bRows...)
	c := writeCSV(t, dir, "c.csv", minuteRows(t, "2024-03-08T15:00:00Z", 5, 24000)...)
	errs, _, err := ValidateFiles([]string{a, b, c}, nq(t), testConfig(), 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range errs {
		got = append(got, strings.ReplaceAll(e.Error(), dir+string(filepath.Separator), ""))
	}
	want := []string{
		"b.csv:3:6: volume \"-1\": volume < 0",
		"b.csv:2:1: files overlap in time",
		"c.csv:2:1: files overlap in time: its first row, 2024-03-08T15:00:00Z (UTC), is not after a.csv:61's",
	}
	if len(got) != len(want) {
		t.Fatalf("errors = %q, want %d", got, len(want))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("error %d = %q, want prefix %q", i, got[i], want[i])
		}
	}
	errs, _, _ = ValidateFiles([]string{a, b, c}, nq(t), testConfig(), 2)
	var om *OmittedError
	if len(errs) != 3 || !errors.As(errs[2], &om) || om.Count != 1 {
		t.Errorf("limit 2: errors = %v, want 2 and \"and 1 more error\"", errs)
	}
}

// Where two files meet inside a session, the gap and jump warnings compare the last bar of
// one with the first bar of the other.
func TestLoadFilesBoundaryWarnings(t *testing.T) {
	dir := t.TempDir()
	a := writeCSV(t, dir, "a.csv", minuteRows(t, "2024-03-08T14:30:00Z", 10, 24000)...) // 09:30-09:39
	b := writeCSV(t, dir, "b.csv", minuteRows(t, "2024-03-08T14:45:00Z", 10, 26000)...) // 09:45-09:54
	c := writeCSV(t, dir, "c.csv", minuteRows(t, "2024-03-08T14:55:00Z", 10, 26010)...) // 09:55, no gap
	ds, err := LoadFiles([]string{b, c, a}, nq(t), testConfig())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range ds.Warnings {
		got = append(got, strings.ReplaceAll(w.String(), dir+string(filepath.Separator), ""))
	}
	want := []string{
		"b.csv:2: warning: gap inside the session 2024-03-08: 5 minute(s) missing between the 09:39 bar (a.csv:11) and the 09:45 bar",
		"b.csv:2: warning: close jumped +8.29% from 24009 (a.csv:11) to 26000",
	}
	if !slices.Equal(got, want) {
		t.Errorf("warnings =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestDataFiles(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "bars")
	if err := os.MkdirAll(filepath.Join(sub, "nested.csv"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"NQ_2024b.csv", "NQ_2024a.CSV", "notes.txt"} {
		writeFile(t, filepath.Join(sub, name), header+"\n")
	}
	one := writeCSV(t, dir, "one.csv")
	got, err := DataFiles([]string{one, sub})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{one, filepath.Join(sub, "NQ_2024a.CSV"), filepath.Join(sub, "NQ_2024b.csv")}
	if !slices.Equal(got, want) {
		t.Errorf("DataFiles = %q, want %q", got, want)
	}

	empty := filepath.Join(dir, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		paths []string
		is    error
		msg   string
	}{
		{"missing", []string{filepath.Join(dir, "nope.csv")}, fs.ErrNotExist, "no such file"},
		{"no csv", []string{empty}, ErrRead, "directory has no .csv files"},
		{"twice", []string{one, sub, filepath.Join(dir, ".", "one.csv")}, ErrOverlap, "is given twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DataFiles(tc.paths)
			var pe *ParseError
			if !errors.As(err, &pe) || !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("err = %v, want a *ParseError wrapping %v saying %q", err, tc.is, tc.msg)
			}
		})
	}
}
