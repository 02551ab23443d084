package env

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// cut returns the first n bars of b (prices and times; NewDataset recomputes the rest).
func cut(b Bars, n int) Bars {
	return Bars{
		Time: b.Time[:n:n], Open: b.Open[:n:n], High: b.High[:n:n], Low: b.Low[:n:n],
		Close: b.Close[:n:n], Volume: b.Volume[:n:n],
	}
}

// TestMarketFeaturesCausal rebuilds the dataset from every prefix bars[:n] of a two-session
// random walk and checks that the rows it has are bit-identical to the full dataset's: row
// j depends on bars 0..j only.
func TestMarketFeaturesCausal(t *testing.T) {
	full := randomWalkDays(t, 2, 11)
	for n := 1; n <= full.Bars.Len(); n++ {
		pre, err := NewDataset("prefix", full.Instrument, cut(full.Bars, n))
		if err != nil {
			t.Fatal(err)
		}
		for i := range pre.Market {
			if math.Float32bits(pre.Market[i]) != math.Float32bits(full.Market[i]) {
				t.Fatalf("prefix of %d bars: bar %d feature %d = %v, full data %v",
					n, i/MarketDim, i%MarketDim, pre.Market[i], full.Market[i])
			}
		}
	}
}

// poison returns a copy of b whose bars from index from on have other (wild but valid)
// prices and volumes, with the same times.
func poison(b Bars, from int, rng *rand.Rand) Bars {
	p := cut(b, b.Len())
	p.Open, p.High, p.Low = slices.Clone(b.Open), slices.Clone(b.High), slices.Clone(b.Low)
	p.Close, p.Volume = slices.Clone(b.Close), slices.Clone(b.Volume)
	for j := from; j < b.Len(); j++ {
		o := 1000 + 50000*rng.Float64()
		c := 1000 + 50000*rng.Float64()
		p.Open[j], p.Close[j] = o, c
		p.High[j] = max(o, c) + 100*rng.Float64()
		p.Low[j] = min(o, c) - 100*rng.Float64()
		p.Volume[j] = 1e6 * rng.Float64()
	}
	return p
}

// TestObservationNoLookAhead runs a random legal policy through a session and, for every
// decision t, replays the same actions on a dataset whose bars t, t+1, ... are replaced by
// wild values: the observation (all 261 floats, account features included) and the mask of
// decision t must be bit-identical to the full data's. This covers the features, the step
// (which must not read bar t before deciding at its open) and the masks (which may use bar
// t's time, a known schedule, but not its prices).
func TestObservationNoLookAhead(t *testing.T) {
	full := randomWalkDays(t, 2, 12)
	cfg := DefaultConfig()
	opt := Options{Sessions: []int{1}, Mode: ModeOrdered}
	run := func(ds *Dataset, acts []Action) ([]float32, []bool, *Env) {
		e, obs, mask := startEnv(t, ds, cfg, opt, nil)
		for _, a := range acts {
			e.Step(a, obs, mask)
		}
		return obs, mask, e
	}

	// The full run: the decisions and the actions taken.
	policy := rand.New(rand.NewPCG(3, 3))
	var acts []Action
	var bars []int
	var fullObs [][]float32
	var fullMask [][]bool
	obs, mask, e := run(full, nil)
	for {
		bars = append(bars, e.Bar())
		fullObs = append(fullObs, slices.Clone(obs))
		fullMask = append(fullMask, slices.Clone(mask))
		a := randomLegal(policy, mask)
		acts = append(acts, a)
		if r := e.Step(a, obs, mask); r.Terminated || r.Truncated {
			break
		}
	}
	var trades int
	for _, a := range acts {
		if a == Buy || a == Sell {
			trades++
		}
	}
	if len(bars) < 400 || trades < 5 {
		t.Fatalf("%d decisions with %d entries: the run exercised too little", len(bars), trades)
	}

	rng := rand.New(rand.NewPCG(4, 4))
	for k, tk := range bars {
		ds, err := NewDataset("poisoned", full.Instrument, poison(full.Bars, tk, rng))
		if err != nil {
			t.Fatal(err)
		}
		obs, mask, e := run(ds, acts[:k])
		if e.Bar() != tk {
			t.Fatalf("decision %d: replay reached bar %d, want %d", k, e.Bar(), tk)
		}
		if !slices.Equal(mask, fullMask[k]) {
			t.Fatalf("decision %d (bar %d): mask %v with the future replaced, %v with it", k, tk, mask, fullMask[k])
		}
		for i := range obs {
			if math.Float32bits(obs[i]) != math.Float32bits(fullObs[k][i]) {
				t.Fatalf("decision %d (bar %d): observation[%d] = %v with the future replaced, %v with it",
					k, tk, i, obs[i], fullObs[k][i])
			}
		}
	}
}
