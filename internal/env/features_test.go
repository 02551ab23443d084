package env

import (
	"math"
	"testing"
)

// oneDay builds a single 510-bar session (08:30..16:59) whose bar j is bar(j).
func oneDay(t *testing.T, bar func(j int) simBar) *Dataset {
	t.Helper()
	return simDays(t, []string{"2024-03-05"}, func(_ int, clock Clock) simBar { return bar(int(clock) - (8*60 + 30)) })
}

// feat reads feature col (FeatClose.. or an observation index ObsADXSlope..ObsBreakdown) of
// bar j.
func feat(ds *Dataset, j, col int) float64 {
	if col >= ObsADXSlope {
		col = marketCol(col)
	}
	return float64(ds.Market[j*MarketDim+col])
}

type featCase struct {
	name string
	j    int
	col  int
	want float64
}

func checkFeatures(t *testing.T, ds *Dataset, cases []featCase) {
	t.Helper()
	for _, tc := range cases {
		got := feat(ds, tc.j, tc.col)
		// Values are stored as float32: compare within float32 rounding of the expectation.
		if tol := 2e-7*math.Abs(tc.want) + 1e-9; math.Abs(got-tc.want) > tol {
			t.Errorf("%s (bar %d): got %.9g, want %.9g", tc.name, tc.j, got, tc.want)
		}
	}
}

