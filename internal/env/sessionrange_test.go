package env

import (
	"slices"
	"strings"
	"testing"
)

// TestSessionRange: the sessions between two dates, both included, either end open; Split
// cuts them by train_fraction as SplitSessions cuts all of them.
func TestSessionRange(t *testing.T) {
	inst, _ := BuiltinInstrument("NQ")
	ds, err := Synthesize(inst, 8, 1)
	if err != nil {
		t.Fatal(err)
	}
	date := func(i int) string { return ds.Sessions[i].Date }
	for _, tc := range []struct {
		name        string
		first, last string
		want        []int
	}{
		{"all", "", "", []int{0, 1, 2, 3, 4, 5, 6, 7}},
		{"both ends included", date(2), date(5), []int{2, 3, 4, 5}},
		{"from", date(6), "", []int{6, 7}},
		{"to", "", date(1), []int{0, 1}},
		{"one session", date(3), date(3), []int{3}},
		{"before the data", "1999-01-01", "1999-12-31", []int{}},
		{"a weekend at each end", "2024-01-06", "2024-01-07", []int{}},
		{"from a weekend", "2024-01-06", date(5), []int{4, 5}}, // sessions 2024-01-05 and 2024-01-08 surround it
	} {
		if got := ds.SessionRange(tc.first, tc.last); !slices.Equal(got, tc.want) {
			t.Errorf("%s: SessionRange(%q, %q) = %v, want %v", tc.name, tc.first, tc.last, got, tc.want)
		}
	}

	cfg := DefaultConfig()
	cfg.TrainFraction, cfg.FirstSession, cfg.LastSession = 0.5, date(2), date(5)
	train, val := ds.Split(cfg)
	if !slices.Equal(train, []int{2, 3}) || !slices.Equal(val, []int{4, 5}) {
		t.Errorf("Split of sessions 2..5 at 0.5: %v and %v, want [2 3] and [4 5]", train, val)
	}
	cfg.FirstSession, cfg.LastSession = "", ""
	train, val = ds.Split(cfg)
	wt, wv := ds.SplitSessions(0.5)
	if !slices.Equal(train, wt) || !slices.Equal(val, wv) {
		t.Errorf("Split without a range: %v and %v, want SplitSessions' %v and %v", train, val, wt, wv)
	}
}

// TestSessionRangeConfig: first_session and last_session are dates, in order.
func TestSessionRangeConfig(t *testing.T) {
	for _, tc := range []struct{ first, last, err string }{
		{"", "", ""},
		{"2024-01-02", "", ""},
		{"2024-01-02", "2024-01-02", ""},
		{"2024-1-2", "", "first_session must be a date YYYY-MM-DD"},
		{"", "yesterday", "last_session must be a date YYYY-MM-DD"},
		{"2024-02-01", "2024-01-31", "last_session 2024-01-31 is before first_session 2024-02-01"},
	} {
		c := DefaultConfig()
		c.FirstSession, c.LastSession = tc.first, tc.last
		err := c.Validate()
		if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("first %q, last %q: err = %v, want %q", tc.first, tc.last, err, tc.err)
		}
	}
}
