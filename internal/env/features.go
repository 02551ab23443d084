package env

import "math"

// Offsets inside one bar's row of Dataset.Market: the BarFeatures window features (FeatClose
// .. FeatToFlatten) come first, then the MarketContextDim context features in observation
// order (ObsADXSlope .. ObsBreakdown), so that a step copies 11 floats per window bar and the
// 28 context floats of bar L.
const (
	marketWindowOff  = 0
	marketContextOff = BarFeatures
)

// marketCol returns the offset in a Market row of observation index obs (ObsADXSlope ..
// ObsBreakdown).
func marketCol(obs int) int { return marketContextOff + obs - ObsADXSlope }

// Constants of the time-of-day features. f8 keeps the original system's form (hours since
// 09:30 over 7.4833 hours) so that Phase 2 models trained on it line up; f9 and f10 use the
// instrument's own entry start and flatten time.
const (
	sessionPosOrigin = 9.5
	sessionPosScale  = 7.4833
)

// marketFeatures computes Dataset.Market: MarketDim float32 per bar, bar-major. Row j
// depends only on bars 0..j (the look-ahead tests rebuild it from prefixes), indicators run
// over the whole series across session boundaries, and an indicator without enough history
// takes the default documented in docs/observation.md. Every value is computed in float64
// and stored as float32.
//
// The rows are computed one bar at a time by marketState, the same code a bar stream runs as
// its bars arrive (BarStream), so that a dataset and a stream of the same bars hold the same
// features bit for bit.
func marketFeatures(ds *Dataset) []float32 {
	n := ds.Bars.Len()
	out := make([]float32, n*MarketDim)
	m := newMarketState(n)
	for j := range n {
		m.row(ds, j, out[j*MarketDim:(j+1)*MarketDim])
	}
	return out
}

// marketState is what the market features of a bar need from the bars before it: the
// indicator series that later rows read back (true range, ATR, DX, ADX, SMA50 and SMA200 for
// the slopes, log returns), the EMAs and the session's VWAP sums. row computes the rows in
// bar order, appending to the series.
//
// Windows are summed directly rather than with running sums: a few hundred operations per
// bar, and each row is then exactly the same whatever the length of the series it is
// computed in.
type marketState struct {
	tr, atr, dx, adx, sma50, sma200, logRet []float64 // per bar, up to the last row computed

	ema12, ema26 float64 // at the last row

	// Session VWAP and first open: the sums restart at the first bar of each session.
	cv, vsum, sessOpen float64
	curSession         int32
}

// newMarketState returns a state for a series of about n bars (the series grow past it).
func newMarketState(n int) *marketState {
	mk := func() []float64 { return make([]float64, 0, n) }
	return &marketState{
		tr: mk(), atr: mk(), dx: mk(), adx: mk(), sma50: mk(), sma200: mk(), logRet: mk(),
		curSession: -1,
	}
}