// TestFeaturesTrend checks every feature on a steady up-trend, where each has a closed form:
// c[j] = 100 + 0.25 j, o[j] = c[j-1], h = c + 0.5, l = o - 0.5, volume 10. Then every true
// range after the first is h - l = 1.25 (the first, without a previous close, 1.0), every
// close change is +0.25, +DM = 0.25 and -DM = 0.
func TestFeaturesTrend(t *testing.T) {
	c := func(j int) float64 { return 100 + 0.25*float64(j) }
	ds := oneDay(t, func(j int) simBar {
		o := c(j - 1)
		if j == 0 {
			o = 100
		}
		return simBar{o, c(j) + 0.5, o - 0.5, c(j), 10}
	})
	const j = 300 // 13:30
	cj := c(j)
	// EMA_n of a line of slope s lags it by s(1-alpha)/alpha = s(n-1)/2 once the start has
	// decayed ((1-2/27)^300 ~ 1e-10): MACD -> 0.25 x (25/2 - 11/2) = 1.75.
	rsiUp := 100 - 100/(1+0.25/1e-8) // G = 0.25, D = 0
	cases := []featCase{
		{"close", j, FeatClose, cj},
		{"volume", j, FeatVolume, 10},
		{"SMA5 = c - 0.25 x 2", j, FeatSMA5, cj - 0.5},
		{"SMA20 = c - 0.25 x 9.5", j, FeatSMA20, cj - 2.375},
		{"RSI14", j, FeatRSI14, rsiUp},
		{"MACD", j, FeatMACD, 1.75},
		{"momentum10", j, FeatMomentum10, cj / c(j-10)},
		{"ATR14", j, FeatATR14, 1.25},
		{"session position 13:30", j, FeatSessionPos, (13.5 - 9.5) / 7.4833},
		{"minutes since 09:30", j, FeatSinceEntry, 240.0 / 449},
		{"minutes to 16:59", j, FeatToFlatten, 209.0 / 449},
		// ADX: +DI = 100 x 0.25/1.25 = 20, -DI = 0, DX = 100 x 20/(20 + 1e-8), constant.
		{"adx slope", j, ObsADXSlope, 0},
		{"market regime (ADX ~ 100 > 25)", j, ObsMarketRegime, 1},
		// VWAP with equal volumes is the mean close since 08:30: (c[0] + c[j])/2.
		{"vwap distance", j, ObsVWAPDistance, cj/((c(0)+cj)/2) - 1},
		{"volatility regime (ATR constant)", j, ObsVolatilityRegime, 0},
		{"volume regime", j, ObsVolumeRegime, 1},
		{"momentum 20", j, ObsMomentum20, cj/c(j-20) - 1},
		{"momentum 60", j, ObsMomentum60, cj/c(j-60) - 1},
		{"efficiency ratio (straight line)", j, ObsEfficiencyRatio, 1},
		{"spread ratio", j, ObsSpreadRatio, 1.25 / cj},
		{"session trend (first open 100)", j, ObsSessionTrend, cj/100 - 1},
		{"SMA50 slope: 0.25 per bar over SMA50 = c - 6.125", j, ObsSMA50Slope, 0.25 / (cj - 6.125)},
		{"SMA200 slope: 0.25 per bar over SMA200 = c - 24.875", j, ObsSMA200Slope, 0.25 / (cj - 24.875)},
		{"RSI15", j, ObsRSI15, rsiUp},
		{"RSI60", j, ObsRSI60, rsiUp},
		{"volume ratio 5", j, ObsVolumeRatio5, 1},
		{"volume ratio 60", j, ObsVolumeRatio60, 1},
		// The 20-bar low is l[j-19] = c[j-20] - 0.5 = c - 5.5; the high h[j] = c + 0.5.
		{"price vs support", j, ObsPriceVsSupport, 5.5 / cj},
		// Near c = 175 a tick of 0.25 is more than 0.1%: the high is above 1.001 x the
		// previous 5 highs (h - 0.25), the low l = c[j-1] - 0.5 is 1.25 above the previous
		// 5 lows' minimum (so "lower low" is -1), and the lows step up in both 5-bar blocks.
		{"higher high", j, ObsHigherHigh, 1},
		{"lower low", j, ObsLowerLow, -1},
		{"higher low", j, ObsHigherLow, 1},
		{"lower high", j, ObsLowerHigh, 0},
		{"double top (highs rise)", j, ObsDoubleTop, 0},
		// The original's double-bottom rule fires on a steady rise: min A = l[j-19] is 5
		// above min B = l[j-39] (> 1% of ~170) and the 20 lows, evenly spaced 0.25 apart,
		// have std 0.25 x sqrt(20 x 21/12) = 1.48, under 2% of ~170.
		{"double bottom (orig's rule)", j, ObsDoubleBottom, 0.7},
		{"support 20", j, ObsSupport20, (cj - 5.5) / cj},
		{"resistance 20", j, ObsResistance20, (cj + 0.5) / cj},
		{"breakout", j, ObsBreakout, 0},
		{"breakdown", j, ObsBreakdown, 0},
	}
	checkFeatures(t, ds, cases)
	// Realized volatility: the log returns log(c[i]/c[i-1]) are known; their sample std.
	var r [60]float64
	var mean float64
	for i := range r {
		k := j - 59 + i
		r[i] = math.Log(c(k) / c(k-1))
		mean += r[i] / 60
	}
	var ss float64
	for _, x := range r {
		ss += (x - mean) * (x - mean)
	}
	checkFeatures(t, ds, []featCase{{"realized vol 60", j, ObsRealizedVol60, math.Sqrt(ss/59) * math.Sqrt(60)}})
}

