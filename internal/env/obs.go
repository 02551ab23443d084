package env

import "math/bits"

// Units of the account features.
const (
	barsInTradeUnit = 390 // ObsBarsInTrade: bars in position / 390 (a regular trading day)
	recentTrades    = 10  // ObsWinRateLast10 looks at this many closed trades
)

// computeMask sets e.mask for a decision at a bar opening at clock, after bar L closed.
func (e *Env) computeMask(L int, clock Clock) {
	st := &e.st
	ms := maskState{side: st.Side, entry: st.Entry, stop: st.Stop, trail: st.Trail}
	if st.Side != 0 {
		ms.unrealized = e.unrealized(e.close[L])
	}
	legalActions(&e.mask, ms, clock, e.sessionWindow())
}

// sessionWindow is the entry window of the current session: e.window, the one of an
// ordinary day, or on an early close one that ends no_entry_minutes before the close.
func (e *Env) sessionWindow() entryWindow {
	w := e.window
	if f := e.ds.Sessions[e.sessions[e.st.Pos]].FlattenTime; f > 0 && f < e.ds.Instrument.FlattenTime {
		w.to = f - Clock(e.cfg.NoEntryMinutes)
	}
	return w
}

// write writes the observation of the coming decision (bars up to L closed, e.mask already
// computed for it) into obs and the mask into mask. Slices of the wrong length are left
// untouched (see Step).
//
// The market part is copied from the precomputed rows: the 11 window features of bars
// L-19..L and the 28 context features of bar L. The account part is written here.
func (e *Env) write(obs []float32, mask []bool, L int) {
	if len(mask) == NumActions {
		copy(mask, e.mask[:])
	}
	if len(obs) != e.obsDim {
		return
	}
	st := &e.st
	m := e.market
	// Fixed-size array assignments: the compiler moves 44 bytes inline instead of calling
	// memmove 20 times (the copy was half of a step's time).
	src := m[(L-(WindowBars-1))*MarketDim : (L+1)*MarketDim]
	for k := range WindowBars {
		*(*[BarFeatures]float32)(obs[k*BarFeatures:]) = *(*[BarFeatures]float32)(src[k*MarketDim+marketWindowOff:])
	}

	cL := e.close[L]
	atr := e.atr(L)
	var u float64
	if st.Side != 0 {
		u = e.unrealized(cL)
		obs[ObsPosition] = float32(st.Side)
		obs[ObsEntryRatio] = float32(e.price(st.Entry) / cL)
		obs[ObsStopDist] = float32(abs(e.price(st.Stop)-cL) / atr)
		obs[ObsTargetDist] = float32(abs(e.price(st.Target)-cL) / atr)
		obs[ObsBarsInTrade] = float32(float64(L+1-st.EntryBar) / barsInTradeUnit)
		obs[ObsHasPosition] = 1
	} else {
		obs[ObsPosition] = 0
		obs[ObsEntryRatio] = 1
		obs[ObsStopDist] = 0
		obs[ObsTargetDist] = 0
		obs[ObsBarsInTrade] = 0
		obs[ObsHasPosition] = 0
	}
	obs[ObsCanEnter] = b2f(e.mask[Buy])
	obs[ObsCanManage] = b2f(e.mask[MoveStopToBE] || e.mask[EnableTrail] || e.mask[DisableTrail])
	if e.obsDim == BaseObsDim {
		return
	}

	copy(obs[ObsADXSlope:ObsBreakdown+1], m[L*MarketDim+marketContextOff:(L+1)*MarketDim])
	obs[ObsUnrealized] = float32(u / e.rewardUnit)
	obs[ObsThresholdRoom] = float32((st.Balance + u - st.Threshold) / e.plan.TrailingAmount)
	obs[ObsConsecutiveLosses] = float32(st.LossRun)
	if st.RecentN == 0 {
		obs[ObsWinRateLast10] = 0.5
	} else {
		obs[ObsWinRateLast10] = float32(float64(bits.OnesCount16(st.Recent)) / float64(st.RecentN))
	}
	switch {
	case st.Side == 0:
		obs[ObsMAEMFERatio] = 0
	case st.MFE == 0:
		obs[ObsMAEMFERatio] = 1
	default:
		obs[ObsMAEMFERatio] = float32(-st.MAE / st.MFE)
	}
}

func b2f(b bool) float32 {
	if b {
		return 1
	}
	return 0
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
