package report

import (
	"bytes"
	"context"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"hybridtrain/internal/env"
	"hybridtrain/internal/ppo"
)

// TestQuantile checks the interpolation by hand: type 7 puts the p-quantile of n sorted
// values at position (n-1) p.
func TestQuantile(t *testing.T) {
	x := []float64{0, 1, 2, 3, 10}
	for _, tc := range []struct{ p, want float64 }{
		{0, 0}, {1, 10}, {0.5, 2}, // positions 0, 4, 2
		{0.1, 0.4},   // position 0.4: 0 + 0.4 x (1 - 0)
		{0.875, 6.5}, // position 3.5: 3 + 0.5 x (10 - 3)
	} {
		if got := quantile(x, tc.p); got != tc.want {
			t.Errorf("quantile(%v, %g) = %g, want %g", x, tc.p, got, tc.want)
		}
	}
}

// TestBootstrapHandChecked: cases whose intervals follow by hand whatever the draws.
func TestBootstrapHandChecked(t *testing.T) {
	rng := func() *rand.Rand { return rand.New(rand.NewPCG(1, BootstrapStream)) }
	// Every resample of a constant has the constant as its mean.
	if lo, hi := Bootstrap([]float64{5, 5, 5}, 1000, 0.95, rng()); lo != 5 || hi != 5 {
		t.Errorf("constant 5: interval [%v, %v], want [5, 5]", lo, hi)
	}
	// {0, 2}: a resample's mean is 0, 1 or 2 with probabilities 1/4, 1/2, 1/4. With 10,000
	// resamples the 2.5% and 97.5% quantiles sit at positions 249.975 and 9,749.025 of the
	// sorted means, inside the ~2,500 zeros and the ~2,500 twos: exactly 0 and 2.
	if lo, hi := Bootstrap([]float64{0, 2}, 10_000, 0.95, rng()); lo != 0 || hi != 2 {
		t.Errorf("{0, 2}: interval [%v, %v], want [0, 2]", lo, hi)
	}
	// A 50% interval of the same: the quartile positions 2,499.75 and 7,499.25 lie at the
	// edges of the middle half (~5,000 ones), so both are 1 unless the draws are far from
	// their expected counts.
	if lo, hi := Bootstrap([]float64{0, 2}, 10_000, 0.5, rng()); !(lo >= 0 && lo <= 1 && hi >= 1 && hi <= 2) {
		t.Errorf("{0, 2} at 50%%: interval [%v, %v], want within [0, 1] and [1, 2]", lo, hi)
	}
	// One value: no interval.
	if lo, hi := Bootstrap([]float64{3}, 1000, 0.95, rng()); lo.Defined() || hi.Defined() {
		t.Errorf("one value: interval [%v, %v], want undefined", lo, hi)
	}
	// Seeded: the same generator gives the same interval.
	d := []float64{-40, 10, 25, 60, -5, 12}
	lo1, hi1 := Bootstrap(d, 2000, 0.9, rng())
	lo2, hi2 := Bootstrap(d, 2000, 0.9, rng())
	if lo1 != lo2 || hi1 != hi2 || !(lo1 < hi1) || !(float64(lo1) >= -40 && float64(hi1) <= 60) {
		t.Errorf("seeded interval [%v, %v], then [%v, %v]", lo1, hi1, lo2, hi2)
	}
}

// TestVersus pairs the days of two hand-built accounts and judges the policy: the
// differences, the mean and the outcome follow from the session-end equities.
func TestVersus(t *testing.T) {
	cfg := DefaultConfig()
	// Policy ends its sessions at 50,100, 50,050, 50,080: daily P&L +100, -50, +30.
	policy := verdictAccount([]session{day(50_100, true), day(50_050, true), day(50_080, true)})
	for _, tc := range []struct {
		name      string
		other     []float64 // the contender's session-end equities
		net, mean float64
		lo, hi    Float
		outcome   string
	}{
		// Daily +90, -60, +20: d = 10 every day.
		{"always 10 better", []float64{50_090, 50_030, 50_050}, 30, 10, 10, 10, OutcomeBetter},
		// Daily +110, -40, +40: d = -10 every day.
		{"always 10 worse", []float64{50_110, 50_070, 50_110}, -30, -10, -10, -10, OutcomeWorse},
		// The same days: d = 0.
		{"the same", []float64{50_100, 50_050, 50_080}, 0, 0, 0, 0, OutcomeInconclusive},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var days []session
			for _, e := range tc.other {
				days = append(days, day(e, true))
			}
			v := versus(policy, verdictAccount(days), cfg)
			want := Versus{Days: 3, NetPnLDiff: tc.net, MeanDailyDiff: Float(tc.mean), CILow: tc.lo, CIHigh: tc.hi,
				Confidence: 0.95, Resamples: 10_000, Seed: 1, Outcome: tc.outcome}
			if v != want {
				t.Errorf("versus = %+v\nwant %+v", v, want)
			}
		})
	}
	// Daily differences +60, +20, 0 (contender +40, -70, +30): every d is in [0, 60], so
	// every resample's mean is too.
	v := versus(policy, verdictAccount([]session{day(50_040, true), day(49_970, true), day(50_000, true)}), cfg)
	if v.NetPnLDiff != 80 || v.MeanDailyDiff != Float(80.0/3) || !(v.CILow >= 0 && v.CIHigh <= 60 && v.CILow < v.CIHigh) {
		t.Errorf("mixed days: %+v", v)
	}
	// A contender over other dates pairs nothing.
	other := verdictAccount([]session{day(50_040, true)})
	other.Dates = []string{"2023-12-29"}
	if v := versus(policy, other, cfg); v.Days != 0 || v.MeanDailyDiff.Defined() || v.Outcome != OutcomeInconclusive {
		t.Errorf("no common day: %+v", v)
	}
}