// TestFeaturesDefaults checks the values before enough history (spec §9 defaults) at the
// first bars of a dataset.
func TestFeaturesDefaults(t *testing.T) {
	ds := oneDay(t, func(j int) simBar { return simBar{100, 101, 99, 100 + float64(j%2), 10} })
	cases := []featCase{
		{"RSI14 before 14 changes", 13, FeatRSI14, 50},
		{"momentum10 before bar 10", 9, FeatMomentum10, 1},
		// Price-level averages use the bars available: SMA5 of closes 100, 101 at bar 1.
		{"SMA5 at bar 1", 1, FeatSMA5, 100.5},
		{"ATR14 at bar 0 = h - l", 0, FeatATR14, 2},
		{"adx slope before ADX", 31, ObsADXSlope, 0},
		{"market regime before ADX", 26, ObsMarketRegime, 0},
		{"volatility regime before 20 ATRs", 18, ObsVolatilityRegime, 0},
		{"volume regime before 20 bars", 19, ObsVolumeRegime, 1},
		{"momentum 20", 19, ObsMomentum20, 0},
		{"momentum 60", 59, ObsMomentum60, 0},
		{"efficiency ratio", 19, ObsEfficiencyRatio, 0.5},
		{"SMA50 slope", 58, ObsSMA50Slope, 0},
		{"SMA200 slope", 218, ObsSMA200Slope, 0},
		{"RSI15", 14, ObsRSI15, 50},
		{"RSI60", 59, ObsRSI60, 50},
		{"volume ratio 5", 4, ObsVolumeRatio5, 1},
		{"volume ratio 60", 59, ObsVolumeRatio60, 1},
		{"realized vol", 59, ObsRealizedVol60, 0},
		{"higher high", 4, ObsHigherHigh, 0},
		{"higher low", 9, ObsHigherLow, 0},
		{"double top", 38, ObsDoubleTop, 0},
		{"breakout", 19, ObsBreakout, 0},
	}
	checkFeatures(t, ds, cases)
	// Alternating closes 100, 101: at bar 14 the 14 changes are 7 x +1 and 7 x -1, so
	// G = D = 0.5 and RSI = 100 - 100/(1 + 0.5/(0.5 + 1e-8)).
	checkFeatures(t, ds, []featCase{{"RSI14 with G = D", 14, FeatRSI14, 100 - 100/(1+0.5/(0.5+1e-8))}})
}

// TestFeaturePatterns checks the price-pattern features on bars built to trigger each one
// at bar J = 100 over a flat base (o = c = 100, h = 100.01, l = 99.99).
func TestFeaturePatterns(t *testing.T) {
	const J = 100
	base := simBar{100, 100.01, 99.99, 100, 10}
	cases := []struct {
		name string
		set  func(j int, b *simBar) // changes bar j
		col  int
		want float64
	}{
		{"higher high", func(j int, b *simBar) {
			if j == J {
				*b = simBar{100, 100.2, 99.99, 100.1, 10} // 100.2 > 1.001 x 100.01
			}
		}, ObsHigherHigh, 1},
		{"not a higher high: lower", func(j int, b *simBar) {
			if j == J {
				*b = simBar{99.8, 99.85, 99.7, 99.8, 10} // 99.85 < 0.999 x 100.01
			}
		}, ObsHigherHigh, -1},
		{"lower low", func(j int, b *simBar) {
			if j == J {
				*b = simBar{100, 100.01, 99.8, 99.9, 10} // 99.8 < 0.999 x 99.99
			}
		}, ObsLowerLow, 1},
		{"higher low", func(j int, b *simBar) {
			switch {
			case j >= J-10 && j <= J-6:
				b.l = 99.0 // m2
			case j >= J-5 && j <= J-1:
				b.l = 99.5 // m1 = 99.5 > 1.001 x 99.0
			case j == J:
				b.l = 99.99 // > 1.001 x 99.5
			}
		}, ObsHigherLow, 1},
		{"lower high", func(j int, b *simBar) {
			switch {
			case j >= J-10 && j <= J-6:
				b.h = 101.0
			case j >= J-5 && j <= J-1:
				b.h = 100.5
			case j == J:
				b.h = 100.01
			}
		}, ObsLowerHigh, 1},
		{"double top", func(j int, b *simBar) {
			// Highs of bars J-39..J-20 reach 102 once; bars J-19..J stay at 100.01 (std 0):
			// 100.01 < 0.99 x 102 = 100.98.
			if j == J-30 {
				*b = simBar{100, 102, 99.99, 100, 10}
			}
		}, ObsDoubleTop, 0.7},
		{"double bottom", func(j int, b *simBar) {
			if j == J-30 {
				*b = simBar{100, 100.01, 98, 100, 10} // 99.99 > 1.01 x 98 = 98.98
			}
		}, ObsDoubleBottom, 0.7},
		{"breakout", func(j int, b *simBar) {
			if j == J {
				*b = simBar{100, 100.5, 99.99, 100.3, 10} // 100.3 > 1.002 x 100.01 = 100.21
			}
		}, ObsBreakout, 1},
		{"breakdown", func(j int, b *simBar) {
			if j == J {
				*b = simBar{100, 100.01, 99.6, 99.7, 10} // 99.7 < 0.998 x 99.99 = 99.79
			}
		}, ObsBreakdown, 1},
		{"no breakout at 0.1%", func(j int, b *simBar) {
			if j == J {
				*b = simBar{100, 100.2, 99.99, 100.2, 10} // 100.2 < 100.21
			}
		}, ObsBreakout, 0},
		{"volume ratio 5", func(j int, b *simBar) {
			if j == J {
				b.v = 30 // 30 / mean(10 x 5)
			}
		}, ObsVolumeRatio5, 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ds := oneDay(t, func(j int) simBar {
				b := base
				tc.set(j, &b)
				return b
			})
			checkFeatures(t, ds, []featCase{{tc.name, J, tc.col, tc.want}})
			// And the flat base triggers nothing.
			flat := oneDay(t, func(int) simBar { return base })
			flatWant := 0.0
			if tc.col == ObsVolumeRatio5 {
				flatWant = 1
			}
			checkFeatures(t, flat, []featCase{{tc.name + " on the flat base", J, tc.col, flatWant}})
		})
	}
}

