package env

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestFlattenAcrossDST runs one continuous account over sessions on both sides of the 2024
// DST changes in New York (spring forward on Sunday 2024-03-10, fall back on Sunday
// 2024-11-03), buying at 09:30 every day. The bars never reach the stop or the target, so
// every trade must be flattened on the bar opening at 16:58 New York time (flat at 16:59),
// which is 21:58 UTC in winter and 20:58 UTC in summer.
func TestFlattenAcrossDST(t *testing.T) {
	dates := []string{"2024-03-08", "2024-03-11", "2024-11-01", "2024-11-04"}
	wantUTC := []string{"21:58", "20:58", "20:58", "21:58"}
	ds := simDays(t, dates, func(int, Clock) simBar { return flatBar(24000) })
	rec := &recorder{}
	e, obs, mask := startEnv(t, ds, DefaultConfig(), Options{Mode: ModeContinuous, Observer: rec}, nil)
	for {
		a := Hold
		if mask[Buy] {
			a = Buy
		}
		if r := e.Step(a, obs, mask); r.Terminated || r.Truncated {
			if !r.Terminated {
				t.Error("the backtest ended truncated, want terminated after the last session")
			}
			break
		}
	}
	ny := ds.Instrument.Zone
	if len(rec.trades) != len(dates) {
		t.Fatalf("got %d trades, want one per session (%d)", len(rec.trades), len(dates))
	}
	for i, tr := range rec.trades {
		exit := time.Unix(tr.ExitTime, 0)
		if got := exit.In(ny).Format("2006-01-02 15:04"); got != dates[i]+" 16:58" {
			t.Errorf("trade %d exits on the bar of %s New York, want %s 16:58", i, got, dates[i])
		}
		if got := exit.UTC().Format("15:04"); got != wantUTC[i] {
			t.Errorf("trade %d exits on the bar of %s UTC, want %s", i, got, wantUTC[i])
		}
		if tr.Exit != ExitFlatten {
			t.Errorf("trade %d exit %v, want flatten", i, tr.Exit)
		}
		// Flattened at close 24000 - 1 tick after a fill at 24000.25: -2 ticks, net -$15.
		if tr.Ticks != -2 || tr.Net != -15 {
			t.Errorf("trade %d: %d ticks, net %v; want -2, -15", i, tr.Ticks, tr.Net)
		}
	}
	var ends int
	for _, b := range rec.bars {
		if b.SessionEnd {
			ends++
			if b.Position != 0 {
				t.Errorf("session %d ends with position %d", b.Session, b.Position)
			}
		}
	}
	if ends != len(dates) {
		t.Errorf("%d session ends recorded, want %d", ends, len(dates))
	}
}

// TestNoPositionSurvivesASession runs random legal policies over many random-walk sessions
// in each mode and checks that the account is flat at the end of every session, that no
// trade spans two sessions and that no bar at or after the flatten time is ever stepped.
func TestNoPositionSurvivesASession(t *testing.T) {
	ds := randomWalkDays(t, 30, 3)
	cfg := DefaultConfig()
	cfg.WarmupBars = 60
	cfg.EpisodeSessions = 3
	policy := rand.New(rand.NewPCG(9, 9))
	for _, mode := range []Mode{ModeRandom, ModeOrdered, ModeContinuous} {
		t.Run(mode.String(), func(t *testing.T) {
			rec := &recorder{}
			e, obs, mask := startEnv(t, ds, cfg, Options{Mode: mode, Observer: rec}, rand.New(rand.NewPCG(1, 2)))
			var trades, ends int
			for range 20_000 {
				t0 := e.Bar()
				if ds.Bars.Clock[t0] >= ds.Instrument.FlattenTime {
					t.Fatalf("decision at bar %d opening %s, at or after the flatten time", t0, ds.Bars.Clock[t0])
				}
				r := e.Step(randomLegal(policy, mask), obs, mask)
				if r.Terminated && r.Truncated {
					t.Fatal("terminated and truncated both set")
				}
				if r.Terminated || r.Truncated {
					if err := e.Reset(obs, mask); err != nil {
						t.Fatal(err)
					}
				}
			}
			for _, b := range rec.bars {
				if b.SessionEnd {
					ends++
					if b.Position != 0 {
						t.Fatalf("session %d ended with position %d", b.Session, b.Position)
					}
				}
			}
			for _, tr := range rec.trades {
				trades++
				if ds.Bars.Session[indexOfTime(ds, tr.EntryTime)] != ds.Bars.Session[indexOfTime(ds, tr.ExitTime)] {
					t.Fatalf("trade %+v spans two sessions", tr)
				}
			}
			if trades < 100 || ends < 20 {
				t.Errorf("only %d trades and %d session ends: the test exercised too little", trades, ends)
			}
		})
	}
}

// randomLegal draws uniformly among the legal actions of mask.
func randomLegal(rng *rand.Rand, mask []bool) Action {
	var legal [NumActions]Action
	n := 0
	for a, ok := range mask {
		if ok {
			legal[n] = Action(a)
			n++
		}
	}
	return legal[rng.IntN(n)]
}
