package env

import (
	"fmt"
	"testing"
)

// TestMaskTable checks the legal actions over the times of day the specification names
// (entry window 09:30 <= t < 16:59 - 5 min = 16:54) and the position states, by hand from
// the table of spec §4. Prices are in ticks; the entry is 100.
func TestMaskTable(t *testing.T) {
	w := entryWindow{from: hm(9, 30), to: hm(16, 59) - 5}
	states := []struct {
		name string
		s    maskState
		// Legal actions apart from BUY/SELL, which depend on the time: HOLD, BE, TRAIL on, off.
		manage [4]bool
	}{
		{"flat", maskState{}, [4]bool{true, false, false, false}},
		{"long in profit", maskState{side: 1, entry: 100, stop: 88, unrealized: 15}, [4]bool{true, true, false, false}},
		{"long at a loss", maskState{side: 1, entry: 100, stop: 88, unrealized: -15}, [4]bool{true, false, false, false}},
		{"long flat P&L", maskState{side: 1, entry: 100, stop: 88, unrealized: 0}, [4]bool{true, false, false, false}},
		{"long after break-even", maskState{side: 1, entry: 100, stop: 101, unrealized: 15}, [4]bool{true, false, true, false}},
		{"long stop exactly at entry", maskState{side: 1, entry: 100, stop: 100, unrealized: 15}, [4]bool{true, false, true, false}},
		{"long trailing on", maskState{side: 1, entry: 100, stop: 104, trail: true, unrealized: 40}, [4]bool{true, false, false, true}},
		{"long trailing on at a loss", maskState{side: 1, entry: 100, stop: 101, trail: true, unrealized: -5}, [4]bool{true, false, false, true}},
		{"short in profit", maskState{side: -1, entry: 100, stop: 112, unrealized: 15}, [4]bool{true, true, false, false}},
		{"short after break-even", maskState{side: -1, entry: 100, stop: 99, unrealized: 15}, [4]bool{true, false, true, false}},
		{"short trailing on", maskState{side: -1, entry: 100, stop: 96, trail: true, unrealized: 40}, [4]bool{true, false, false, true}},
	}
	times := []struct {
		clock Clock
		entry bool // BUY/SELL legal when flat
	}{
		{hm(9, 29), false},
		{hm(9, 30), true},
		{hm(16, 53), true},
		{hm(16, 54), false},
		{hm(16, 55), false},
		{hm(16, 59), false},
	}
	for _, st := range states {
		for _, tm := range times {
			t.Run(fmt.Sprintf("%s at %s", st.name, tm.clock), func(t *testing.T) {
				var got [NumActions]bool
				legalActions(&got, st.s, tm.clock, w)
				enter := tm.entry && st.s.side == 0
				want := [NumActions]bool{st.manage[0], enter, enter, st.manage[1], st.manage[2], st.manage[3]}
				if got != want {
					t.Errorf("got %v, want %v", got, want)
				}
				if !got[Hold] {
					t.Error("HOLD is not legal")
				}
			})
		}
	}
}

// TestMaskInObservation checks that the env's mask and the validity features 225/226 come
// from the same state: after a BUY at 09:30 the 09:31 decision may move the stop to
// break-even (unrealized at the 09:30 close is $15) and not enter again.
func TestMaskInObservation(t *testing.T) {
	ds := scenario(t, overrides{hm(9, 30): {24000, 24001, 23999, 24001, 100}})
	e, obs, mask := startEnv(t, ds, DefaultConfig(), Options{Sessions: []int{0}, Mode: ModeOrdered}, nil)
	want := []bool{true, true, true, false, false, false}
	if fmt.Sprint(mask) != fmt.Sprint(want) || obs[ObsCanEnter] != 1 || obs[ObsCanManage] != 0 {
		t.Errorf("09:30 flat: mask %v, can enter %v, can manage %v; want %v, 1, 0", mask, obs[ObsCanEnter], obs[ObsCanManage], want)
	}
	e.Step(Buy, obs, mask)
	want = []bool{true, false, false, true, false, false}
	if fmt.Sprint(mask) != fmt.Sprint(want) || obs[ObsCanEnter] != 0 || obs[ObsCanManage] != 1 {
		t.Errorf("09:31 long: mask %v, can enter %v, can manage %v; want %v, 0, 1", mask, obs[ObsCanEnter], obs[ObsCanManage], want)
	}
}

// TestEntryWindowSchedule walks whole sessions flat (HOLD at every decision) and checks,
// through the env rather than legalActions alone, that BUY and SELL are legal exactly at the
// decisions opening in [entry start, flatten time - no_entry_minutes), that the decisions run
// from 09:30 to 16:58 (16:59 is never a decision) and that ObsCanEnter follows the mask.
func TestEntryWindowSchedule(t *testing.T) {
	ds := scenario(t, nil)
	for _, tc := range []struct {
		noEntry  int
		lastOpen Clock // last decision at which an entry is legal
	}{
		{5, hm(16, 53)},
		{30, hm(16, 28)},
		{0, hm(16, 58)},
	} {
		t.Run(fmt.Sprintf("no_entry_minutes %d", tc.noEntry), func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.NoEntryMinutes = tc.noEntry
			e, obs, mask := startEnv(t, ds, cfg, Options{Sessions: []int{0}, Mode: ModeOrdered}, nil)
			var first, last Clock = -1, -1
			for {
				clock := ds.Bars.Clock[e.Bar()]
				if first < 0 {
					first = clock
				}
				last = clock
				want := clock >= hm(9, 30) && clock <= tc.lastOpen
				if mask[Buy] != want || mask[Sell] != want || !mask[Hold] {
					t.Errorf("flat at %s: HOLD %v BUY %v SELL %v, want true %v %v", clock, mask[Hold], mask[Buy], mask[Sell], want, want)
				}
				if obs[ObsCanEnter] != b2f(want) {
					t.Errorf("flat at %s: obs[%d] = %v, want %v", clock, ObsCanEnter, obs[ObsCanEnter], b2f(want))
				}
				if r := e.Step(Hold, obs, mask); r.Terminated || r.Truncated {
					break
				}
			}
			if first != hm(9, 30) || last != hm(16, 58) {
				t.Errorf("decisions from %s to %s, want 09:30 to 16:58", first, last)
			}
		})
	}
}
