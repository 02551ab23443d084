package vec

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkVec/<kernel>/n=<n>/<level> times every kernel at every level the CPU runs, at
// n = 512 (a layer's width) and, for the kernels that run over all parameters (Adam,
// SumSquares), n = 623583 (the default network's parameter count). The bytes per call
// (b.SetBytes, and the GB/s metric) are those read plus those written: AddBias and
// AddBiasReLU 12 per element (y, b; y), ReLUGrad 12 (g, y; dst), AddTo64 20 (acc, x; acc),
// SumSquares 4 (x), Adam 28 (p, g, m, v; p, m, v).
func BenchmarkVec(b *testing.B) {
	const params = 623583
	r := rand.New(rand.NewPCG(5, 6))
	rnd := func(n int, scale float64) []float32 {
		s := make([]float32, n)
		for i := range s {
			s[i] = float32(r.NormFloat64() * scale)
		}
		return s
	}
	kernels := []struct {
		name  string
		bytes int // per element
		sizes []int
		setup func(n int) func()
	}{
		{"AddBias", 12, []int{512}, func(n int) func() {
			y, bias := rnd(n, 1), rnd(n, 1e-3)
			return func() { AddBias(y, bias) }
		}},
		{"AddBiasReLU", 12, []int{512}, func(n int) func() {
			y, bias := rnd(n, 1), rnd(n, 1e-3)
			return func() { AddBiasReLU(y, bias) }
		}},
		{"ReLUGrad", 12, []int{512}, func(n int) func() {
			dst, g, y := make([]float32, n), rnd(n, 1), rnd(n, 1)
			return func() { ReLUGrad(dst, g, y) }
		}},
		{"AddTo64", 20, []int{512}, func(n int) func() {
			acc, x := make([]float64, n), rnd(n, 1)
			return func() { AddTo64(acc, x) }
		}},
		{"SumSquares", 4, []int{512, params}, func(n int) func() {
			x := rnd(n, 1)
			return func() { SumSquares(x) }
		}},
		{"Adam", 28, []int{512, params}, func(n int) func() {
			p, g, m, v := rnd(n, 1), rnd(n, 0.1), make([]float32, n), make([]float32, n)
			s := NewAdamStep(3e-4, 0.9, 0.999, 1e-8, 10, 1)
			return func() { Adam(p, g, m, v, s) }
		}},
	}
	for _, k := range kernels {
		for _, n := range k.sizes {
			for _, l := range levels() {
				b.Run(fmt.Sprintf("%s/n=%d/%s", k.name, n, l), func(b *testing.B) {
					defer setLevel(l)()
					f := k.setup(n)
					b.SetBytes(int64(k.bytes * n))
					b.ReportAllocs()
					b.ResetTimer()
					for range b.N {
						f()
					}
					b.ReportMetric(float64(k.bytes*n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
				})
			}
		}
	}
}
