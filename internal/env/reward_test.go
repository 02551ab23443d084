package env

import (
	"math"
	"testing"
)

// TestShapedReward walks the long break-even + trailing scenario of TestTradePnL with the
// apex-shaped reward and checks each step by hand: + (equity - 50,000)/10,000 while above
// the start, +0.1 for the legal break-even move, +0.05 for the legal trailing enable (the
// original paid it only for a failed one), +1 for the winning trade.
func TestShapedReward(t *testing.T) {
	ds := scenario(t, overrides{
		hm(9, 30): {24000, 24001, 23999, 24001, 100},
		hm(9, 31): {24001, 24003, 24001, 24003, 100},
		hm(9, 32): {24003, 24004, 24000.5, 24002, 100},
	})
	cfg := DefaultConfig()
	cfg.Reward = RewardApexShaped
	steps, _ := script(t, ds, cfg, map[Clock]Action{hm(9, 30): Buy, hm(9, 31): MoveStopToBE, hm(9, 32): EnableTrail})
	want := []float64{
		// 09:30: equity 49,997.50 + (24001 - 24000.25) x 20 = 50,012.50.
		12.5 / 10_000,
		// 09:31: break-even; equity 49,997.50 + 2.75 x 20 = 50,052.50.
		0.1 + 52.5/10_000,
		// 09:32: trailing on, stopped at 24000.75 for +2 ticks, net +5: equity 50,005.
		0.05 + 1 + 5.0/10_000,
		// 09:33, flat: the equity bonus only.
		5.0 / 10_000,
	}
	for i, w := range want {
		if math.Abs(steps[i].Reward-w) > 1e-12 {
			t.Errorf("step %d: reward %v, want %v", i, steps[i].Reward, w)
		}
	}
	// The same actions under the pnl reward: the equity change over $100, no bonuses.
	cfg.Reward = RewardPnL
	steps, _ = script(t, ds, cfg, map[Clock]Action{hm(9, 30): Buy, hm(9, 31): MoveStopToBE, hm(9, 32): EnableTrail})
	pnl := []float64{12.5 / 100, 40.0 / 100, -47.5 / 100, 0}
	for i, w := range pnl {
		if math.Abs(steps[i].Reward-w) > 1e-12 {
			t.Errorf("pnl step %d: reward %v, want %v", i, steps[i].Reward, w)
		}
	}
	// Marked equity 50,000 -> 50,012.50 -> 50,052.50 -> 50,005 (then flat): the largest fall
	// from a peak is 47.50.
	ep := steps[len(steps)-1].Info
	if ep.EpisodeTrades != 1 || ep.EpisodeWins != 1 || math.Abs(ep.EpisodeReward-0.05) > 1e-12 ||
		ep.EpisodeMaxDD != 47.5 || ep.EpisodePnL != 5 || ep.EpisodeLength != len(steps) {
		t.Errorf("episode totals: %d trades, %d wins, reward %v, max drawdown %v, P&L %v, length %d; want 1, 1, 0.05, 47.5, 5, %d",
			ep.EpisodeTrades, ep.EpisodeWins, ep.EpisodeReward, ep.EpisodeMaxDD, ep.EpisodePnL, ep.EpisodeLength, len(steps))
	}
}

// TestMaskedManagementEarnsNothing: a masked MOVE_SL_TO_BE (flat) earns the invalid-action
// reward and no break-even bonus.
func TestMaskedManagementEarnsNothing(t *testing.T) {
	ds := scenario(t, nil)
	cfg := DefaultConfig()
	cfg.Reward = RewardApexShaped
	e, obs, mask := startEnv(t, ds, cfg, Options{Sessions: []int{0}, Mode: ModeOrdered}, nil)
	r := e.Step(MoveStopToBE, obs, mask)
	if !r.Info.InvalidAction || r.Reward != -1 {
		t.Errorf("masked break-even: invalid %v, reward %v; want true, -1", r.Info.InvalidAction, r.Reward)
	}
	r = e.Step(Action(99), obs, mask)
	if !r.Info.InvalidAction || r.Reward != -1 || e.InvalidActions() != 2 {
		t.Errorf("action 99: invalid %v, reward %v, count %d; want true, -1, 2", r.Info.InvalidAction, r.Reward, e.InvalidActions())
	}
}
