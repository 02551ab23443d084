package env

import (
	"bytes"
	"hash/fnv"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

// hashPolicy is a deterministic policy of the observation alone: a legal action picked by
// a hash of the observation's bits, BUY and SELL preferred while flat, so that a backtest
// opens, manages and closes many positions. Two runs that see the same observations and
// masks take the same actions.
func hashPolicy(obs []float32, mask []bool) Action {
	h := fnv.New64a()
	var b [4]byte
	for _, x := range obs {
		u := math.Float32bits(x)
		b[0], b[1], b[2], b[3] = byte(u), byte(u>>8), byte(u>>16), byte(u>>24)
		h.Write(b[:])
	}
	k := h.Sum64()
	if mask[Buy] && k%7 == 0 {
		return Action(1 + k/7%2) // BUY or SELL
	}
	if a := Action(k % NumActions); mask[a] && a != Buy && a != Sell {
		return a
	}
	return Hold
}

// decision is one decision of a run: the bar it acts at, its observation and mask, and the
// action taken.
type decision struct {
	bar    int
	obs    []float32
	mask   []bool
	action Action
}

// backtestRun runs hashPolicy over every session of ds as one continuous account.
func backtestRun(t *testing.T, ds *Dataset, cfg Config, obsDim int) ([]decision, *recorder) {
	t.Helper()
	rec := &recorder{}
	e, err := New(ds, cfg, Options{Mode: ModeContinuous, ObsDim: obsDim, Observer: rec}, nil)
	if err != nil {
		t.Fatal(err)
	}
	obs, mask := make([]float32, obsDim), make([]bool, NumActions)
	if err := e.Reset(obs, mask); err != nil {
		t.Fatal(err)
	}
	var ds2 []decision
	for {
		a := hashPolicy(obs, mask)
		ds2 = append(ds2, decision{e.Bar(), append([]float32(nil), obs...), append([]bool(nil), mask...), a})
		if r := e.Step(a, obs, mask); r.Terminated || r.Truncated {
			return ds2, rec
		}
	}
}

// liveRun gives the lines of text to a Live account with hashPolicy deciding; a decision
// taken after bar j is recorded as acting at bar j+1 (the next bar of the dataset, once it
// arrived). It returns the decisions, the trades and the records of the stepped bars.
func liveRun(t *testing.T, text string, inst Instrument, cfg Config, obsDim int) ([]decision, []Trade, []BarRecord, *Live) {
	t.Helper()
	l, err := NewLive("stdin", inst, cfg, obsDim)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if err := l.Header(lines[0]); err != nil {
		t.Fatal(err)
	}
	var decs []decision
	var trades []Trade
	var bars []BarRecord
	for _, line := range lines[1:] {
		lb, err := l.Add(line)
		if err != nil {
			t.Fatalf("line %d: %v", lb.Line, err)
		}
		trades = append(trades, lb.Trades...)
		if lb.Stepped {
			bars = append(bars, lb.Record)
		}
		if lb.Due {
			a := hashPolicy(l.Obs(), l.Mask())
			decs = append(decs, decision{lb.Bar + 1, append([]float32(nil), l.Obs()...), append([]bool(nil), l.Mask()...), a})
			if err := l.Decide(a); err != nil {
				t.Fatal(err)
			}
		} else if lb.Reason == "" && lb.Bar >= 0 {
			t.Fatalf("line %d: no decision and no reason", lb.Line)
		}
	}
	return decs, trades, bars, l
}

// csvText writes ds as a bar file.
func csvText(t *testing.T, ds *Dataset) string {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteCSV(&buf, ds); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// TestLiveMatchesBacktest: bars given one line at a time to a Live account give the
// backtest's decisions (the same bars, observations bit for bit, masks and actions), its
// trades and its account after every bar, in Phase 3 and Phase 2 views, on a small plan
// so that the account also breaches and trades on after the breach.
func TestLiveMatchesBacktest(t *testing.T) {
	inst := nq(t)
	ds, err := Synthesize(inst, 12, 5)
	if err != nil {
		t.Fatal(err)
	}
	text := csvText(t, ds)
	cfg := DefaultConfig()
	cfg.Plan, cfg.Contracts = "25k", 4
	for _, obsDim := range []int{ObsDim, BaseObsDim} {
		want, rec := backtestRun(t, ds, cfg, obsDim)
		got, trades, bars, l := liveRun(t, text, inst, cfg, obsDim)
		sameDecisions(t, got, want)
		if !reflect.DeepEqual(trades, rec.trades) {
			t.Errorf("trades differ:\nlive     %v\nbacktest %v", trades, rec.trades)
		}
		if !reflect.DeepEqual(bars, rec.bars) {
			t.Errorf("bar records differ (%d live, %d backtest)", len(bars), len(rec.bars))
		}
		breached := false
		for _, b := range rec.bars {
			breached = breached || b.Breach
		}
		if len(rec.trades) < 20 || !breached {
			t.Fatalf("%d trades, breach %v: the test wants many trades and a breach", len(rec.trades), breached)
		}
		if l.InvalidActions() != 0 {
			t.Errorf("%d decisions masked at their bar", l.InvalidActions())
		}
	}
}

// TestLiveMissingBars: with minutes missing inside sessions and sessions without their
// 16:58 bar, the trades are still the backtest's: a decision taken for a missing minute
// applies to the next bar, and the position of a session that ends at 16:57 is flattened at
// that bar's close when the next bar shows that the session ended. The only extra
// decisions are those taken after a 16:57 bar for a 16:58 bar that never came.
func TestLiveMissingBars(t *testing.T) {
	inst := nq(t)
	full, err := Synthesize(inst, 10, 9)
	if err != nil {
		t.Fatal(err)
	}
	var keep []int
	for j := range full.Bars.Len() {
		tm := time.Unix(full.Bars.Time[j], 0).In(inst.Zone)
		clock := full.Bars.Clock[j]
		switch {
		case clock == inst.FlattenTime-1 && tm.Day()%2 == 0: // no 16:58 bar on even days
		case clock >= 10*60 && clock < 16*60 && j%37 == 0: // a missing minute now and then
		default:
			keep = append(keep, j)
		}
	}
	b := Bars{}
	for _, j := range keep {
		fb := &full.Bars
		b.Time, b.Open, b.High, b.Low = append(b.Time, fb.Time[j]), append(b.Open, fb.Open[j]), append(b.High, fb.High[j]), append(b.Low, fb.Low[j])
		b.Close, b.Volume = append(b.Close, fb.Close[j]), append(b.Volume, fb.Volume[j])
	}
	ds, err := NewDataset("gappy", inst, b)
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	want, rec := backtestRun(t, ds, cfg, ObsDim)
	got, trades, _, _ := liveRun(t, csvText(t, ds), inst, cfg, ObsDim)
	var extra, matched []decision
	for _, d := range got {
		if d.bar < ds.Bars.Len() && ds.Bars.Session[d.bar] == ds.Bars.Session[d.bar-1] && ds.Bars.Clock[d.bar] < inst.FlattenTime {
			matched = append(matched, d)
		} else {
			extra = append(extra, d)
		}
	}
	sameDecisions(t, matched, want)
	flattens := 0
	for _, s := range ds.Sessions {
		if ds.Bars.Clock[s.FlattenBar] != inst.FlattenTime-1 {
			flattens++
		}
	}
	if len(extra) != flattens || flattens == 0 {
		t.Errorf("%d extra decisions, want one per session without its 16:58 bar (%d)", len(extra), flattens)
	}
	for _, d := range extra {
		if c := ds.Bars.Clock[d.bar-1]; c != inst.FlattenTime-2 {
			t.Errorf("extra decision after the %s bar, want only after 16:57", c)
		}
	}
	if !reflect.DeepEqual(trades, rec.trades) {
		t.Errorf("trades differ:\nlive     %v\nbacktest %v", trades, rec.trades)
	}
	if len(rec.trades) < 10 {
		t.Fatalf("%d trades: the test wants more", len(rec.trades))
	}
}

// sameDecisions fails unless got and want are the same decisions in order.
func sameDecisions(t *testing.T, got, want []decision) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d decisions, backtest %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.bar != w.bar || g.action != w.action || !reflect.DeepEqual(g.mask, w.mask) {
			t.Fatalf("decision %d: live bar %d %v mask %v, backtest bar %d %v mask %v", i, g.bar, g.action, g.mask, w.bar, w.action, w.mask)
		}
		for k := range w.obs {
			if math.Float32bits(g.obs[k]) != math.Float32bits(w.obs[k]) {
				t.Fatalf("decision %d (bar %d): observation %d: live %v, backtest %v", i, w.bar, k, g.obs[k], w.obs[k])
			}
		}
	}
}

