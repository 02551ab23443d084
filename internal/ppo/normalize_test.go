package ppo

import (
	"math"
	"testing"
)

// pooled returns the mean and population variance of a prior pseudo-sample (mean 0, var 1,
// weight 1e-4: SB3's fresh RunningMeanStd) pooled with xs, computed directly from the
// definition: mean = (sum of weighted values)/(total weight), var = (prior weight x (prior
// var + (prior mean - mean)^2) + sum (x - mean)^2)/(total weight). This is what the
// parallel-merge formula must equal after any sequence of batches.
func pooled(xs []float64) (mean, variance, count float64) {
	const w = 1e-4
	count = w + float64(len(xs))
	var s float64
	for _, x := range xs {
		s += x
	}
	mean = s / count // the prior's mean is 0
	m2 := w * (1 + mean*mean)
	for _, x := range xs {
		m2 += (x - mean) * (x - mean)
	}
	return mean, m2 / count, count
}

func TestRunningMeanStdMatchesPooledMoments(t *testing.T) {
	// Two features, three batches of different sizes; feature 1 is frozen.
	batches := [][]float32{
		{1, 10, 3, 20},          // rows (1, 10), (3, 20)
		{-2, 30},                // row (-2, 30)
		{5, 40, 0.5, 50, 7, 60}, // rows (5, 40), (0.5, 50), (7, 60)
	}
	r := NewRunningMeanStd(2)
	r.Frozen[1] = true
	var seen []float64
	for _, b := range batches {
		rows := len(b) / 2
		r.Update(b, rows)
		for i := range rows {
			seen = append(seen, float64(b[2*i]))
		}
		mean, variance, count := pooled(seen)
		// 1e-12 relative: a handful of float64 operations in another order.
		if !near(r.Mean[0], mean, 1e-12) || !near(r.Var[0], variance, 1e-12) || !near(r.Count[0], count, 1e-12) {
			t.Fatalf("after %d rows: feature 0 = (mean %.15g, var %.15g, count %.15g), want (%.15g, %.15g, %.15g)",
				len(seen), r.Mean[0], r.Var[0], r.Count[0], mean, variance, count)
		}
	}
	if r.Mean[1] != 0 || r.Var[1] != 1 || r.Count[1] != 1e-4 {
		t.Errorf("frozen feature 1 = (%g, %g, %g), want the fresh (0, 1, 1e-4)", r.Mean[1], r.Var[1], r.Count[1])
	}
}

func TestNormalizeClipsAndUsesEpsilon(t *testing.T) {
	r := NewRunningMeanStd(3)
	copy(r.Mean, []float64{1, 0, -2})
	copy(r.Var, []float64{4, 0, 0.25})
	src := []float32{5, 3, -2}
	dst := make([]float32, 3)
	r.Normalize(dst, src, 1, 10)
	want := []float64{
		(5 - 1) / math.Sqrt(4+1e-8), // 2 - 5e-9
		10,                          // 3/sqrt(1e-8) = 30000, clipped to 10
		0,                           // at the mean
	}
	for j := range want {
		if dst[j] != float32(want[j]) {
			t.Errorf("normalised[%d] = %v, want %v", j, dst[j], float32(want[j]))
		}
	}
	r.Normalize(dst, []float32{-1e6, -1e6, -1e6}, 1, 10)
	for j, x := range dst {
		if x != -10 {
			t.Errorf("normalised[%d] of -1e6 = %v, want -10 (clip_obs)", j, x)
		}
	}
}

// TestRewardNormalizerSequence follows SB3's VecNormalize by hand: R = gamma R + r, ret_rms
// merges the envs' R, r' = clip(r / sqrt(var + 1e-8)), R = 0 where the episode ended.
func TestRewardNormalizerSequence(t *testing.T) {
	const gamma = 0.5
	n := NewRewardNormalizer(2, gamma, 10)
	steps := []struct {
		r    []float64
		done []bool
	}{
		{[]float64{1, 2}, []bool{false, false}},
		{[]float64{2, -1}, []bool{true, false}},
		{[]float64{4, 0}, []bool{false, false}},
	}
	// Returns after each step's update (before the reset):
	//   step 1: R = (1, 2)
	//   step 2: R = (0.5 + 2, 1 - 1) = (2.5, 0); env 0 resets to 0 afterwards
	//   step 3: R = (0 + 4, 0 + 0) = (4, 0)
	returns := [][]float64{{1, 2}, {2.5, 0}, {4, 0}}
	var seen []float64
	out := make([]float64, 2)
	for k, s := range steps {
		n.Step(s.r, s.done, out, true)
		seen = append(seen, returns[k]...)
		_, variance, _ := pooled(seen)
		for i, r := range s.r {
			want := max(-10, min(10, r/math.Sqrt(variance+1e-8)))
			if !near(out[i], want, 1e-12) {
				t.Fatalf("step %d env %d: normalised reward %.15g, want %.15g", k+1, i, out[i], want)
			}
		}
	}
	if n.Returns[0] != 4 || n.Returns[1] != 0 {
		t.Errorf("running returns = %v, want [4 0]", n.Returns)
	}
}

func TestRewardNormalizerClips(t *testing.T) {
	n := NewRewardNormalizer(1, 0.99, 10)
	n.RMS.Var[0] = 1e-6 // a tiny return variance: a reward of 1 scales to ~1000
	out := make([]float64, 1)
	n.Step([]float64{1}, []bool{false}, out, false)
	if out[0] != 10 {
		t.Errorf("normalised reward = %g, want 10 (clip_reward)", out[0])
	}
}

func near(a, b, rel float64) bool { return math.Abs(a-b) <= rel*math.Max(1, math.Abs(b)) }

func BenchmarkObsNormalizer(b *testing.B) {
	const n, d = 8, 261
	r := NewRunningMeanStd(d)
	x := make([]float32, n*d)
	for k := range x {
		x[k] = float32(k%17) - 8
	}
	y := make([]float32, n*d)
	b.ReportAllocs()
	for b.Loop() {
		r.Update(x, n)
		r.Normalize(y, x, n, 10)
	}
}