// alwaysBuy is a fixed contender: BUY whenever the mask allows it, else HOLD. It checks
// the observation length it is given, so that a Phase 2 contender (228 features) beside a
// Phase 3 policy is tested too.
type alwaysBuy struct {
	dim int
	bad int // calls with observations of another length
}

func (a *alwaysBuy) ObsDim() int { return a.dim }

func (a *alwaysBuy) Act(obs []float32, masks []bool, rows int, out []int32) error {
	if len(obs) != rows*a.dim {
		a.bad++
	}
	for i := range rows {
		out[i] = int32(env.Hold)
		if masks[i*env.NumActions+int(env.Buy)] {
			out[i] = int32(env.Buy)
		}
	}
	return nil
}

// TestCompareColumnEqualsItsOwnReport: a contender's column is its own report's policy
// column (the same backtest: sessions, rules, metrics, verdict), and the comparison's
// numbers are the two columns' differences; the tables, the summary and the plot carry it.
func TestCompareColumnEqualsItsOwnReport(t *testing.T) {
	tc, err := tinyCheckpoint()
	if err != nil {
		t.Fatal(err)
	}
	m, err := ppo.LoadModel(tc.model)
	if err != nil {
		t.Fatal(err)
	}
	_, val := tc.ds.SplitSessions(tc.env.TrainFraction)
	in := Input{Dataset: tc.ds, Sessions: val, Env: tc.env, Actor: m, Split: "validation", Model: ModelInfo{Dir: "final", Phase: 3}}
	base := &alwaysBuy{dim: env.BaseObsDim}
	in.Compare = []Contender{{Actor: base, Model: ModelInfo{Dir: "runs/p2/final", Phase: 2}}}
	cfg := DefaultConfig()
	r, err := Build(context.Background(), in, cfg)
	if err != nil {
		t.Fatal(err)
	}
	alone, err := Build(context.Background(), Input{Dataset: tc.ds, Sessions: val, Env: tc.env, Actor: &alwaysBuy{dim: env.BaseObsDim}, Split: "validation"}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if base.bad != 0 {
		t.Errorf("the Phase 2 contender got observations of another length %d times", base.bad)
	}
	if len(r.Comparisons) != 1 {
		t.Fatalf("%d comparisons, want 1", len(r.Comparisons))
	}
	c := r.Comparisons[0]
	got, want := c.Result, alone.Policy
	if c.Result.Name != "runs/p2/final" || !reflect.DeepEqual(got.Metrics, want.Metrics) || got.Verdict != want.Verdict || got.MaskedActions != want.MaskedActions {
		t.Errorf("comparison column:\n%+v\nwant its own report's policy column:\n%+v", got, want)
	}
	if got.Metrics.Trades == 0 {
		t.Error("the contender never traded: the comparison shows nothing")
	}
	if d := r.Policy.Metrics.NetPnL - want.Metrics.NetPnL; c.Versus.NetPnLDiff != d || c.Versus.Days != len(val) {
		t.Errorf("versus: net difference %g over %d days, want %g over %d", c.Versus.NetPnLDiff, c.Versus.Days, d, len(val))
	}

	var md, sum bytes.Buffer
	if err := r.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	if err := r.WriteSummary(&sum); err != nil {
		t.Fatal(err)
	}
	sentence := versusSentence(&c)
	for _, w := range []string{"| policy | runs/p2/final | flat |", "## Against other checkpoints", sentence, "paired percentile bootstrap: 10000 resamples"} {
		if !strings.Contains(md.String(), w) {
			t.Errorf("report.md lacks %q", w)
		}
	}
	if !strings.Contains(sum.String(), sentence) {
		t.Errorf("summary lacks %q:\n%s", sentence, sum.String())
	}
	var png bytes.Buffer
	if err := r.WritePlot(&png); err != nil {
		t.Fatal(err)
	}
}