// row computes row j of the market features (MarketDim floats) into row from bars 0..j of
// ds. It must be called for j = 0, 1, 2, ... in turn.
func (m *marketState) row(ds *Dataset, j int, row []float32) {
	b := &ds.Bars
	c, h, l, v := b.Close, b.High, b.Low, b.Volume

	// The series later rows read back.
	tr := h[j] - l[j] // the first bar has no previous close
	if j > 0 {
		tr = max(tr, math.Abs(h[j]-c[j-1]), math.Abs(l[j]-c[j-1]))
	}
	m.tr = append(m.tr, tr)
	m.atr = append(m.atr, smaAt(m.tr, j, 14))
	m.sma50 = append(m.sma50, smaAt(c, j, 50))
	m.sma200 = append(m.sma200, smaAt(c, j, 200))
	m.dx = append(m.dx, dxAt(b, m.tr, j))
	adx := 0.0 // before adxFirst: never read
	if j >= adxFirst {
		adx = sum(m.dx[j-13:j+1]) / 14
	}
	m.adx = append(m.adx, adx)
	logRet := 0.0 // log(c[j]/c[j-1]); unused at bar 0
	if j > 0 {
		logRet = math.Log(c[j] / c[j-1])
	}
	m.logRet = append(m.logRet, logRet)
	if j == 0 {
		m.ema12, m.ema26 = c[0], c[0]
	} else {
		m.ema12 = emaNext(m.ema12, c[j], 12)
		m.ema26 = emaNext(m.ema26, c[j], 26)
	}
	atr, sma50, sma200 := m.atr, m.sma50, m.sma200

	span := float64(ds.Instrument.FlattenTime - ds.Instrument.EntryStart)
	if span <= 0 { // NewInstrument rejects this; keep the features finite regardless
		span = 1
	}
	entry := float64(ds.Instrument.EntryStart)
	flatten := float64(flattenAt(ds, j)) // an early close on such a day; span stays a regular day's

	// Window features.
	clock := float64(clockAt(b, j))
	row[FeatClose] = float32(c[j])
	row[FeatVolume] = float32(v[j])
	row[FeatSMA5] = float32(smaAt(c, j, 5))
	row[FeatSMA20] = float32(smaAt(c, j, 20))
	row[FeatRSI14] = float32(rsiAt(c, j, 14))
	row[FeatMACD] = float32(m.ema12 - m.ema26)
	row[FeatMomentum10] = float32(ratioBack(c, j, 10, 1))
	row[FeatATR14] = float32(atr[j])
	row[FeatSessionPos] = float32((clock/60 - sessionPosOrigin) / sessionPosScale)
	row[FeatSinceEntry] = float32((clock - entry) / span)
	row[FeatToFlatten] = float32((flatten - clock) / span)

	// Session state for VWAP and session trend.
	if s := sessionAt(b, j); s != m.curSession {
		m.curSession = s
		m.cv, m.vsum = 0, 0
		m.sessOpen = b.Open[j]
		if s >= 0 && int(s) < len(ds.Sessions) {
			m.sessOpen = b.Open[ds.Sessions[s].Start]
		}
	}
	m.cv += c[j] * v[j]
	m.vsum += v[j]

	ctx := func(obs int, x float64) { row[marketCol(obs)] = float32(x) }

	ctx(ObsADXSlope, 0)
	if j-5 >= adxFirst {
		ctx(ObsADXSlope, slope(m.adx, j, 5))
	}
	ctx(ObsVWAPDistance, 0)
	if m.vsum > 0 {
		ctx(ObsVWAPDistance, c[j]/(m.cv/m.vsum)-1)
	}
	ctx(ObsVolatilityRegime, 0)
	if j >= 19 && atr[j] > 0 {
		ctx(ObsVolatilityRegime, popStd(atr[j-19:j+1])/atr[j])
	}
	ctx(ObsVolumeRegime, volumeRatio(v, j, 20))
	ctx(ObsMomentum20, ratioBack(c, j, 20, 1)-1)
	ctx(ObsMomentum60, ratioBack(c, j, 60, 1)-1)
	ctx(ObsEfficiencyRatio, efficiency(c, j, 20))
	ctx(ObsSpreadRatio, (h[j]-l[j])/c[j])
	ctx(ObsSessionTrend, c[j]/m.sessOpen-1)
	ctx(ObsMarketRegime, 0)
	if j >= adxFirst {
		switch {
		case m.adx[j] > 25:
			ctx(ObsMarketRegime, 1)
		case m.adx[j] < 20:
			ctx(ObsMarketRegime, -1)
		}
	}
	ctx(ObsSMA50Slope, 0)
	if j-10 >= 49 {
		ctx(ObsSMA50Slope, slope(sma50, j, 10))
	}
	ctx(ObsSMA200Slope, 0)
	if j-20 >= 199 {
		ctx(ObsSMA200Slope, slope(sma200, j, 20))
	}
	ctx(ObsRSI15, rsiAt(c, j, 15))
	ctx(ObsRSI60, rsiAt(c, j, 60))
	ctx(ObsVolumeRatio5, volumeRatio(v, j, 5))
	ctx(ObsVolumeRatio60, volumeRatio(v, j, 60))
	ctx(ObsRealizedVol60, realizedVol(m.logRet, j, 60))

	lo20 := minOf(l[max(0, j-19) : j+1])
	hi20 := maxOf(h[max(0, j-19) : j+1])
	ctx(ObsPriceVsSupport, (c[j]-lo20)/c[j])

	ctx(ObsHigherHigh, 0)
	ctx(ObsLowerLow, 0)
	if j >= 5 {
		hi := maxOf(h[j-5 : j])
		switch {
		case h[j] > 1.001*hi:
			ctx(ObsHigherHigh, 1)
		case h[j] < 0.999*hi:
			ctx(ObsHigherHigh, -1)
		}
		lo := minOf(l[j-5 : j])
		switch {
		case l[j] < 0.999*lo:
			ctx(ObsLowerLow, 1)
		case l[j] > 1.001*lo:
			ctx(ObsLowerLow, -1)
		}
	}
	ctx(ObsHigherLow, 0)
	ctx(ObsLowerHigh, 0)
	if j >= 10 {
		m1, m2 := minOf(l[j-5:j]), minOf(l[j-10:j-5])
		if l[j] > 1.001*m1 && m1 > 1.001*m2 {
			ctx(ObsHigherLow, 1)
		}
		M1, M2 := maxOf(h[j-5:j]), maxOf(h[j-10:j-5])
		if h[j] < 0.999*M1 && M1 < 0.999*M2 {
			ctx(ObsLowerHigh, 1)
		}
	}
	ctx(ObsDoubleTop, 0)
	ctx(ObsDoubleBottom, 0)
	if j >= 39 {
		a, bb := h[j-19:j+1], h[j-39:j-19]
		if ma := maxOf(a); ma < 0.99*maxOf(bb) && sampleStd(a)/ma < 0.02 {
			ctx(ObsDoubleTop, 0.7)
		}
		a, bb = l[j-19:j+1], l[j-39:j-19]
		if ma := minOf(a); ma > 1.01*minOf(bb) && sampleStd(a)/ma < 0.02 {
			ctx(ObsDoubleBottom, 0.7)
		}
	}
	ctx(ObsSupport20, lo20/c[j])
	ctx(ObsResistance20, hi20/c[j])
	ctx(ObsBreakout, 0)
	ctx(ObsBreakdown, 0)
	if j >= 20 {
		if c[j] > 1.002*maxOf(h[j-20:j]) {
			ctx(ObsBreakout, 1)
		}
		if c[j] < 0.998*minOf(l[j-20:j]) {
			ctx(ObsBreakdown, 1)
		}
	}
}

