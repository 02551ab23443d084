package env

import (
	"bytes"
	"flag"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

func synthCSV(t testing.TB, sym string, sessions int, seed uint64) []byte {
	t.Helper()
	in, ok := BuiltinInstrument(sym)
	if !ok {
		t.Fatalf("no instrument %s", sym)
	}
	ds, err := Synthesize(in, sessions, seed)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteCSV(&buf, ds); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestSynthesizeDeterministic(t *testing.T) {
	a, b := synthCSV(t, "NQ", 3, 1), synthCSV(t, "NQ", 3, 1)
	if !bytes.Equal(a, b) {
		t.Fatal("same seed gave different bytes")
	}
	if c := synthCSV(t, "NQ", 3, 2); bytes.Equal(a, c) {
		t.Fatal("seeds 1 and 2 gave the same bytes")
	}
}

// The generator's output is part of the tool's behaviour (the built-in default data): a
// change must be deliberate. Regenerate with `go test ./internal/env -run Golden -update`.
func TestSynthesizeGolden(t *testing.T) {
	got := synthCSV(t, "NQ", 1, DefaultSynthSeed)
	path := filepath.Join("testdata", "synth_nq_seed1.golden.csv")
	if *update {
		writeFile(t, path, string(got))
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("synthetic NQ bars differ from %s (run with -update if the change is intended)", path)
	}
}

func TestSynthesizeRoundTrip(t *testing.T) {
	in := nq(t)
	ds, err := Synthesize(in, DefaultSynthSessions, DefaultSynthSeed)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteCSV(&buf, ds); err != nil {
		t.Fatal(err)
	}
	back, err := Read(&buf, "synth.csv", in, DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	a, b := ds.Bars, back.Bars
	if !slices.Equal(a.Time, b.Time) || !slices.Equal(a.Open, b.Open) || !slices.Equal(a.High, b.High) ||
		!slices.Equal(a.Low, b.Low) || !slices.Equal(a.Close, b.Close) || !slices.Equal(a.Volume, b.Volume) ||
		!slices.Equal(a.Clock, b.Clock) || !slices.Equal(a.Session, b.Session) {
		t.Error("bars read back differ from the bars written")
	}
	if !slices.Equal(ds.Sessions, back.Sessions) {
		t.Error("sessions read back differ")
	}
	if !slices.Equal(ds.Market, back.Market) {
		t.Error("market features read back differ")
	}
	if back.Dropped != 0 || len(back.Warnings) != 0 {
		t.Errorf("read back: %d dropped, warnings %v; want none", back.Dropped, back.Warnings)
	}
}

func TestSynthesizeBars(t *testing.T) {
	for _, sym := range BuiltinSymbols() {
		t.Run(sym, func(t *testing.T) {
			in, _ := BuiltinInstrument(sym)
			// 2024-01-02 .. 2024-03-27: crosses 2024-03-10, skips the holidays 2024-01-15 and
			// 2024-02-19 (and Good Friday, 2024-03-29, comes later).
			const sessions = 60
			ds, err := Synthesize(in, sessions, 7)
			if err != nil {
				t.Fatal(err)
			}
			if len(ds.Sessions) != sessions || ds.Bars.Len() != sessions*510 {
				t.Fatalf("got %d sessions, %d bars; want %d, %d", len(ds.Sessions), ds.Bars.Len(), sessions, sessions*510)
			}
			if ds.Sessions[0].Date != "2024-01-02" || ds.Sessions[sessions-1].Date != "2024-03-27" {
				t.Errorf("dates %s..%s, want 2024-01-02..2024-03-27", ds.Sessions[0].Date, ds.Sessions[sessions-1].Date)
			}
			for _, s := range ds.Sessions {
				d, _ := time.Parse(time.DateOnly, s.Date)
				if wd := d.Weekday(); wd == time.Saturday || wd == time.Sunday {
					t.Errorf("session on a %s (%s)", wd, s.Date)
				}
				if ds.Bars.Clock[s.Start] != 510 || ds.Bars.Clock[s.End-1] != 1019 || s.End-s.Start != 510 {
					t.Errorf("session %s: %s..%s, %d bars; want 08:30..16:59, 510", s.Date, ds.Bars.Clock[s.Start], ds.Bars.Clock[s.End-1], s.End-s.Start)
				}
			}
			b := ds.Bars
			onGrid := func(p float64) bool { k := p / in.TickSize; return math.Abs(k-math.Round(k)) < 1e-6 }
			for i := range b.Len() {
				if _, err := checkBar(b.Open[i], b.High[i], b.Low[i], b.Close[i], b.Volume[i]); err != nil {
					t.Fatalf("bar %d: %v", i, err)
				}
				for _, p := range []float64{b.Open[i], b.High[i], b.Low[i], b.Close[i]} {
					if !onGrid(p) {
						t.Fatalf("bar %d: price %v is not a multiple of the tick %v", i, p, in.TickSize)
					}
					if p < 0.7*in.TypicalPrice || p > 1.4*in.TypicalPrice {
						t.Fatalf("bar %d: price %v is far from the typical price %v", i, p, in.TypicalPrice)
					}
				}
				if b.Volume[i] < 1 || b.Volume[i] != math.Round(b.Volume[i]) {
					t.Fatalf("bar %d: volume %v, want a whole number >= 1", i, b.Volume[i])
				}
				if i > 0 && b.Session[i] == b.Session[i-1] && b.Open[i] != b.Close[i-1] {
					t.Fatalf("bar %d: open %v != previous close %v inside a session", i, b.Open[i], b.Close[i-1])
				}
			}
		})
	}
}

// Mean volume per minute of the session over 120 sessions: the first and last hours are
// busier than the middle of the day (12:00-13:59).
func TestSynthesizeVolumeProfile(t *testing.T) {
	ds, err := Synthesize(nq(t), DefaultSynthSessions, DefaultSynthSeed)
	if err != nil {
		t.Fatal(err)
	}
	var sum [24 * 60]float64
	var n [24 * 60]int
	for i, c := range ds.Bars.Clock {
		sum[c] += ds.Bars.Volume[i]
		n[c]++
	}
	mean := func(from, to Clock) float64 {
		s, k := 0.0, 0
		for c := from; c <= to; c++ {
			s += sum[c]
			k += n[c]
		}
		return s / float64(k)
	}
	first, mid, last := mean(510, 569), mean(720, 839), mean(960, 1019)
	if !(first > 1.5*mid && last > 1.5*mid) {
		t.Errorf("mean volume: first hour %.0f, 12:00-13:59 %.0f, last hour %.0f; want both ends > 1.5 x midday", first, mid, last)
	}
}

// Volatility clustering: absolute one-minute returns are autocorrelated (about 0 for
// independent returns), while the returns themselves are not.
func TestSynthesizeVolatilityClustering(t *testing.T) {
	ds, err := Synthesize(nq(t), 40, DefaultSynthSeed)
	if err != nil {
		t.Fatal(err)
	}
	var r, a []float64
	b := ds.Bars
	for i := 1; i < b.Len(); i++ {
		if b.Session[i] == b.Session[i-1] {
			x := math.Log(b.Close[i] / b.Close[i-1])
			r = append(r, x)
			a = append(a, math.Abs(x))
		}
	}
	if ac := autocorr(a, 5); ac < 0.1 {
		t.Errorf("autocorrelation of |returns| at lag 5 = %.3f, want > 0.1", ac)
	}
	if ac := autocorr(r, 1); math.Abs(ac) > 0.05 {
		t.Errorf("autocorrelation of returns at lag 1 = %.3f, want |.| < 0.05", ac)
	}
}

func autocorr(x []float64, lag int) float64 {
	m := 0.0
	for _, v := range x {
		m += v
	}
	m /= float64(len(x))
	num, den := 0.0, 0.0
	for i, v := range x {
		den += (v - m) * (v - m)
		if i >= lag {
			num += (v - m) * (x[i-lag] - m)
		}
	}
	return num / den
}

// A custom instrument with a lunch break in another zone: bars only inside the session.
func TestSynthesizeCustom(t *testing.T) {
	spec := InstrumentSpec{PointValue: 10, TickSize: 0.5, TypicalPrice: 18000, Timezone: "Europe/Berlin",
		DataSession: []string{"09:00-11:59", "13:00-17:29"}, EntryStart: "09:30", FlattenTime: "17:25"}
	in, err := spec.NewInstrument("FDXS")
	if err != nil {
		t.Fatal(err)
	}
	ds, err := Synthesize(in, 5, 3)
	if err != nil {
		t.Fatal(err)
	}
	if want := 5 * (180 + 270); ds.Bars.Len() != want {
		t.Errorf("bars = %d, want %d", ds.Bars.Len(), want)
	}
	for i, c := range ds.Bars.Clock {
		if !in.InDataSession(c) {
			t.Fatalf("bar %d at %s is outside the session", i, c)
		}
	}
	if ds.Source != "synthetic:FDXS:3" {
		t.Errorf("source %q, want synthetic:FDXS:3", ds.Source)
	}
}

func TestSynthesizeErrors(t *testing.T) {
	if _, err := Synthesize(nq(t), 0, 1); err == nil {
		t.Error("0 sessions: got nil error")
	}
	if _, err := Synthesize(Instrument{Symbol: "X", TickSize: 1, TypicalPrice: 100}, 1, 1); err == nil {
		t.Error("instrument without zone: got nil error")
	}
}

func TestWriteCSVFormat(t *testing.T) {
	b := barsAt(t, "2024-03-08 09:30", "2024-03-11 09:30")
	b.Close[1], b.High[1], b.Volume[0] = 100.1, 101.25, 1234
	ds, err := NewDataset("x", nq(t), b)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteCSV(&buf, ds); err != nil {
		t.Fatal(err)
	}
	want := "timestamp,open,high,low,close,volume\n" +
		"2024-03-08T14:30:00Z,100,101,99,100,1234\n" +
		"2024-03-11T13:30:00Z,100,101.25,99,100.1,1\n"
	if got := buf.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