// TestLiveCalendar: around 2024-07-04 (an early close at 13:15 New York on July 3, no
// session on July 4) a Live account flattens at the early close's 13:14 bar and takes no
// entry in its last no_entry_minutes, as the backtest does; bars streamed on the holiday
// are dropped (reason holiday) and change nothing.
func TestLiveCalendar(t *testing.T) {
	inst := nq(t)
	full, err := Synthesize(inst, 132, 13)
	if err != nil {
		t.Fatal(err)
	}
	var b Bars
	early := -1
	for s, sess := range full.Sessions {
		if sess.Date < "2024-06-24" || sess.Date > "2024-07-12" {
			continue
		}
		if sess.Date == "2024-07-03" {
			early = s
		}
		fb := &full.Bars
		for j := sess.Start; j < sess.End; j++ {
			b.Time, b.Open, b.High, b.Low = append(b.Time, fb.Time[j]), append(b.Open, fb.Open[j]), append(b.High, fb.High[j]), append(b.Low, fb.Low[j])
			b.Close, b.Volume = append(b.Close, fb.Close[j]), append(b.Volume, fb.Volume[j])
		}
	}
	if early < 0 || full.Sessions[early].FlattenTime != 13*60+15 {
		t.Fatal("the synthetic data has no early close on 2024-07-03")
	}
	ds, err := NewDataset("july", inst, b)
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	want, rec := backtestRun(t, ds, cfg, ObsDim)

	// Bars on the holiday, inserted where they belong.
	text := csvText(t, ds)
	hol := "2024-07-04T14:00:00Z,24000,24001,23999,24000,5\n2024-07-04T14:01:00Z,24000,24001,23999,24000,5\n"
	at := strings.Index(text, "2024-07-05T")
	text = text[:at] + hol + text[at:]
	got, trades, bars, _ := liveRun(t, text, inst, cfg, ObsDim)
	sameDecisions(t, got, want)
	if !reflect.DeepEqual(trades, rec.trades) || !reflect.DeepEqual(bars, rec.bars) {
		t.Errorf("trades or bar records differ from the backtest's")
	}
	flattened := false
	for _, tr := range rec.trades {
		tm := time.Unix(tr.ExitTime, 0).In(inst.Zone)
		if tm.Format(time.DateOnly) == "2024-07-03" && tr.Exit == ExitFlatten {
			flattened = tm.Hour() == 13 && tm.Minute() == 14
		}
	}
	decided := 0
	for _, d := range got {
		if ds.Sessions[ds.Bars.Session[d.bar]].Date != "2024-07-03" {
			continue
		}
		decided++
		if c := ds.Bars.Clock[d.bar]; c >= 13*60+15 || (d.mask[Buy] && c >= 13*60+15-Clock(cfg.NoEntryMinutes)) {
			t.Errorf("a decision at %s on the early close, BUY legal: %v", c, d.mask[Buy])
		}
	}
	if decided == 0 {
		t.Error("no decision on the early close")
	}
	if !flattened {
		t.Log("no position was open at the early close's flatten bar; the decisions still match")
	}

	// The holiday's lines are answered as dropped.
	l, err := NewLive("stdin", inst, cfg, ObsDim)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Header(header); err != nil {
		t.Fatal(err)
	}
	lb, err := l.Add(strings.TrimSuffix(strings.SplitN(hol, "\n", 2)[0], "\n"))
	if err != nil || lb.Bar != -1 || !lb.Holiday || lb.Reason != ReasonHoliday {
		t.Errorf("a bar on the holiday: %+v, %v", lb, err)
	}
}