// clockAt is bar j's open time of day; datasets built by hand in tests may leave Clock
// empty, in which case it is 0.
func clockAt(b *Bars, j int) Clock {
	if j < len(b.Clock) {
		return b.Clock[j]
	}
	return 0
}

// flattenAt is the flatten time of bar j's session: the calendar's early close on such a
// day, else (and in datasets built by hand without sessions) the instrument's.
func flattenAt(ds *Dataset, j int) Clock {
	if s := sessionAt(&ds.Bars, j); s >= 0 && int(s) < len(ds.Sessions) && ds.Sessions[s].FlattenTime > 0 {
		return ds.Sessions[s].FlattenTime
	}
	return ds.Instrument.FlattenTime
}

// sessionAt is bar j's session index, or -1 when Bars.Session is not filled.
func sessionAt(b *Bars, j int) int32 {
	if j < len(b.Session) {
		return b.Session[j]
	}
	return -1
}

// smaAt is the simple moving average of x over n values ending at j; before n values exist
// it is the mean of the values so far (a price-level feature has no neutral default, and 0
// would be an outlier for the normaliser).
func smaAt(x []float64, j, n int) float64 {
	lo := max(0, j-n+1)
	return sum(x[lo:j+1]) / float64(j+1-lo)
}

// emaNext is the exponential moving average with alpha = 2/(n+1) after value x, from the
// previous average prev (the series is seeded with its first value).
func emaNext(prev, x float64, n int) float64 {
	alpha := 2 / float64(n+1)
	return alpha*x + (1-alpha)*prev
}

// rsiAt is the relative strength index at bar j with simple means over n close-to-close
// changes, as the original system computed it: 100 - 100/(1 + G/(D + 1e-8)); 50 before n
// changes exist.
func rsiAt(c []float64, j, n int) float64 {
	if j < n {
		return 50
	}
	var g, d float64
	for k := j - n + 1; k <= j; k++ {
		if diff := c[k] - c[k-1]; diff > 0 {
			g += diff
		} else {
			d -= diff
		}
	}
	g /= float64(n)
	d /= float64(n)
	return 100 - 100/(1+g/(d+1e-8))
}

