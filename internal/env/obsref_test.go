package env

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// refMarket is a deliberately naive transcription of spec §9 for the bar-only features:
// every value is recomputed from the raw bars at the bar asked for, with explicit loops over
// the windows the specification names, and shares no code with features.go. It is slow
// (hundreds of operations per value) and exists only to check the precomputed rows.
type refMarket struct {
	ds *Dataset
	// EMAs are recursive from the first bar; they are the one thing computed once.
	ema12, ema26 []float64
}

func newRefMarket(ds *Dataset) *refMarket {
	r := &refMarket{ds: ds}
	c := ds.Bars.Close
	e := func(n int) []float64 {
		out := make([]float64, len(c))
		a := 2.0 / float64(n+1)
		out[0] = c[0]
		for j := 1; j < len(c); j++ {
			out[j] = a*c[j] + (1-a)*out[j-1]
		}
		return out
	}
	r.ema12, r.ema26 = e(12), e(26)
	return r
}

func (r *refMarket) c(j int) float64 { return r.ds.Bars.Close[j] }
func (r *refMarket) h(j int) float64 { return r.ds.Bars.High[j] }
func (r *refMarket) l(j int) float64 { return r.ds.Bars.Low[j] }
func (r *refMarket) v(j int) float64 { return r.ds.Bars.Volume[j] }

// meanOver is the mean of f over bars lo..hi inclusive.
func meanOver(lo, hi int, f func(int) float64) float64 {
	s := 0.0
	for k := lo; k <= hi; k++ {
		s += f(k)
	}
	return s / float64(hi-lo+1)
}

// sma: mean of the last n closes, or of the closes so far (docs/observation.md).
func (r *refMarket) sma(n, j int) float64 { return meanOver(max(0, j-n+1), j, r.c) }

func (r *refMarket) rsi(n, j int) float64 {
	if j < n {
		return 50
	}
	g := meanOver(j-n+1, j, func(k int) float64 { return max(r.c(k)-r.c(k-1), 0) })
	d := meanOver(j-n+1, j, func(k int) float64 { return max(r.c(k-1)-r.c(k), 0) })
	return 100 - 100/(1+g/(d+1e-8))
}

func (r *refMarket) tr(j int) float64 {
	if j == 0 {
		return r.h(0) - r.l(0)
	}
	pc := r.c(j - 1)
	return max(r.h(j)-r.l(j), math.Abs(r.h(j)-pc), math.Abs(r.l(j)-pc))
}

func (r *refMarket) atr(j int) float64 { return meanOver(max(0, j-13), j, r.tr) }

// dx needs 14 +DM/-DM values, each needing a previous bar: k >= 14.
func (r *refMarket) dx(k int) float64 {
	trm := meanOver(k-13, k, r.tr)
	pdi, mdi := 0.0, 0.0
	if trm > 0 {
		pdi = 100 * meanOver(k-13, k, func(i int) float64 { return max(r.h(i)-r.h(i-1), 0) }) / trm
		mdi = 100 * meanOver(k-13, k, func(i int) float64 { return max(r.l(i-1)-r.l(i), 0) }) / trm
	}
	return 100 * math.Abs(pdi-mdi) / (pdi + mdi + 1e-8)
}

// adx is defined from bar 27 (14 DX values from bar 14 on).
func (r *refMarket) adx(j int) (float64, bool) {
	if j < 27 {
		return 0, false
	}
	return meanOver(j-13, j, r.dx), true
}

func refSlope(xL, xLp float64, p int) float64 {
	if xL == 0 {
		return 0
	}
	return (xL - xLp) / float64(p) / math.Abs(xL)
}

func minOver(lo, hi int, f func(int) float64) float64 {
	m := math.Inf(1)
	for k := lo; k <= hi; k++ {
		m = math.Min(m, f(k))
	}
	return m
}

func maxOver(lo, hi int, f func(int) float64) float64 {
	m := math.Inf(-1)
	for k := lo; k <= hi; k++ {
		m = math.Max(m, f(k))
	}
	return m
}

func stdOver(lo, hi int, f func(int) float64, sample bool) float64 {
	n := float64(hi - lo + 1)
	mean := meanOver(lo, hi, f)
	ss := 0.0
	for k := lo; k <= hi; k++ {
		ss += (f(k) - mean) * (f(k) - mean)
	}
	if sample {
		return math.Sqrt(ss / (n - 1))
	}
	return math.Sqrt(ss / n)
}

