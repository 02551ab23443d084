package ppo

import (
	"math"
	"testing"
)

// gaeClosedForm is A_t for an episode of length L (steps 0..L-1, terminated after step
// L-1) with constant value v and reward 1 only on the last step, as sum_l (gamma
// lambda)^l delta_{t+l} with delta = gamma v - v before the last step and 1 - v on it. It is
// derived on paper, independently of computeGAE's recursion (SB3 tests/test_gae.py builds
// the same episode).
func gaeClosedForm(t, L int, v, gamma, lambda float64) float64 {
	gl := gamma * lambda
	var a float64
	for l := 0; l <= L-2-t; l++ {
		a += math.Pow(gl, float64(l)) * (gamma*v - v)
	}
	return a + math.Pow(gl, float64(L-1-t))*(1-v)
}

func TestGAEMatchesHandComputed(t *testing.T) {
	const L = 64    // episode length, as SB3's test
	const v = 0.625 // constant value (exact in float32)
	for _, gamma := range []float64{1, 0.99} {
		for _, lambda := range []float64{1, 0.9} {
			for _, episodes := range []int{1, 3} {
				T := L * episodes
				rewards := make([]float64, T)
				values := make([]float32, T)
				starts := make([]bool, T)
				for k := range T {
					values[k] = v
					if k%L == L-1 {
						rewards[k] = 1
					}
					starts[k] = k%L == 0
				}
				adv, ret := make([]float64, T), make([]float64, T)
				// The last step ends an episode: the next value (here 42) must be ignored.
				computeGAE(adv, ret, rewards, values, starts, []float32{42}, []bool{true}, T, 1, gamma, lambda)
				for k := range T {
					want := gaeClosedForm(k%L, L, v, gamma, lambda)
					// 1e-12: the recursion and the closed form sum the same float64 terms in
					// different orders.
					if math.Abs(adv[k]-want) > 1e-12 {
						t.Fatalf("gamma %g lambda %g episodes %d: adv[%d] = %.15g, want %.15g", gamma, lambda, episodes, k, adv[k], want)
					}
					if math.Abs(ret[k]-(want+v)) > 1e-12 {
						t.Fatalf("gamma %g lambda %g episodes %d: ret[%d] = %.15g, want adv + value = %.15g", gamma, lambda, episodes, k, ret[k], want+v)
					}
				}
			}
		}
	}
}

// Two envs, step-major: env 0 ends an episode at step 1 and runs on past the rollout (its
// tail bootstraps from lastValues), env 1 ends at the last step. Every number below is
// worked by hand from delta_t = r_t + gamma V_{t+1} (1 - start_{t+1}) - V_t and
// A_t = delta_t + gamma lambda (1 - start_{t+1}) A_{t+1}, gamma = 0.5, lambda = 0.5.
func TestGAEPerEnvBoundariesAndBootstrap(t *testing.T) {
	// step:      0          1          2
	// env 0: r 1, V 2    r 0, V 1    r 2, V 4   then V(next) = 8, not an episode start
	// env 1: r 0, V 0    r 1, V 2    r 3, V 1   then an episode start (V(next) 100 ignored)
	// episode starts: env 0 at step 2 (step 1 ended), env 1 none inside the rollout.
	rewards := []float64{1, 0, 0, 1, 2, 3}
	values := []float32{2, 0, 1, 2, 4, 1}
	starts := []bool{true, true, false, false, true, false}
	adv, ret := make([]float64, 6), make([]float64, 6)
	computeGAE(adv, ret, rewards, values, starts, []float32{8, 100}, []bool{false, true}, 3, 2, 0.5, 0.5)
	// env 0: A2 = 2 + 0.5*8 - 4 = 2; A1 = 0 - 1 = -1 (step 2 starts an episode);
	//        A0 = 1 + 0.5*1 - 2 + 0.25*(-1) = -0.75.
	// env 1: A2 = 3 - 1 = 2 (episode ends); A1 = 1 + 0.5*1 - 2 + 0.25*2 = 0;
	//        A0 = 0 + 0.5*2 - 0 + 0.25*0 = 1.
	want := []float64{-0.75, 1, -1, 0, 2, 2}
	for k := range want {
		if adv[k] != want[k] {
			t.Errorf("adv[%d] = %g, want %g", k, adv[k], want[k])
		}
		if ret[k] != want[k]+float64(values[k]) {
			t.Errorf("ret[%d] = %g, want %g", k, ret[k], want[k]+float64(values[k]))
		}
	}
}

func TestExplainedVariance(t *testing.T) {
	// ret = 1, 2, 3, 4 (var 1.25); values = 1, 2, 3, 5: residual 0, 0, 0, -1 (mean -0.25,
	// var 0.1875) -> 1 - 0.1875/1.25 = 0.85.
	ev, ok := explainedVariance([]float32{1, 2, 3, 5}, []float64{1, 2, 3, 4})
	if !ok || math.Abs(ev-0.85) > 1e-15 {
		t.Errorf("explained variance = %g, %v; want 0.85, true", ev, ok)
	}
	if _, ok := explainedVariance([]float32{1, 2}, []float64{3, 3}); ok {
		t.Error("explained variance of constant returns reported as defined; want undefined (SB3: NaN)")
	}
}

func TestLearningRateSchedule(t *testing.T) {
	c := DefaultConfig()
	c.LearningRate, c.LRFinalFraction = 3e-4, 0.1
	c.LRSchedule = "linear"
	for _, tc := range []struct {
		p, want float64
	}{
		{0, 3e-4},      // starts at learning_rate
		{0.5, 1.65e-4}, // halfway: 3e-4 (1 - 0.5 x 0.9)
		{1, 3e-5},      // ends at learning_rate x lr_final_fraction
		{1.2, 3e-5},    // the last rollout may pass total_timesteps: clamped
	} {
		if got := learningRate(c, tc.p); math.Abs(got-tc.want) > 1e-18 {
			t.Errorf("linear lr at progress %g = %g, want %g", tc.p, got, tc.want)
		}
	}
	// The direction the original system got wrong: the rate must fall as training goes on.
	for p := 0.0; p < 1; p += 0.125 {
		if learningRate(c, p+0.125) >= learningRate(c, p) {
			t.Fatalf("linear lr does not decrease from progress %g to %g", p, p+0.125)
		}
	}
	c.LRSchedule = "constant"
	if got := learningRate(c, 0.7); got != 3e-4 {
		t.Errorf("constant lr = %g, want 3e-4", got)
	}
}

func BenchmarkGAE(b *testing.B) {
	const T, N = 2048, 8
	rewards, values, starts := make([]float64, T*N), make([]float32, T*N), make([]bool, T*N)
	for k := range rewards {
		rewards[k], values[k], starts[k] = float64(k%7), float32(k%5), k%300 == 0
	}
	adv, ret := make([]float64, T*N), make([]float64, T*N)
	last, lastStarts := make([]float32, N), make([]bool, N)
	b.ReportAllocs()
	for b.Loop() {
		computeGAE(adv, ret, rewards, values, starts, last, lastStarts, T, N, 0.99, 0.95)
	}
}
