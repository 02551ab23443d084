package env

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestNewErrors(t *testing.T) {
	ds := randomWalkDays(t, 2, 31)
	rng := rand.New(rand.NewPCG(1, 1))
	bad := DefaultConfig()
	bad.Plan = "40k"
	late := DefaultConfig()
	late.WarmupBars = 5000
	cases := []struct {
		name string
		ds   *Dataset
		cfg  Config
		opt  Options
		rng  *rand.Rand
		want string
	}{
		{"nil dataset", nil, DefaultConfig(), Options{}, rng, "env: nil dataset"},
		{"plan", ds, bad, Options{}, rng, `plan must be one of 25k, 50k, 75k, 100k, 150k, 250k, 300k, got "40k"`},
		{"observation size", ds, DefaultConfig(), Options{ObsDim: 100}, rng, "observation size must be 261 (Phase 3) or 228 (Phase 2), got 100"},
		{"session out of range", ds, DefaultConfig(), Options{Sessions: []int{0, 2}}, rng, "session 2 out of range [0, 2)"},
		{"no generator", ds, DefaultConfig(), Options{Mode: ModeRandom}, nil, "ModeRandom needs a generator"},
		{"no warm session", ds, late, Options{Mode: ModeRandom}, rng, "no training session has warmup_bars = 5000"},
		{"mode", ds, DefaultConfig(), Options{Mode: 7}, rng, "unknown mode 7"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.ds, tc.cfg, tc.opt, tc.rng)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
			if tc.name == "no warm session" && !errors.Is(err, ErrTooFewBars) {
				t.Errorf("got %v, want it to wrap ErrTooFewBars (the CLI's data error, exit 3)", err)
			}
		})
	}
	// A session without a bar in the entry window cannot be traded.
	in := ds.Instrument
	b := Bars{Time: ds.Bars.Time[:30], Open: ds.Bars.Open[:30], High: ds.Bars.High[:30], Low: ds.Bars.Low[:30],
		Close: ds.Bars.Close[:30], Volume: ds.Bars.Volume[:30]} // 08:30..08:59 only
	early, err := NewDataset("early", in, b)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(early, DefaultConfig(), Options{Mode: ModeContinuous}, nil); err == nil || !strings.Contains(err.Error(), "none of the 1 sessions given can be traded") {
		t.Errorf("untradable data: got %v", err)
	}
}

// TestOrderedCycles: ModeOrdered walks the sessions in order, one per episode, and cycles.
func TestOrderedCycles(t *testing.T) {
	ds := randomWalkDays(t, 3, 32)
	e, err := New(ds, DefaultConfig(), Options{Sessions: []int{2, 0, 1}, Mode: ModeOrdered}, nil)
	if err != nil {
		t.Fatal(err)
	}
	obs := make([]float32, ObsDim)
	mask := make([]bool, NumActions)
	var got []int
	for range 4 {
		if err := e.Reset(obs, mask); err != nil {
			t.Fatal(err)
		}
		got = append(got, e.Session())
		if e.Bar() != ds.Sessions[e.Session()].EntryBar {
			t.Errorf("episode starts at bar %d, want the entry bar %d", e.Bar(), ds.Sessions[e.Session()].EntryBar)
		}
		for {
			if r := e.Step(Hold, obs, mask); r.Terminated || r.Truncated {
				if r.Truncated || r.Info.EpisodeLength != 449 {
					t.Errorf("episode ended truncated %v after %d steps, want terminated after 449 (09:30..16:58)", r.Truncated, r.Info.EpisodeLength)
				}
				break
			}
		}
	}
	if want := []int{2, 0, 1, 2}; !equalInts(got, want) {
		t.Errorf("sessions %v, want %v", got, want)
	}
}

// TestRandomTruncation: a 3-session episode drawn at the last sessions runs out of data and
// is truncated, not terminated; it jumps from each flatten bar to the next entry bar.
func TestRandomTruncation(t *testing.T) {
	ds := randomWalkDays(t, 3, 33)
	cfg := DefaultConfig()
	cfg.WarmupBars = 60
	cfg.EpisodeSessions = 3
	e, err := New(ds, cfg, Options{Sessions: []int{1, 2}, Mode: ModeRandom}, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	obs := make([]float32, ObsDim)
	mask := make([]bool, NumActions)
	for range 6 {
		if err := e.Reset(obs, mask); err != nil {
			t.Fatal(err)
		}
		first := e.Session()
		var bars []int
		for {
			bars = append(bars, e.Bar())
			r := e.Step(Hold, obs, mask)
			if r.Terminated || r.Truncated {
				if !r.Truncated || r.Terminated {
					t.Fatalf("episode from session %d: terminated %v truncated %v, want truncated only", first, r.Terminated, r.Truncated)
				}
				if want := 449 * (3 - first); r.Info.EpisodeLength != want {
					t.Errorf("episode from session %d: %d steps, want %d", first, r.Info.EpisodeLength, want)
				}
				break
			}
		}
		for k := 1; k < len(bars); k++ {
			if bars[k] != bars[k-1]+1 {
				prev, next := ds.Sessions[ds.Bars.Session[bars[k-1]]], ds.Sessions[ds.Bars.Session[bars[k]]]
				if bars[k-1] != prev.FlattenBar || bars[k] != next.EntryBar {
					t.Errorf("jump from bar %d to %d, want from a flatten bar to the next entry bar", bars[k-1], bars[k])
				}
			}
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
