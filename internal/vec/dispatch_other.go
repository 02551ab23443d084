//go:build !amd64

package vec

// cpuLevel is the best kernel set this CPU runs: the Go kernels on this architecture.
const cpuLevel = levelGeneric

func addBias(y, b []float32)             { addBiasGo(y, b) }
func addBiasReLU(y, b []float32)         { addBiasReLUGo(y, b) }
func reluGrad(dst, g, y []float32)       { reluGradGo(dst, g, y) }
func addTo64(acc []float64, x []float32) { addTo64Go(acc, x) }
func sumSquares(x []float32) float64     { return sumSquaresGo(x) }
func adam(p, g, m, v []float32, s AdamStep) {
	adamGo(p, g, m, v, s)
}