// TestObservationLayout checks how a step assembles the observation: the window rows are
// the precomputed features of bars L-19..L in order, the context block is bar L's, and the
// account features match a position computed by hand. The Phase 2 view writes exactly the
// first 228 floats.
func TestObservationLayout(t *testing.T) {
	ds := scenario(t, overrides{hm(9, 30): {24000, 24001, 23999, 24001, 100}})
	cfg := DefaultConfig()
	e, obs, mask := startEnv(t, ds, cfg, Options{Sessions: []int{0}, Mode: ModeOrdered}, nil)
	e.Step(Buy, obs, mask) // fill 24000.25, stop 23997.25, target 24009.25; 09:30 closes at 24001
	L := barAt(t, ds, 0, hm(9, 30))
	for k := range WindowBars {
		for f := range BarFeatures {
			if got, want := obs[k*BarFeatures+f], ds.Market[(L-19+k)*MarketDim+f]; got != want {
				t.Fatalf("window bar %d feature %d: got %v, want %v", k, f, got, want)
			}
		}
	}
	for i := ObsADXSlope; i <= ObsBreakdown; i++ {
		if got, want := obs[i], ds.Market[L*MarketDim+marketCol(i)]; got != want {
			t.Fatalf("context %d: got %v, want %v", i, got, want)
		}
	}
	atr := float64(ds.Market[L*MarketDim+FeatATR14]) // TR of the 09:30 bar is 2 too: 2
	u := (24001 - 24000.25) * 20                     // $15 unrealized
	want := map[int]float64{
		ObsPosition:          1,
		ObsEntryRatio:        24000.25 / 24001,
		ObsStopDist:          (24001 - 23997.25) / atr,
		ObsTargetDist:        (24009.25 - 24001) / atr,
		ObsBarsInTrade:       1.0 / 390,
		ObsCanEnter:          0,
		ObsCanManage:         1, // break-even is legal
		ObsHasPosition:       1,
		ObsUnrealized:        u / 100,
		ObsThresholdRoom:     (50_000 - 2.5 + u - (50_012.5 - 2500)) / 2500, // peak at the 09:30 high 24001
		ObsConsecutiveLosses: 0,
		ObsWinRateLast10:     0.5,
		ObsMAEMFERatio:       0, // MAE 0, MFE 15
	}
	for i, w := range want {
		if got := float64(obs[i]); math.Abs(got-w) > 1e-6*math.Max(1, math.Abs(w)) {
			t.Errorf("obs[%d] = %v, want %v", i, got, w)
		}
	}

	// Phase 2 view: the same first 228 floats, nothing else written.
	e2, err := New(ds, cfg, Options{Sessions: []int{0}, Mode: ModeOrdered, ObsDim: BaseObsDim}, nil)
	if err != nil {
		t.Fatal(err)
	}
	obs2 := make([]float32, BaseObsDim)
	if err := e2.Reset(obs2, mask); err != nil {
		t.Fatal(err)
	}
	e2.Step(Buy, obs2, mask)
	for i := range BaseObsDim {
		if obs2[i] != obs[i] {
			t.Fatalf("Phase 2 view: obs[%d] = %v, Phase 3 has %v", i, obs2[i], obs[i])
		}
	}
	if err := e2.Reset(make([]float32, ObsDim), mask); err == nil {
		t.Error("Reset of a Phase 2 env with 261 floats succeeded, want an error")
	}
}

