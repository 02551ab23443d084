package report

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"hybridtrain/internal/env"
)

// Comparing the policy with other checkpoints (eval --compare): each runs the policy's
// backtest (same bars, sessions and rules), and the report judges the policy against it on
// the difference of their daily P&L, with a paired bootstrap confidence interval.

// BootstrapStream is the stream (second PCG word) of the bootstrap's generator: every
// comparison resamples with rand.New(rand.NewPCG(Config.Seed, BootstrapStream)), so that a
// comparison's interval does not depend on which others the report holds.
const BootstrapStream uint64 = 0x626f_6f74_0000_0000 // "boot" in the high bytes

// Outcomes of a comparison (Versus.Outcome).
const (
	OutcomeBetter       = "better"       // the interval lies above 0: the policy made more a day
	OutcomeWorse        = "worse"        // the interval lies below 0
	OutcomeInconclusive = "inconclusive" // the interval contains 0, or there are too few days
)

// Contender is another checkpoint backtested beside the policy (Input.Compare).
type Contender struct {
	Actor Actor     // its ObsDim picks its observation (a Phase 2 base takes 228)
	Model ModelInfo // identifies it; Model.Dir names its column
}

// Comparison is a contender's backtest and the policy judged against it.
type Comparison struct {
	Model  ModelInfo `json:"model"`
	Result Result    `json:"result"`
	Versus Versus    `json:"versus"`
}

// Versus is the policy against a contender over the sessions both traded, paired by date:
// differences are the policy's minus the contender's.
type Versus struct {
	Days       int     `json:"days"`         // sessions paired
	NetPnLDiff float64 `json:"net_pnl_diff"` // net P&L difference over the whole backtest, dollars
	// MeanDailyDiff is the mean of the daily P&L differences d_s = PnL_policy(s) -
	// PnL_contender(s), dollars a session; undefined without days.
	MeanDailyDiff Float `json:"mean_daily_diff"`
	// CILow and CIHigh bound the Confidence interval of MeanDailyDiff from a paired
	// bootstrap (see Bootstrap); undefined with fewer than 2 days.
	CILow      Float   `json:"ci_low"`
	CIHigh     Float   `json:"ci_high"`
	Confidence float64 `json:"confidence"`
	Resamples  int     `json:"resamples"`
	Seed       uint64  `json:"seed"` // the generator: PCG(Seed, BootstrapStream)
	Outcome    string  `json:"outcome"`
}

// Beats reports whether the policy is better than the contender: the whole confidence
// interval of the mean daily difference lies above 0.
func (v Versus) Beats() bool { return v.Outcome == OutcomeBetter }

// Bootstrap returns the percentile bootstrap confidence interval of the mean of d: it draws
// resamples samples of len(d) values from d with replacement (uniform indices from rng),
// takes each sample's mean, and returns the (1-confidence)/2 and (1+confidence)/2
// quantiles of those means (linear interpolation between order statistics, numpy's
// default). Fewer than 2 values, or no resamples, give an undefined interval. Resampling
// whole days keeps each day's pair together: it is a paired bootstrap when d holds
// differences.
func Bootstrap(d []float64, resamples int, confidence float64, rng *rand.Rand) (lo, hi Float) {
	n := len(d)
	if n < 2 || resamples < 1 {
		return Undefined, Undefined
	}
	means := make([]float64, resamples)
	for b := range means {
		var sum float64
		for range n {
			sum += d[rng.IntN(n)]
		}
		means[b] = sum / float64(n)
	}
	slices.Sort(means)
	alpha := (1 - confidence) / 2
	return Float(quantile(means, alpha)), Float(quantile(means, 1-alpha))
}

// quantile is the p-quantile of sorted x, interpolating linearly between the order
// statistics at (len(x)-1) p (numpy.quantile's default, Hyndman and Fan's type 7).
func quantile(x []float64, p float64) float64 {
	h := float64(len(x)-1) * p
	i := int(math.Floor(h))
	if i+1 >= len(x) {
		return x[len(x)-1]
	}
	return x[i] + (h-float64(i))*(x[i+1]-x[i])
}

// versus judges policy against other (their accounts) with the report's bootstrap settings.
func versus(policy, other *Account, cfg Config) Versus {
	v := Versus{
		NetPnLDiff: ComputeMetrics(policy).NetPnL - ComputeMetrics(other).NetPnL,
		Confidence: cfg.Confidence, Resamples: cfg.Resamples, Seed: cfg.Seed,
		MeanDailyDiff: Undefined, CILow: Undefined, CIHigh: Undefined, Outcome: OutcomeInconclusive,
	}
	theirs := map[string]float64{}
	for _, d := range other.Days() {
		theirs[d.Date] = d.PnL
	}
	var diffs []float64
	for _, d := range policy.Days() { // in session order: the bootstrap's draws index them
		if p, ok := theirs[d.Date]; ok {
			diffs = append(diffs, d.PnL-p)
		}
	}
	v.Days = len(diffs)
	if v.Days == 0 {
		return v
	}
	var sum float64
	for _, x := range diffs {
		sum += x
	}
	v.MeanDailyDiff = Float(sum / float64(v.Days))
	v.CILow, v.CIHigh = Bootstrap(diffs, cfg.Resamples, cfg.Confidence, rand.New(rand.NewPCG(cfg.Seed, BootstrapStream)))
	switch {
	case v.CILow.Defined() && v.CILow > 0:
		v.Outcome = OutcomeBetter
	case v.CIHigh.Defined() && v.CIHigh < 0:
		v.Outcome = OutcomeWorse
	}
	return v
}

