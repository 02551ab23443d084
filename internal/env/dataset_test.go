package env

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// nq returns the built-in NQ instrument or fails the test.
func nq(t testing.TB) Instrument {
	t.Helper()
	in, ok := BuiltinInstrument("NQ")
	if !ok {
		t.Fatal("BuiltinInstrument(NQ) not found")
	}
	return in
}

// barsAt builds flat valid bars (price 100, volume 1) opening at the given New York wall
// times "YYYY-MM-DD HH:MM".
func barsAt(t testing.TB, local ...string) Bars {
	t.Helper()
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	var b Bars
	for _, s := range local {
		tm, err := time.ParseInLocation("2006-01-02 15:04", s, ny)
		if err != nil {
			t.Fatal(err)
		}
		b.Time = append(b.Time, tm.Unix())
		b.Open = append(b.Open, 100)
		b.High = append(b.High, 101)
		b.Low = append(b.Low, 99)
		b.Close = append(b.Close, 100)
		b.Volume = append(b.Volume, 1)
	}
	return b
}

func TestNewDatasetSessions(t *testing.T) {
	bars := barsAt(t,
		// Friday before the DST change: EST (UTC-5).
		"2024-03-08 08:30", "2024-03-08 09:29", "2024-03-08 09:30", "2024-03-08 16:58", "2024-03-08 16:59",
		// Monday after it: EDT (UTC-4). No 16:58 bar: the flatten bar is the last before 16:59.
		"2024-03-11 09:31", "2024-03-11 12:00", "2024-03-11 16:59",
		// Only bars before the entry start.
		"2024-03-12 08:30", "2024-03-12 09:00",
		// Only the 16:59 bar: nothing tradable, no flatten bar.
		"2024-03-13 16:59",
	)
	ds, err := NewDataset("test", nq(t), bars)
	if err != nil {
		t.Fatal(err)
	}
	want := []Session{
		{Date: "2024-03-08", Start: 0, End: 5, EntryBar: 2, FlattenBar: 3, FlattenTime: cmeFlatten},
		{Date: "2024-03-11", Start: 5, End: 8, EntryBar: 5, FlattenBar: 6, FlattenTime: cmeFlatten},
		{Date: "2024-03-12", Start: 8, End: 10, EntryBar: -1, FlattenBar: 9, FlattenTime: cmeFlatten},
		{Date: "2024-03-13", Start: 10, End: 11, EntryBar: -1, FlattenBar: -1, FlattenTime: cmeFlatten},
	}
	if !slices.Equal(ds.Sessions, want) {
		t.Errorf("sessions:\ngot  %+v\nwant %+v", ds.Sessions, want)
	}
	wantClock := []Clock{510, 569, 570, 1018, 1019, 571, 720, 1019, 510, 540, 1019}
	if !slices.Equal(ds.Bars.Clock, wantClock) {
		t.Errorf("clocks: got %v, want %v", ds.Bars.Clock, wantClock)
	}
	wantSession := []int32{0, 0, 0, 0, 0, 1, 1, 1, 2, 2, 3}
	if !slices.Equal(ds.Bars.Session, wantSession) {
		t.Errorf("bar sessions: got %v, want %v", ds.Bars.Session, wantSession)
	}
	if got, want := len(ds.Market), ds.Bars.Len()*MarketDim; got != want {
		t.Errorf("len(Market) = %d, want %d", got, want)
	}
}

// 09:30 New York is 14:30 UTC before 2024-03-10 and 13:30 UTC after: both must read 09:30.
func TestNewDatasetDSTClock(t *testing.T) {
	utc := func(s string) int64 {
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm.Unix()
	}
	b := Bars{
		Time:   []int64{utc("2024-03-08T14:30:00Z"), utc("2024-03-11T13:30:00Z"), utc("2024-11-01T13:30:00Z"), utc("2024-11-04T14:30:00Z")},
		Open:   []float64{1, 1, 1, 1},
		High:   []float64{1, 1, 1, 1},
		Low:    []float64{1, 1, 1, 1},
		Close:  []float64{1, 1, 1, 1},
		Volume: []float64{0, 0, 0, 0},
	}
	ds, err := NewDataset("dst", nq(t), b)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range ds.Bars.Clock {
		if c != 570 {
			t.Errorf("bar %d clock = %s, want 09:30", i, c)
		}
	}
	if got := len(ds.Sessions); got != 4 {
		t.Errorf("sessions = %d, want 4", got)
	}
}

func TestNewDatasetErrors(t *testing.T) {
	inst := nq(t)
	tests := []struct {
		name   string
		mutate func(*Bars)
		is     error  // sentinel, if any
		substr string // in the message
	}{
		{"empty", func(b *Bars) { *b = Bars{} }, ErrEmpty, "no bars"},
		{"length", func(b *Bars) { b.Close = b.Close[:1] }, nil, "columns differ in length"},
		{"duplicate time", func(b *Bars) { b.Time[1] = b.Time[0] }, ErrTimeOrder, "bar 1"},
		{"reversed time", func(b *Bars) { b.Time[2] = b.Time[0] - 60 }, ErrTimeOrder, "bar 2"},
		{"high", func(b *Bars) { b.High[1] = 99.5 }, ErrHighLow, "bar 1"},
		{"low", func(b *Bars) { b.Low[2] = 100.5 }, ErrHighLow, "bar 2"},
		{"price", func(b *Bars) { b.Open[0] = 0 }, ErrNonPositivePrice, "bar 0"},
		{"volume", func(b *Bars) { b.Volume[0] = -1 }, ErrNegativeVolume, "bar 0"},
		{"outside session", func(b *Bars) { b.Time[2] += 7 * 3600 }, nil, "opens at 17:00 America/New_York, outside the data session 08:30-16:59"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := barsAt(t, "2024-03-08 09:58", "2024-03-08 09:59", "2024-03-08 10:00")
			tc.mutate(&b)
			_, err := NewDataset("x.csv", inst, b)
			if err == nil {
				t.Fatal("got nil error")
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("got %v, want errors.Is %v", err, tc.is)
			}
			if !strings.Contains(err.Error(), tc.substr) || !strings.HasPrefix(err.Error(), "env: dataset x.csv: ") {
				t.Errorf("got %q, want prefix %q and %q", err, "env: dataset x.csv: ", tc.substr)
			}
		})
	}
}