// window returns the 11 features of bar j (spec §9, "Base block").
func (r *refMarket) window(j int) [BarFeatures]float64 {
	in := r.ds.Instrument
	clock := r.ds.Bars.Clock[j]
	hour, minute := float64(clock/60), float64(clock%60)
	span := float64(in.FlattenTime - in.EntryStart)
	mom := 1.0
	if j >= 10 {
		mom = r.c(j) / r.c(j-10)
	}
	return [BarFeatures]float64{
		r.c(j), r.v(j), r.sma(5, j), r.sma(20, j), r.rsi(14, j), r.ema12[j] - r.ema26[j], mom, r.atr(j),
		(hour + minute/60 - 9.5) / 7.4833,
		float64(clock-in.EntryStart) / span,
		float64(in.FlattenTime-clock) / span,
	}
}

// context returns the 28 bar-only context features at L, indexed by ObsADXSlope..ObsBreakdown.
func (r *refMarket) context(L int) map[int]float64 {
	out := map[int]float64{}
	c := r.c

	out[ObsADXSlope] = 0
	if a, ok := r.adx(L); ok {
		if b, ok := r.adx(L - 5); ok {
			out[ObsADXSlope] = refSlope(a, b, 5)
		}
	}
	// Session VWAP over the session's bars up to L.
	sess := r.ds.Sessions[r.ds.Bars.Session[L]]
	var cv, vs float64
	for k := sess.Start; k <= L; k++ {
		cv += c(k) * r.v(k)
		vs += r.v(k)
	}
	out[ObsVWAPDistance] = 0
	if vs > 0 {
		out[ObsVWAPDistance] = c(L)/(cv/vs) - 1
	}
	out[ObsVolatilityRegime] = 0
	if L >= 19 && r.atr(L) > 0 {
		out[ObsVolatilityRegime] = stdOver(L-19, L, r.atr, false) / r.atr(L)
	}
	volRatio := func(k int) float64 {
		if L < k {
			return 1
		}
		m := meanOver(L-k, L-1, r.v)
		if m <= 0 {
			return 1
		}
		return r.v(L) / m
	}
	out[ObsVolumeRegime] = volRatio(20)
	mom := func(k int) float64 {
		if L < k {
			return 0
		}
		return c(L)/c(L-k) - 1
	}
	out[ObsMomentum20] = mom(20)
	out[ObsMomentum60] = mom(60)
	out[ObsEfficiencyRatio] = 0.5
	if L >= 20 {
		path := 0.0
		for k := L - 19; k <= L; k++ {
			path += math.Abs(c(k) - c(k-1))
		}
		if path > 0 {
			out[ObsEfficiencyRatio] = math.Abs(c(L)-c(L-20)) / path
		}
	}
	out[ObsSpreadRatio] = (r.h(L) - r.l(L)) / c(L)
	out[ObsSessionTrend] = c(L)/r.ds.Bars.Open[sess.Start] - 1
	out[ObsMarketRegime] = 0
	if a, ok := r.adx(L); ok {
		if a > 25 {
			out[ObsMarketRegime] = 1
		} else if a < 20 {
			out[ObsMarketRegime] = -1
		}
	}
	out[ObsSMA50Slope] = 0
	if L-10 >= 49 {
		out[ObsSMA50Slope] = refSlope(r.sma(50, L), r.sma(50, L-10), 10)
	}
	out[ObsSMA200Slope] = 0
	if L-20 >= 199 {
		out[ObsSMA200Slope] = refSlope(r.sma(200, L), r.sma(200, L-20), 20)
	}
	out[ObsRSI15] = r.rsi(15, L)
	out[ObsRSI60] = r.rsi(60, L)
	out[ObsVolumeRatio5] = volRatio(5)
	out[ObsVolumeRatio60] = volRatio(60)
	out[ObsRealizedVol60] = 0
	if L >= 60 {
		lr := func(k int) float64 { return math.Log(c(k) / c(k-1)) }
		out[ObsRealizedVol60] = stdOver(L-59, L, lr, true) * math.Sqrt(60)
	}
	lo20 := minOver(max(0, L-19), L, r.l)
	hi20 := maxOver(max(0, L-19), L, r.h)
	out[ObsPriceVsSupport] = (c(L) - lo20) / c(L)
	out[ObsHigherHigh], out[ObsLowerLow] = 0, 0
	if L >= 5 {
		M := maxOver(L-5, L-1, r.h)
		if r.h(L) > 1.001*M {
			out[ObsHigherHigh] = 1
		} else if r.h(L) < 0.999*M {
			out[ObsHigherHigh] = -1
		}
		m := minOver(L-5, L-1, r.l)
		if r.l(L) < 0.999*m {
			out[ObsLowerLow] = 1
		} else if r.l(L) > 1.001*m {
			out[ObsLowerLow] = -1
		}
	}
	out[ObsHigherLow], out[ObsLowerHigh] = 0, 0
	if L >= 10 {
		m1, m2 := minOver(L-5, L-1, r.l), minOver(L-10, L-6, r.l)
		if r.l(L) > 1.001*m1 && m1 > 1.001*m2 {
			out[ObsHigherLow] = 1
		}
		M1, M2 := maxOver(L-5, L-1, r.h), maxOver(L-10, L-6, r.h)
		if r.h(L) < 0.999*M1 && M1 < 0.999*M2 {
			out[ObsLowerHigh] = 1
		}
	}
	out[ObsDoubleTop], out[ObsDoubleBottom] = 0, 0
	if L >= 39 {
		maxA, maxB := maxOver(L-19, L, r.h), maxOver(L-39, L-20, r.h)
		if maxA < 0.99*maxB && stdOver(L-19, L, r.h, true)/maxA < 0.02 {
			out[ObsDoubleTop] = 0.7
		}
		minA, minB := minOver(L-19, L, r.l), minOver(L-39, L-20, r.l)
		if minA > 1.01*minB && stdOver(L-19, L, r.l, true)/minA < 0.02 {
			out[ObsDoubleBottom] = 0.7
		}
	}
	out[ObsSupport20] = lo20 / c(L)
	out[ObsResistance20] = hi20 / c(L)
	out[ObsBreakout], out[ObsBreakdown] = 0, 0
	if L >= 20 {
		if c(L) > 1.002*maxOver(L-20, L-1, r.h) {
			out[ObsBreakout] = 1
		}
		if c(L) < 0.998*minOver(L-20, L-1, r.l) {
			out[ObsBreakdown] = 1
		}
	}
	return out
}

