package env

// Dimensions of the observation and action spaces. They are defined once, here; every other
// package receives them as ints.
const (
	// ObsDim is the length of a Phase 3 observation: the Phase 2 block plus the context block.
	ObsDim = 261
	// BaseObsDim is the length of a Phase 2 observation, the first BaseObsDim floats of ObsDim.
	BaseObsDim = 228
	// ContextDim is the number of Phase 3 context features (indices BaseObsDim..ObsDim-1).
	ContextDim = ObsDim - BaseObsDim
	// NumActions is the size of the discrete action space.
	NumActions = 6
	// WindowBars is the number of closed bars in the observation window (bars L-19..L).
	WindowBars = 20
	// BarFeatures is the number of features per window bar.
	BarFeatures = 11
	// WindowDim is the length of the window block, indices 0..WindowDim-1.
	WindowDim = WindowBars * BarFeatures
)

// Action is one of the NumActions discrete actions.
type Action int32

// The actions, with the ids Phase 2 models were trained with.
const (
	Hold         Action = 0
	Buy          Action = 1
	Sell         Action = 2
	MoveStopToBE Action = 3
	EnableTrail  Action = 4
	DisableTrail Action = 5
)

var actionNames = [NumActions]string{"HOLD", "BUY", "SELL", "MOVE_SL_TO_BE", "ENABLE_TRAIL", "DISABLE_TRAIL"}

// String returns the action's name as in the specification (HOLD, BUY, ...).
func (a Action) String() string {
	if a < 0 || int(a) >= NumActions {
		return "Action(?)"
	}
	return actionNames[a]
}

// Per-bar window features: index of feature f of window bar k (k = 0 oldest .. 19 = L) is
// k*BarFeatures + f.
const (
	FeatClose      = 0  // close price
	FeatVolume     = 1  // volume, contracts
	FeatSMA5       = 2  // SMA5 of close
	FeatSMA20      = 3  // SMA20 of close
	FeatRSI14      = 4  // RSI14, 0..100, simple means
	FeatMACD       = 5  // EMA12 - EMA26 of close
	FeatMomentum10 = 6  // c[j]/c[j-10]
	FeatATR14      = 7  // ATR14, price points
	FeatSessionPos = 8  // (hour + minute/60 - 9.5)/7.4833 of the bar's open time
	FeatSinceEntry = 9  // minutes from entry start to the bar's open / 449
	FeatToFlatten  = 10 // minutes from the bar's open to the flatten time / 449
)

// Account and validity features of the Phase 2 block.
const (
	ObsPosition    = 220 // +1 long, -1 short, 0 flat
	ObsEntryRatio  = 221 // entry price / c[L]; 1 when flat
	ObsStopDist    = 222 // |stop - c[L]| / ATR14[L]; 0 when flat
	ObsTargetDist  = 223 // |target - c[L]| / ATR14[L]; 0 when flat
	ObsBarsInTrade = 224 // bars in position / 390; 0 when flat
	ObsCanEnter    = 225 // mask[BUY] of the coming decision
	ObsCanManage   = 226 // any of mask[3..5]
	ObsHasPosition = 227 // in position
)

// Context (Phase 3) features, indices BaseObsDim..ObsDim-1.
const (
	ObsADXSlope          = 228
	ObsVWAPDistance      = 229
	ObsVolatilityRegime  = 230
	ObsVolumeRegime      = 231
	ObsMomentum20        = 232
	ObsMomentum60        = 233
	ObsEfficiencyRatio   = 234
	ObsSpreadRatio       = 235
	ObsSessionTrend      = 236
	ObsMarketRegime      = 237
	ObsSMA50Slope        = 238
	ObsSMA200Slope       = 239
	ObsRSI15             = 240
	ObsRSI60             = 241
	ObsVolumeRatio5      = 242
	ObsVolumeRatio60     = 243
	ObsRealizedVol60     = 244
	ObsPriceVsSupport    = 245
	ObsHigherHigh        = 246
	ObsLowerLow          = 247
	ObsHigherLow         = 248
	ObsLowerHigh         = 249
	ObsDoubleTop         = 250
	ObsDoubleBottom      = 251
	ObsSupport20         = 252
	ObsResistance20      = 253
	ObsBreakout          = 254
	ObsBreakdown         = 255
	ObsUnrealized        = 256
	ObsThresholdRoom     = 257
	ObsConsecutiveLosses = 258
	ObsWinRateLast10     = 259
	ObsMAEMFERatio       = 260
)

// MarketContextDim is the number of context features that depend only on bars
// (ObsADXSlope..ObsBreakdown); they are precomputed per bar like the window features.
const MarketContextDim = ObsBreakdown - ObsADXSlope + 1
