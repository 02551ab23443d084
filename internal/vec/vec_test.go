package vec

import (
	"math"
	"testing"
)

func TestAddBiasReLUByHand(t *testing.T) {
	nan := float32(math.NaN())
	y := []float32{1, -2, 0.5, nan, -1, 3}
	b := []float32{0.5, 1, -0.5, 0, 1, -4, 99} // longer than y: the tail is not read
	AddBiasReLU(y, b)
	want := []float32{1.5, 0, 0, nan, 0, 0}
	for i := range want {
		if !(y[i] == want[i] || (y[i] != y[i] && want[i] != want[i])) {
			t.Errorf("y[%d] = %v, want %v", i, y[i], want[i])
		}
	}
	z := []float32{1, -2}
	AddBias(z, []float32{0.25, 0.5})
	if z[0] != 1.25 || z[1] != -1.5 {
		t.Errorf("AddBias: %v, want [1.25 -1.5]", z)
	}
}

func TestReLUGradByHand(t *testing.T) {
	nan := float32(math.NaN())
	g := []float32{1, 2, 3, 4, 5}
	y := []float32{0.5, 0, -1, nan, 2}
	dst := make([]float32, 5)
	ReLUGrad(dst, g, y)
	want := []float32{1, 0, 0, 0, 5}
	for i := range want {
		if dst[i] != want[i] {
			t.Errorf("dst[%d] = %v, want %v", i, dst[i], want[i])
		}
	}
	ReLUGrad(g, g, y) // in place
	for i := range want {
		if g[i] != want[i] {
			t.Errorf("in place: g[%d] = %v, want %v", i, g[i], want[i])
		}
	}
}

func TestSumsByHand(t *testing.T) {
	acc := []float64{1, 2, 3}
	AddTo64(acc, []float32{0.5, -2, 1e-8, 7})
	if acc[0] != 1.5 || acc[1] != 0 || acc[2] != 3+float64(float32(1e-8)) {
		t.Errorf("AddTo64: %v", acc)
	}
	// 3^2 + 4^2 + 0.5^2 + 1e20^2 in float64 (1e40 overflows float32, not float64).
	if got := SumSquares([]float32{3, 4, 0.5}); got != 25.25 {
		t.Errorf("SumSquares = %v, want 25.25", got)
	}
	if got, want := SumSquares([]float32{1e20}), float64(float32(1e20))*float64(float32(1e20)); got != want {
		t.Errorf("SumSquares(1e20) = %v, want %v (float64 accumulation)", got, want)
	}
	if got := SumSquares(nil); got != 0 {
		t.Errorf("SumSquares(nil) = %v", got)
	}
}

// TestAdamByHand: two steps with lr 0.1, betas 0.9/0.999, eps 1e-8, p0 = 1, gradients 0.5
// then -0.25 (values worked out in internal/device's TestAdamTwoStepsByHand).
func TestAdamByHand(t *testing.T) {
	p, m, v := []float32{1}, []float32{0}, []float32{0}
	for step, g := range []float32{0.5, -0.25} {
		Adam(p, []float32{g}, m, v, NewAdamStep(0.1, 0.9, 0.999, 1e-8, step+1, 1))
	}
	// float32 arithmetic: a few ulps per operation.
	if math.Abs(float64(p[0])-0.873366386) > 2e-6 || math.Abs(float64(m[0])-0.02) > 0.02*1e-6 ||
		math.Abs(float64(v[0])-0.00031225) > 0.00031225*1e-6 {
		t.Fatalf("after two steps p, m, v = %v, %v, %v; want 0.873366386, 0.02, 0.00031225", p[0], m[0], v[0])
	}
}