// refAccount is the account features 220..227 and 256..260 (spec §9) of a decision whose
// last closed bar is L, from the position as the env holds it (side, entry, stop, target in
// ticks, fill bar), the account's threshold and balance, the closed trades of the account
// (as the Observer saw them) and the mask. MAE and MFE are recomputed from the closes since
// the fill.
func refAccount(e *Env, L int, trades []Trade, mask []bool) map[int]float64 {
	out := map[int]float64{}
	st := e.st
	in := e.ds.Instrument
	c := e.ds.Bars.Close
	cL := c[L]
	atr := float64(e.ds.Market[L*MarketDim+FeatATR14])
	if atr <= 0 {
		atr = 0.001 * cL
	}
	n := float64(e.cfg.Contracts)
	unit := e.cfg.RewardScaleTicks * in.TickValue()
	var u float64
	if st.Side == 0 {
		out[ObsPosition], out[ObsEntryRatio], out[ObsStopDist], out[ObsTargetDist] = 0, 1, 0, 0
		out[ObsBarsInTrade], out[ObsHasPosition], out[ObsMAEMFERatio] = 0, 0, 0
	} else {
		side := float64(st.Side)
		entry := float64(st.Entry) * in.TickSize
		u = side * (cL - entry) * in.PointValue * n
		out[ObsPosition] = side
		out[ObsEntryRatio] = entry / cL
		out[ObsStopDist] = math.Abs(float64(st.Stop)*in.TickSize-cL) / atr
		out[ObsTargetDist] = math.Abs(float64(st.Target)*in.TickSize-cL) / atr
		out[ObsBarsInTrade] = float64(L-st.EntryBar+1) / 390 // bars EntryBar..L
		out[ObsHasPosition] = 1
		mae, mfe := 0.0, 0.0
		for k := st.EntryBar; k <= L; k++ {
			x := side * (c[k] - entry) * in.PointValue * n
			mae, mfe = math.Min(mae, x), math.Max(mfe, x)
		}
		out[ObsMAEMFERatio] = 1
		if mfe != 0 {
			out[ObsMAEMFERatio] = math.Abs(mae) / mfe
		}
	}
	out[ObsCanEnter] = b2f64(mask[Buy])
	out[ObsCanManage] = b2f64(mask[MoveStopToBE] || mask[EnableTrail] || mask[DisableTrail])
	out[ObsUnrealized] = u / unit
	out[ObsThresholdRoom] = (st.Balance + u - st.Threshold) / e.plan.TrailingAmount
	losses := 0
	for k := len(trades) - 1; k >= 0 && trades[k].Net <= 0; k-- {
		losses++
	}
	out[ObsConsecutiveLosses] = float64(losses)
	out[ObsWinRateLast10] = 0.5
	if len(trades) > 0 {
		last := trades[max(0, len(trades)-10):]
		wins := 0
		for _, tr := range last {
			if tr.Net > 0 {
				wins++
			}
		}
		out[ObsWinRateLast10] = float64(wins) / float64(len(last))
	}
	return out
}

