package env

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// Synthetic bar defaults (spec §10): `data synth` and the built-in data when no file exists.
const (
	DefaultSynthSessions = 120
	DefaultSynthSeed     = 1
)

// synthStart is the first synthetic session: a Tuesday, so that 120 weekday sessions cross
// the March daylight-saving change (2024-03-10) and the simulator sees both UTC offsets.
var synthStart = time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)

// Parameters of the synthetic price process, per 1-minute bar unless noted. They give an
// index-future-like day: about 1% daily volatility, trends that last an hour or two, and a
// level that stays within a few percent of the typical price.
const (
	synthSigma      = 0.00045 // base volatility of a bar's log return
	synthGarchAlpha = 0.08    // weight of the last squared shock in the variance
	synthGarchBeta  = 0.90    // persistence of the variance (alpha + beta < 1)
	synthRegimeMean = 90.0    // mean regime length, bars
	synthTrendDrift = 0.12    // drift of a trending regime, in units of synthSigma
	synthRevert     = 0.02    // pull toward the regime's anchor in a ranging regime
	synthAnchor     = 3e-4    // pull toward the typical price, always on
	synthGapSigma   = 0.003   // overnight gap at the first bar of a session
	synthVolume     = 300.0   // mean volume of a bar at the middle of the session
)

// Synthesize generates sessions sessions of seeded 1-minute bars for inst, starting on
// 2024-01-02 in the instrument's zone, on the weekdays its calendar does not close (the
// bars of an early close end at the close, as the exchange halts there), one bar per
// minute of the data session. The price follows a log-random walk with
//
//   - a U-shaped intraday volatility and volume profile (highest at the session's start and
//     end, lowest at its middle);
//   - volatility clustering: a GARCH(1,1) variance (alpha 0.08, beta 0.90);
//   - regimes (mean length 90 bars) that trend up, trend down, or revert to the level at
//     which they started, and a weak pull toward the typical price;
//   - an overnight gap at each session's first bar.
//
// Open is the previous close; every price is on the tick grid; high >= max(open, close),
// low <= min(open, close), low >= one tick; volume is a whole number >= 1. The generator is
// math/rand/v2's PCG seeded from seed alone, so the same arguments give the same bars (and
// WriteCSV the same bytes); a golden test holds this on linux/amd64. The price path itself
// uses arithmetic and square roots (correctly rounded everywhere), but NormFloat64 and the
// regime lengths use exp/log, so identical bytes on other architectures are expected, not
// verified. Source is "synthetic:<symbol>:<seed>".
func Synthesize(inst Instrument, sessions int, seed uint64) (*Dataset, error) {
	if sessions < 1 {
		return nil, fmt.Errorf("env: synthetic sessions must be >= 1, got %d", sessions)
	}
	if inst.Zone == nil || len(inst.DataSession) == 0 || !(inst.TickSize > 0) || !(inst.TypicalPrice > inst.TickSize) {
		return nil, fmt.Errorf("env: synthetic bars need an instrument with zone, data session, tick size and typical price, got %q", inst.Symbol)
	}
	// The second PCG word is a fixed odd constant: the stream depends on seed alone.
	g := &synth{rng: rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)), inst: inst}
	g.price = inst.TypicalPrice
	g.anchor = g.price
	g.variance = 1
	g.newRegime()

	minutes := 0
	for _, r := range inst.DataSession {
		minutes += int(r.To-r.From) + 1
	}
	var b Bars
	n := sessions * minutes
	b.Time = make([]int64, 0, n)
	b.Open, b.High, b.Low = make([]float64, 0, n), make([]float64, 0, n), make([]float64, 0, n)
	b.Close, b.Volume = make([]float64, 0, n), make([]float64, 0, n)

	zc := newZoneCache(inst.Zone)
	first, last := inst.DataSession[0].From, inst.DataSession[len(inst.DataSession)-1].To
	span := float64(last - first)
	var prevTicks int64
	day := synthStart
	for s := 0; s < sessions; day = day.AddDate(0, 0, 1) {
		if wd := day.Weekday(); wd == time.Saturday || wd == time.Sunday {
			continue
		}
		dayNum := dayOf(day)
		if _, closed := inst.holiday(dayNum); closed {
			continue
		}
		// An early close ends the day's bars: the exchange halts there. On other days the
		// bars run to the end of the data session, past the flatten time.
		end := last
		if f := inst.flattenOn(dayNum); f < inst.FlattenTime {
			end = f - 1
		}
		s++
		// The overnight gap shows in the session's first open.
		g.price *= 1 + synthGapSigma*g.rng.NormFloat64()
		prevTicks = max(int64(math.Round(g.price/inst.TickSize)), 1)
		dayWall := day.Unix()
		for _, r := range inst.DataSession {
			for c := r.From; c <= min(r.To, end); c++ {
				sec, ok := zc.fromWall(dayWall+int64(c)*60, math.MinInt64)
				if !ok { // a custom session inside a spring-forward gap: that minute does not exist
					continue
				}
				x := 0.0
				if span > 0 {
					x = 2*float64(c-first)/span - 1 // -1 at the session's first bar, +1 at its last
				}
				o := prevTicks
				cl, hi, lo, vol := g.bar(o, x)
				b.Time = append(b.Time, sec)
				b.Open = append(b.Open, g.onGrid(o))
				b.High = append(b.High, g.onGrid(hi))
				b.Low = append(b.Low, g.onGrid(lo))
				b.Close = append(b.Close, g.onGrid(cl))
				b.Volume = append(b.Volume, vol)
				prevTicks = cl
			}
		}
	}
	return NewDataset(fmt.Sprintf("synthetic:%s:%d", inst.Symbol, seed), inst, b)
}

