package vec

import "math"

// The plain Go kernels: the definition of every function's result, the implementation on
// CPUs without AVX2, and the reference the assembly is tested against. Callers have
// already cut every slice to the length of the first.

func addBiasGo(y, b []float32) {
	for i := range y {
		y[i] += b[i]
	}
}

func addBiasReLUGo(y, b []float32) {
	for i := range y {
		s := y[i] + b[i]
		if s < 0 {
			s = 0
		}
		y[i] = s
	}
}

func reluGradGo(dst, g, y []float32) {
	for i := range dst {
		if y[i] > 0 {
			dst[i] = g[i]
		} else {
			dst[i] = 0
		}
	}
}

func addTo64Go(acc []float64, x []float32) {
	for i := range acc {
		acc[i] += float64(x[i])
	}
}

func sumSquaresGo(x []float32) float64 {
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return s
}

func adamGo(p, g, m, v []float32, s AdamStep) {
	b1, b2 := s.Beta1, s.Beta2
	c1, c2 := s.OneMinusBeta1, s.OneMinusBeta2
	for i := range p {
		gi := g[i] * s.GradScale
		mi := b1*m[i] + c1*gi
		vi := b2*v[i] + c2*gi*gi
		m[i], v[i] = mi, vi
		denom := float32(math.Sqrt(float64(vi)))/s.BC2Sqrt + s.Eps
		p[i] -= s.StepSize * (mi / denom)
	}
}

func pow(x float64, n int) float64 { return math.Pow(x, float64(n)) }

func sqrt64(x float64) float64 { return math.Sqrt(x) }