func b2f64(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// closeTo compares an observation float32 with its float64 reference: within a few float32
// roundings (the env sums in another order, then stores float32).
func closeTo(got float32, want float64) bool {
	return math.Abs(float64(got)-want) <= 4e-7*math.Abs(want)+1e-9
}

// customDays builds n weekday sessions of a seeded random walk for inst, one bar per minute
// of its data session (breaks respected), on its tick grid.
func customDays(t testing.TB, inst Instrument, n int, seed uint64) *Dataset {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 99))
	tick := inst.TickSize
	p := math.Round(inst.TypicalPrice / tick)
	var b Bars
	for _, date := range weekdays(n) {
		day, err := time.ParseInLocation(time.DateOnly, date, inst.Zone)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range inst.DataSession {
			for clock := r.From; clock <= r.To; clock++ {
				tm := time.Date(day.Year(), day.Month(), day.Day(), int(clock)/60, int(clock)%60, 0, 0, inst.Zone)
				o := p
				cl := o + float64(int(rng.NormFloat64()*6))
				h := max(o, cl) + float64(rng.IntN(6))
				l := min(o, cl) - float64(rng.IntN(6))
				p = cl
				b.Time = append(b.Time, tm.Unix())
				b.Open = append(b.Open, o*tick)
				b.High = append(b.High, h*tick)
				b.Low = append(b.Low, l*tick)
				b.Close = append(b.Close, cl*tick)
				b.Volume = append(b.Volume, float64(rng.IntN(400))) // zero volume happens
			}
		}
	}
	ds, err := NewDataset("custom", inst, b)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// TestObservationMatchesSpec checks every one of the 261 indices of every decision of a
// continuous multi-session backtest, driven by a random legal policy, against refMarket and
// refAccount: an independent, naive transcription of spec §9. The first decisions sit at
// bar 60, so the defaults of the 60-bar features and of the SMA200 slope are crossed too.
// It runs on NQ and on a custom instrument with a lunch break and its own entry and flatten
// times (f9, f10, the session VWAP over a break).
func TestObservationMatchesSpec(t *testing.T) {
	lunch, err := InstrumentSpec{
		PointValue: 10, TickSize: 0.5, CommissionPerSide: 1, SlippageTicks: 1, TypicalPrice: 500,
		Timezone: "Europe/Berlin", DataSession: []string{"08:00-11:59", "13:00-17:30"},
		EntryStart: "09:00", FlattenTime: "17:15",
	}.NewInstrument("LUNCH")
	if err != nil {
		t.Fatal(err)
	}
	datasets := map[string]*Dataset{
		"NQ":    randomWalkDays(t, 3, 51),
		"LUNCH": customDays(t, lunch, 3, 52),
	}
	for _, name := range []string{"NQ", "LUNCH"} {
		ds := datasets[name]
		t.Run(name, func(t *testing.T) {
			ref := newRefMarket(ds)
			rec := &recorder{}
			e, obs, mask := startEnv(t, ds, DefaultConfig(), Options{Mode: ModeContinuous, Observer: rec}, nil)
			policy := rand.New(rand.NewPCG(5, 5))
			decisions, inPos := 0, 0
			for {
				L := e.Bar() - 1
				want := make(map[int]float64, ObsDim)
				for k := range WindowBars {
					w := ref.window(L - (WindowBars - 1) + k)
					for f := range BarFeatures {
						want[k*BarFeatures+f] = w[f]
					}
				}
				for i, v := range ref.context(L) {
					want[i] = v
				}
				for i, v := range refAccount(e, L, rec.trades, mask) {
					want[i] = v
				}
				if len(want) != ObsDim {
					t.Fatalf("reference has %d indices, want %d", len(want), ObsDim)
				}
				for i := range ObsDim {
					if !closeTo(obs[i], want[i]) {
						t.Fatalf("decision at bar %d (%s %s): obs[%d] = %.9g, spec %.9g",
							L+1, ds.Sessions[ds.Bars.Session[L+1]].Date, ds.Bars.Clock[L+1], i, obs[i], want[i])
					}
				}
				decisions++
				if e.st.Side != 0 {
					inPos++
				}
				if r := e.Step(randomLegal(policy, mask), obs, mask); r.Terminated || r.Truncated {
					break
				}
			}
			if decisions < 900 || inPos < 100 || len(rec.trades) < 20 {
				t.Fatalf("%d decisions, %d in position, %d trades: the run exercised too little", decisions, inPos, len(rec.trades))
			}
			t.Logf("%d decisions, %d in position, %d trades", decisions, inPos, len(rec.trades))
		})
	}
}