// adxFirst is the first bar with an ADX14: +DM and -DM need a previous bar (j >= 1), the DI
// means 14 of them (j >= 14), ADX the mean of 14 DX (j >= 27).
const adxFirst = 27

// dxAt is the DX of bar j of the original system's ADX14, with simple means (no Wilder
// smoothing and no "larger of the two" rule): +DI = 100 mean14(+DM)/mean14(TR), -DI likewise,
// DX = 100|+DI - -DI|/(+DI + -DI + 1e-8); ADX = mean14(DX). tr holds the true ranges up to j.
// Values before bar 14 are 0 and never read.
func dxAt(b *Bars, tr []float64, j int) float64 {
	if j < 14 {
		return 0
	}
	var pdm, mdm, trs float64
	for k := j - 13; k <= j; k++ {
		pdm += max(b.High[k]-b.High[k-1], 0)
		mdm += max(b.Low[k-1]-b.Low[k], 0)
		trs += tr[k]
	}
	var pdi, mdi float64
	if trs > 0 {
		pdi, mdi = 100*pdm/trs, 100*mdm/trs
	}
	return 100 * math.Abs(pdi-mdi) / (pdi + mdi + 1e-8)
}

// slope is (x[j] - x[j-p]) / p / |x[j]|, 0 when x[j] is 0.
func slope(x []float64, j, p int) float64 {
	if x[j] == 0 {
		return 0
	}
	return (x[j] - x[j-p]) / float64(p) / math.Abs(x[j])
}

// ratioBack is x[j]/x[j-k], def before bar k.
func ratioBack(x []float64, j, k int, def float64) float64 {
	if j < k {
		return def
	}
	return x[j] / x[j-k]
}

// volumeRatio is v[j] over the mean volume of the previous k bars; 1 before bar k or when
// that mean is 0.
func volumeRatio(v []float64, j, k int) float64 {
	if j < k {
		return 1
	}
	m := sum(v[j-k:j]) / float64(k)
	if m <= 0 {
		return 1
	}
	return v[j] / m
}

// efficiency is Kaufman's efficiency ratio over k bars: |c[j]-c[j-k]| over the sum of the k
// absolute changes; 0.5 before bar k or when the price did not move.
func efficiency(c []float64, j, k int) float64 {
	if j < k {
		return 0.5
	}
	var path float64
	for i := j - k + 1; i <= j; i++ {
		path += math.Abs(c[i] - c[i-1])
	}
	if path == 0 {
		return 0.5
	}
	return math.Abs(c[j]-c[j-k]) / path
}

// realizedVol is the sample standard deviation (n-1) of the k log returns ending at bar j
// (logRet[i] = log(c[i]/c[i-1])), times sqrt(k); 0 before bar k.
func realizedVol(logRet []float64, j, k int) float64 {
	if j < k {
		return 0
	}
	return sampleStd(logRet[j-k+1:j+1]) * math.Sqrt(float64(k))
}

func sum(x []float64) float64 {
	var s float64
	for _, v := range x {
		s += v
	}
	return s
}

func minOf(x []float64) float64 {
	m := x[0]
	for _, v := range x[1:] {
		m = min(m, v)
	}
	return m
}

func maxOf(x []float64) float64 {
	m := x[0]
	for _, v := range x[1:] {
		m = max(m, v)
	}
	return m
}

// popStd is the population standard deviation (divide by n), two-pass.
func popStd(x []float64) float64 {
	mean := sum(x) / float64(len(x))
	var ss float64
	for _, v := range x {
		ss += (v - mean) * (v - mean)
	}
	return math.Sqrt(ss / float64(len(x)))
}

// sampleStd is the sample standard deviation (divide by n-1), two-pass.
func sampleStd(x []float64) float64 {
	mean := sum(x) / float64(len(x))
	var ss float64
	for _, v := range x {
		ss += (v - mean) * (v - mean)
	}
	return math.Sqrt(ss / float64(len(x)-1))
}
