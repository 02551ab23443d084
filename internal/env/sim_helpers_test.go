package env

import (
	"math/rand/v2"
	"testing"
	"time"
)

// simBar is one bar's prices and volume.
type simBar struct{ o, h, l, c, v float64 }

// flatBar is the default bar of the hand-computed scenarios: open = close = p, range +-1,
// so that every true range is 2 and ATR14 is exactly 2.
func flatBar(p float64) simBar { return simBar{p, p + 1, p - 1, p, 100} }

// simDays builds an NQ dataset with one full CME data session (08:30..16:59 New York, 510
// bars) per date "YYYY-MM-DD"; bar(d, clock) gives the bar of day d at that open time.
func simDays(t testing.TB, dates []string, bar func(d int, clock Clock) simBar) *Dataset {
	t.Helper()
	inst, ok := BuiltinInstrument("NQ")
	if !ok {
		t.Fatal("no NQ instrument")
	}
	var b Bars
	for d, date := range dates {
		day, err := time.ParseInLocation(time.DateOnly, date, inst.Zone)
		if err != nil {
			t.Fatal(err)
		}
		for clock := Clock(8*60 + 30); clock <= 16*60+59; clock++ {
			tm := time.Date(day.Year(), day.Month(), day.Day(), int(clock)/60, int(clock)%60, 0, 0, inst.Zone)
			x := bar(d, clock)
			b.Time = append(b.Time, tm.Unix())
			b.Open = append(b.Open, x.o)
			b.High = append(b.High, x.h)
			b.Low = append(b.Low, x.l)
			b.Close = append(b.Close, x.c)
			b.Volume = append(b.Volume, x.v)
		}
	}
	ds, err := NewDataset("sim", inst, b)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// hm is the clock of hh:mm.
func hm(h, m int) Clock { return Clock(h*60 + m) }

// weekdays returns n trading dates from 2024-01-02 on: weekdays that are not holidays of the
// CME equity calendar (the calendar of nq, which datasets of these dates use).
func weekdays(n int) []string {
	cal, _ := BuiltinCalendar(CalendarCMEEquity)
	var out []string
	for d := time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC); len(out) < n; d = d.AddDate(0, 0, 1) {
		if _, ok := cal.day(dayOf(d)); ok {
			continue // a holiday or an early close: the tests want ordinary days
		}
		if wd := d.Weekday(); wd != time.Saturday && wd != time.Sunday {
			out = append(out, d.Format(time.DateOnly))
		}
	}
	return out
}

// randomWalkDays builds n sessions of a seeded random walk on the NQ tick grid with
// volatility bursts, so that stops, targets, trailing exits and breaches all happen.
func randomWalkDays(t testing.TB, n int, seed uint64) *Dataset {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 7))
	p := 24000.0
	vol := 2.0
	return simDays(t, weekdays(n), func(d int, clock Clock) simBar {
		if rng.IntN(200) == 0 {
			vol = 1 + 10*rng.Float64()
		}
		o := p
		c := o + float64(int(rng.NormFloat64()*vol*4))*0.25
		h := max(o, c) + float64(rng.IntN(8))*0.25
		l := min(o, c) - float64(rng.IntN(8))*0.25
		p = c
		return simBar{o, h, l, c, float64(50 + rng.IntN(500))}
	})
}

// barAt returns the index of the bar of session s opening at clock.
func barAt(t testing.TB, ds *Dataset, s int, clock Clock) int {
	t.Helper()
	for j := ds.Sessions[s].Start; j < ds.Sessions[s].End; j++ {
		if ds.Bars.Clock[j] == clock {
			return j
		}
	}
	t.Fatalf("session %d has no bar at %s", s, clock)
	return -1
}

// recorder is an Observer that keeps everything.
type recorder struct {
	trades []Trade
	bars   []BarRecord
}

func (r *recorder) Trade(tr Trade)     { r.trades = append(r.trades, tr) }
func (r *recorder) Bar(b BarRecord)    { r.bars = append(r.bars, b) }
func (r *recorder) reset()             { r.trades, r.bars = nil, nil }
func (r *recorder) lastTrade() *Trade  { return &r.trades[len(r.trades)-1] }
func (r *recorder) lastBar() BarRecord { return r.bars[len(r.bars)-1] }

// script runs one ModeOrdered episode over session 0 of ds, taking action acts[clock] at the
// decision whose bar opens at clock (HOLD otherwise); it fails the test if a scripted action
// is masked. It returns the steps and the observer's records.
func script(t testing.TB, ds *Dataset, cfg Config, acts map[Clock]Action) ([]Step, *recorder) {
	t.Helper()
	rec := &recorder{}
	e, obs, mask := startEnv(t, ds, cfg, Options{Sessions: []int{0}, Mode: ModeOrdered, Observer: rec}, nil)
	var steps []Step
	for {
		clock := ds.Bars.Clock[e.Bar()]
		a, ok := acts[clock]
		if ok && !mask[a] {
			t.Fatalf("scripted %v at %s is masked: mask %v", a, clock, mask)
		}
		r := e.Step(a, obs, mask)
		steps = append(steps, r)
		if r.Terminated || r.Truncated {
			return steps, rec
		}
	}
}

// startEnv builds an env with New and resets it, failing the test on either error; it
// returns the env with its first observation and mask.
func startEnv(t testing.TB, ds *Dataset, cfg Config, opt Options, rng *rand.Rand) (*Env, []float32, []bool) {
	t.Helper()
	e, err := New(ds, cfg, opt, rng)
	if err != nil {
		t.Fatal(err)
	}
	obs := make([]float32, ObsDim)
	mask := make([]bool, NumActions)
	if err := e.Reset(obs, mask); err != nil {
		t.Fatal(err)
	}
	return e, obs, mask
}