// synth is the state of the synthetic price process.
type synth struct {
	rng      *rand.Rand
	inst     Instrument
	price    float64 // continuous price; bars show it rounded to the tick
	variance float64 // GARCH variance, relative to synthSigma^2 (long-run mean 1)
	regime   int     // -1 trend down, +1 trend up, 0 revert to anchor
	left     int     // bars left in the regime
	anchor   float64 // level a reverting regime is pulled to
}

func (g *synth) newRegime() {
	g.regime = g.rng.IntN(3) - 1
	g.anchor = g.price
	// Geometric length with mean synthRegimeMean, at least 10 bars.
	g.left = 10 + int(-synthRegimeMean*math.Log1p(-g.rng.Float64()))
}

// bar advances the process by one minute at session position x in [-1, 1] from an open of
// o ticks, and returns the close, high and low in ticks and the volume.
func (g *synth) bar(o int64, x float64) (c, hi, lo int64, vol float64) {
	if g.left--; g.left <= 0 {
		g.newRegime()
	}
	u := 0.6 + 0.9*x*x // U-shaped volatility: 1.5 at the ends, 0.6 in the middle
	sd := synthSigma * u * math.Sqrt(g.variance)
	z := g.rng.NormFloat64()
	drift := float64(g.regime) * synthTrendDrift * synthSigma
	if g.regime == 0 {
		drift = -synthRevert * (g.price/g.anchor - 1)
	}
	drift -= synthAnchor * (g.price/g.inst.TypicalPrice - 1)
	g.price *= 1 + drift + sd*z
	g.variance = (1 - synthGarchAlpha - synthGarchBeta) + synthGarchAlpha*z*z*g.variance + synthGarchBeta*g.variance

	tick := g.inst.TickSize
	c = max(int64(math.Round(g.price/tick)), 1)
	// Intrabar excursions beyond the body: half-normal, scaled by the bar's volatility.
	ext := sd * g.price / tick
	hi = max(o, c) + int64(math.Ceil(math.Abs(g.rng.NormFloat64())*ext*0.7))
	lo = max(min(o, c)-int64(math.Ceil(math.Abs(g.rng.NormFloat64())*ext*0.7)), 1)
	// U-shaped volume, higher when volatile, with noise; whole contracts, at least 1.
	v := synthVolume * (0.5 + 2.0*x*x) * (0.6 + 0.4*math.Sqrt(g.variance)) * (1 + 0.3*g.rng.NormFloat64())
	vol = max(math.Round(v), 1)
	return c, hi, lo, vol
}

// onGrid converts ticks to a price. When 1/tick is a whole number (0.25, 0.1, 0.01) the
// division gives the correctly rounded decimal (2200.1, not 2200.1000000000001).
func (g *synth) onGrid(ticks int64) float64 {
	tick := g.inst.TickSize
	if inv := math.Round(1 / tick); math.Abs(inv*tick-1) < 1e-12 {
		return float64(ticks) / inv
	}
	return float64(ticks) * tick
}
