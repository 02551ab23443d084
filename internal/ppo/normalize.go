package ppo

import (
	"fmt"
	"math"
)

// normEpsilon is added to the variance before the square root (SB3 VecNormalize's epsilon).
const normEpsilon = 1e-8

// rmsInitCount is the count a fresh RunningMeanStd starts from: SB3's RunningMeanStd
// epsilon, so that the first merge weighs the batch fully without dividing by zero.
const rmsInitCount = 1e-4

// RunningMeanStd tracks the running mean and population variance of each feature with
// stable-baselines3's parallel-merge formula (Chan et al.), with a count PER FEATURE: a
// feature whose statistics are frozen (the transferred Phase 2 block) keeps its count while
// the others grow. A fresh tracker has mean 0, var 1 and count 1e-4, as SB3's.
type RunningMeanStd struct {
	Mean  []float64
	Var   []float64
	Count []float64
	// Frozen[j] keeps feature j's statistics fixed in Update.
	Frozen []bool

	bmean, bvar []float64 // batch moments, reused
}

// NewRunningMeanStd returns a fresh tracker of dim features.
func NewRunningMeanStd(dim int) *RunningMeanStd {
	r := &RunningMeanStd{
		Mean: make([]float64, dim), Var: make([]float64, dim), Count: make([]float64, dim),
		Frozen: make([]bool, dim), bmean: make([]float64, dim), bvar: make([]float64, dim),
	}
	for j := range dim {
		r.Var[j] = 1
		r.Count[j] = rmsInitCount
	}
	return r
}

// Dim is the number of features.
func (r *RunningMeanStd) Dim() int { return len(r.Mean) }

// Update merges a batch of rows (rows x Dim, row-major) into the statistics of every
// feature that is not frozen. Batch moments are the batch mean and population variance,
// summed in row order (a fixed order: the result does not depend on scheduling).
func (r *RunningMeanStd) Update(x []float32, rows int) {
	if rows == 0 {
		return
	}
	dim := r.Dim()
	n := float64(rows)
	for j := range dim {
		if r.Frozen[j] {
			continue
		}
		var s float64
		for i := range rows {
			s += float64(x[i*dim+j])
		}
		m := s / n
		var ss float64
		for i := range rows {
			d := float64(x[i*dim+j]) - m
			ss += d * d
		}
		r.bmean[j], r.bvar[j] = m, ss/n
	}
	r.merge(r.bmean, r.bvar, n)
}

// UpdateFromMoments merges a batch with the given per-feature mean, population variance
// and count into every feature that is not frozen.
func (r *RunningMeanStd) UpdateFromMoments(mean, variance []float64, count float64) {
	r.merge(mean, variance, count)
}

// merge is SB3's RunningMeanStd.update_from_moments, feature by feature:
//
//	delta = bm - m; tot = c + bc; m' = m + delta bc/tot
//	M2 = v c + bv bc + delta^2 c bc/tot; v' = M2/tot; c' = tot
func (r *RunningMeanStd) merge(bmean, bvar []float64, bcount float64) {
	for j := range r.Mean {
		if r.Frozen[j] {
			continue
		}
		c := r.Count[j]
		delta := bmean[j] - r.Mean[j]
		tot := c + bcount
		r.Mean[j] += delta * bcount / tot
		m2 := r.Var[j]*c + bvar[j]*bcount + delta*delta*c*bcount/tot
		r.Var[j] = m2 / tot
		r.Count[j] = tot
	}
}

// Normalize writes clip((x - mean)/sqrt(var + 1e-8), -clip, clip) of rows rows of src into
// dst (both rows x Dim). dst may be src.
func (r *RunningMeanStd) Normalize(dst, src []float32, rows int, clip float64) {
	dim := r.Dim()
	for i := range rows {
		row := src[i*dim : (i+1)*dim]
		out := dst[i*dim : (i+1)*dim]
		for j, x := range row {
			v := (float64(x) - r.Mean[j]) / math.Sqrt(r.Var[j]+normEpsilon)
			out[j] = float32(max(-clip, min(clip, v)))
		}
	}
}

// Clone returns a deep copy (the frozen copy used by evaluation).
func (r *RunningMeanStd) Clone() *RunningMeanStd {
	c := NewRunningMeanStd(r.Dim())
	copy(c.Mean, r.Mean)
	copy(c.Var, r.Var)
	copy(c.Count, r.Count)
	copy(c.Frozen, r.Frozen)
	return c
}

// check reports the first non-finite or negative statistic.
func (r *RunningMeanStd) check(name string) error {
	for j := range r.Mean {
		if !isFinite(r.Mean[j]) || !isFinite(r.Var[j]) || r.Var[j] < 0 || !isFinite(r.Count[j]) || r.Count[j] <= 0 {
			return fmt.Errorf("%s feature %d: mean %g, var %g, count %g", name, j, r.Mean[j], r.Var[j], r.Count[j])
		}
	}
	return nil
}

// RewardNormalizer scales rewards as SB3's VecNormalize does: each env keeps its running
// discounted return R = gamma R + r, the variance of R across steps and envs is tracked by a
// one-feature RunningMeanStd, a reward is divided by sqrt(var + 1e-8) and clipped, and R is
// reset to 0 when the env's episode ends.
type RewardNormalizer struct {
	RMS     *RunningMeanStd
	Returns []float64 // each env's running discounted return
	Gamma   float64
	Clip    float64

	bm, bv [1]float64 // batch moments, reused
}

// NewRewardNormalizer returns a normaliser for n envs.
func NewRewardNormalizer(n int, gamma, clip float64) *RewardNormalizer {
	return &RewardNormalizer{RMS: NewRunningMeanStd(1), Returns: make([]float64, n), Gamma: gamma, Clip: clip}
}

// Step takes the raw rewards of one vectorised step and the envs' episode-end flags,
// updates the return statistics (when update) and writes the normalised rewards to out
// (out may be raw).
func (n *RewardNormalizer) Step(raw []float64, done []bool, out []float64, update bool) {
	if update {
		for i, r := range raw {
			n.Returns[i] = n.Returns[i]*n.Gamma + r
		}
		n.updateRMS()
	}
	scale := math.Sqrt(n.RMS.Var[0] + normEpsilon)
	for i, r := range raw {
		out[i] = max(-n.Clip, min(n.Clip, r/scale))
	}
	for i, d := range done {
		if d {
			n.Returns[i] = 0
		}
	}
}

// updateRMS merges the envs' current returns, in float64 (the returns are float64; SB3's are
// float64 numpy arrays too).
func (n *RewardNormalizer) updateRMS() {
	k := float64(len(n.Returns))
	var s float64
	for _, v := range n.Returns {
		s += v
	}
	m := s / k
	var ss float64
	for _, v := range n.Returns {
		d := v - m
		ss += d * d
	}
	n.bm[0], n.bv[0] = m, ss/k
	n.RMS.merge(n.bm[:], n.bv[:], k)
}

func isFinite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