func TestSplitSessions(t *testing.T) {
	tests := []struct {
		n         int
		frac      float64
		wantTrain int
	}{
		{10, 0.8, 8},
		{10, 0.85, 8},   // floor
		{100, 0.29, 29}, // 0.29*100 = 28.999999999999996 in float64
		{10, 1, 10},
		{10, 0.01, 1}, // at least one training session
		{10, 0.99, 9}, // at least one validation session
		{2, 0.5, 1},
		{2, 0.99, 1},
		{1, 0.8, 1}, // a single session trains
		{0, 0.8, 0},
		{5, 0, 1},
		{5, 2, 5},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("n=%d,frac=%g", tc.n, tc.frac), func(t *testing.T) {
			ds := &Dataset{Sessions: make([]Session, tc.n)}
			train, val := ds.SplitSessions(tc.frac)
			if len(train) != tc.wantTrain || len(val) != tc.n-tc.wantTrain {
				t.Fatalf("got %d train, %d validation; want %d, %d", len(train), len(val), tc.wantTrain, tc.n-tc.wantTrain)
			}
			for i, s := range append(train, val...) {
				if s != i {
					t.Fatalf("session order: position %d holds %d, want %d (never shuffled)", i, s, i)
				}
			}
		})
	}
}

func TestEligibleSessions(t *testing.T) {
	ds := &Dataset{Sessions: []Session{
		{EntryBar: 60}, {EntryBar: 570}, {EntryBar: -1}, {EntryBar: 1080}, {EntryBar: 1590},
	}}
	tests := []struct {
		sessions []int
		warmup   int
		want     []int
	}{
		{[]int{0, 1, 2, 3, 4}, 260, []int{1, 3, 4}},
		{[]int{0, 1, 2, 3, 4}, 60, []int{0, 1, 3, 4}}, // exactly warmup bars of history
		{[]int{0, 1, 2, 3, 4}, 61, []int{1, 3, 4}},    // one short
		{[]int{4, 3, 9, -1}, 1000, []int{4, 3}},       // given order kept, bad indices skipped
		{[]int{0, 1, 2, 3, 4}, 2000, []int{}},
	}
	for _, tc := range tests {
		got := ds.EligibleSessions(tc.sessions, tc.warmup)
		if !slices.Equal(got, tc.want) {
			t.Errorf("EligibleSessions(%v, %d) = %v, want %v", tc.sessions, tc.warmup, got, tc.want)
		}
	}
}

func TestDescribe(t *testing.T) {
	s := csvOf(header,
		"2024-03-08 08:00:00-05:00,24000,24001,23999,24000,5", // dropped
		"2024-03-08 09:30:00-05:00,24000,24001,23999,24000,5",
		"2024-03-08 09:35:00-05:00,24000,24001,23999,24000,5", // gap of 4
		"2024-03-08 09:37:00-05:00,24000,26001,23999,26000,5", // gap of 1, jump
		"2024-03-11 09:30:00-04:00,26000,26001,25999,26000,5",
		"2024-03-12 09:30:00-04:00,26000,26001,25999,26000,5",
		"2024-03-12 18:00:00-04:00,26000,26001,25999,26000,5", // dropped
	)
	ds, err := readString(t, s, testConfig())
	if err != nil {
		t.Fatal(err)
	}
	want := DataInfo{
		Source: "bars.csv", Symbol: "NQ", Zone: "America/New_York", DataSession: "08:30-16:59",
		Rows: 7, Bars: 5, Dropped: 2, Sessions: 3,
		First: "2024-03-08T09:30:00-05:00", Last: "2024-03-12T09:30:00-04:00",
		Gaps: 2, MissingMinutes: 5, Div100Runs: 0, Jumps: 1,
		TrainFraction: 0.8, TrainSessions: 2, ValidationSessions: 1, // floor(0.8 x 3) = 2
		Calendar: CalendarCMEEquity, Holidays: Dates{}, EarlyCloses: Dates{},
	}
	if got := ds.Describe(); !reflect.DeepEqual(got, want) {
		t.Errorf("Describe():\ngot  %+v\nwant %+v", got, want)
	}
	got := ds.DescribeSplit(0.5) // floor(1.5) = 1
	if got.TrainSessions != 1 || got.ValidationSessions != 2 || got.TrainFraction != 0.5 {
		t.Errorf("DescribeSplit(0.5): %d train, %d validation; want 1, 2", got.TrainSessions, got.ValidationSessions)
	}
	js, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"rows":7`, `"dropped":2`, `"first":"2024-03-08T09:30:00-05:00"`, `"gaps":2`, `"train_sessions":2`, `"validation_sessions":1`} {
		if !strings.Contains(string(js), key) {
			t.Errorf("JSON %s lacks %s", js, key)
		}
	}
}