// TestAccountCounters checks 258-260 after a loss, a win and a loss: consecutive losses
// reset by the win, the win rate over the closed trades, and MAE/MFE while in position.
func TestAccountCounters(t *testing.T) {
	// Trade 1 (09:30): stopped at 09:32. Trade 2 (09:40): target at 09:42 (the high 24015 is
	// beyond any target the ATR allows). Trade 3 (09:50): stopped at 09:52 (low 23990, below
	// any stop). Trade 4 (10:00): open, 10:00 closes at 24002, 10:01 at 23998: MAE =
	// (23998 - 24000.25) x 20 = -45, MFE = (24002 - 24000.25) x 20 = 35.
	ds := scenario(t, overrides{
		hm(9, 32):  {24000, 24001, 23997, 23998, 100},
		hm(9, 42):  {24000, 24015, 23999, 24005, 100},
		hm(9, 52):  {24000, 24001, 23990, 23998, 100},
		hm(10, 0):  {24000, 24002, 23999, 24002, 100},
		hm(10, 1):  {24002, 24002, 23998, 23998, 100},
		hm(10, 2):  {23998, 23999, 23998, 23999, 100},
		hm(16, 58): {24000, 24001, 23999, 24000, 100},
	})
	e, obs, mask := startEnv(t, ds, DefaultConfig(), Options{Sessions: []int{0}, Mode: ModeOrdered}, nil)
	buys := map[Clock]bool{hm(9, 30): true, hm(9, 40): true, hm(9, 50): true, hm(10, 0): true}
	check := map[Clock][3]float64{ // observation at the decision opening at this time
		hm(9, 33): {1, 0, 0},       // one loss
		hm(9, 43): {0, 0.5, 0},     // loss, win
		hm(9, 53): {1, 1.0 / 3, 0}, // loss, win, loss
		hm(10, 2): {1, 1.0 / 3, 45.0 / 35},
	}
	for e.Bar() < barAt(t, ds, 0, hm(10, 3)) {
		clock := ds.Bars.Clock[e.Bar()]
		if w, ok := check[clock]; ok {
			got := [3]float64{float64(obs[ObsConsecutiveLosses]), float64(obs[ObsWinRateLast10]), float64(obs[ObsMAEMFERatio])}
			for i := range got {
				if math.Abs(got[i]-w[i]) > 1e-6 {
					t.Errorf("at %s: losses, win rate, MAE/MFE = %v, want %v", clock, got, w)
					break
				}
			}
		}
		a := Hold
		if buys[clock] {
			a = Buy
		}
		if a != Hold && !mask[a] {
			t.Fatalf("BUY masked at %s", clock)
		}
		e.Step(a, obs, mask)
	}
}