// compareContenders backtests each contender over spec's bars as the policy was and judges
// the policy (the report's account) against it.
func (r *Report) compareContenders(ctx context.Context, spec backtestSpec, contenders []Contender) error {
	for i, c := range contenders {
		if c.Actor == nil {
			return fmt.Errorf("report: compare %d (%s): no actor", i+1, c.Model.Dir)
		}
		s := spec
		s.obsDim = c.Actor.ObsDim()
		var cr run
		var err error
		if cr.acc, cr.masked, err = backtest(ctx, s, &actorDecider{a: c.Actor}); err != nil {
			return fmt.Errorf("report: compare %s: %w", c.Model.Dir, err)
		}
		res, err := r.judge(c.Model.Dir, cr)
		if err != nil {
			return err
		}
		r.Comparisons = append(r.Comparisons, Comparison{Model: c.Model, Result: res, Versus: versus(r.account, cr.acc, r.cfg)})
		r.contenders = append(r.contenders, cr.acc)
	}
	return nil
}

// judge computes a backtest's result under the report's rules.
func (r *Report) judge(name string, cr run) (Result, error) {
	plan, err := env.LookupPlan(r.Rules.Plan)
	if err != nil {
		return Result{}, fmt.Errorf("report: %w", err)
	}
	return Result{
		Name: name, Metrics: ComputeMetrics(cr.acc), MaskedActions: cr.masked,
		Verdict: ComputeVerdict(cr.acc, plan, r.Rules.MinTradingDays, r.zone),
	}, nil
}

// versusSentence says in words how the policy did against comparison c.
func versusSentence(c *Comparison) string {
	v := &c.Versus
	name := c.Model.Dir
	head := map[string]string{
		OutcomeBetter:       "beats",
		OutcomeWorse:        "is beaten by",
		OutcomeInconclusive: "is not clearly better or worse than",
	}[v.Outcome]
	s := fmt.Sprintf("policy %s %s: %s net P&L over %d paired sessions", head, name, signedDollars(v.NetPnLDiff), v.Days)
	if v.MeanDailyDiff.Defined() {
		s += fmt.Sprintf(", %s a session", signedDollars(float64(v.MeanDailyDiff)))
	}
	if v.CILow.Defined() {
		s += fmt.Sprintf(" (%s CI %s to %s, paired bootstrap of %d resamples)", percent(v.Confidence),
			signedDollars(float64(v.CILow)), signedDollars(float64(v.CIHigh)), v.Resamples)
	} else {
		s += " (too few sessions for a confidence interval)"
	}
	return s
}

// signedDollars writes x as dollars with an explicit sign: +$1,234.50, -$12.00.
func signedDollars(x float64) string {
	if x < 0 {
		return "-" + dollars(-x)
	}
	return "+" + dollars(x)
}

// percent writes a fraction as a percentage without needless decimals: 0.95 is 95%.
func percent(f float64) string { return fmt.Sprintf("%g%%", math.Round(100_000*f)/1000) }

// versusHeader and versusRows are report.md's table of the comparisons.
func (r *Report) versusHeader() []string {
	conf := percent(r.cfg.Confidence)
	return []string{"Checkpoint", "Net P&L, policy - it", "Mean daily difference", conf + " interval", "Sessions", "Outcome"}
}

func (r *Report) versusRows() [][]string {
	rows := make([][]string, 0, len(r.Comparisons))
	for i := range r.Comparisons {
		v := &r.Comparisons[i].Versus
		ci := "n/a"
		if v.CILow.Defined() {
			ci = signedDollars(float64(v.CILow)) + " to " + signedDollars(float64(v.CIHigh))
		}
		mean := "n/a"
		if v.MeanDailyDiff.Defined() {
			mean = signedDollars(float64(v.MeanDailyDiff))
		}
		rows = append(rows, []string{"`" + r.Comparisons[i].Model.Dir + "`", signedDollars(v.NetPnLDiff), mean, ci, fmt.Sprint(v.Days), v.Outcome})
	}
	return rows
}

// compareDefinition is report.md's footnote on the comparisons.
func (r *Report) compareDefinition() string {
	return fmt.Sprintf("Comparison with another checkpoint (same sessions, same rules): d = policy's daily P&L minus the checkpoint's, session by session. "+
		"The %s interval of mean(d) is a paired percentile bootstrap: %d resamples of the sessions with replacement, PCG(%d, 0x%x). "+
		"Better or worse when the interval lies above or below 0, else inconclusive.",
		percent(r.cfg.Confidence), r.cfg.Resamples, r.cfg.Seed, BootstrapStream)
}
