//go:build !cuda

package policy

import (
	"math"

	"gonum.org/v1/gonum/blas"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"hybridtrain/internal/gemm"
	"hybridtrain/internal/vec"
)

// The arithmetic of the graph's ops, once per element type: float32 for training (GEMM
// through gorgonia's BLAS, the fast SGEMM of internal/gemm by default; bias, activation and
// column sums through internal/vec), float64 for the finite-difference test (gonum's DGEMM
// and plain loops). Function fields instead of type switches keep the generic ops free of
// interface conversions, hence of allocations.

func init() {
	// gorgonia (and its tensor package) run every float32 matrix product through this BLAS:
	// gonum's pure-Go implementation with Sgemm replaced by internal/gemm's SIMD kernels.
	G.Use(gemm.Implementation{})
}

// num is a graph's element type.
type num interface{ ~float32 | ~float64 }

// kernels is the arithmetic the ops need for one element type.
type kernels[T num] struct {
	dtype tensor.Dtype
	// gemm computes C = op(A) op(B) + beta C (alpha 1), row-major, as BLAS.
	gemm func(tA, tB bool, m, n, k int, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int)
	// addBias and addBiasReLU add the bias to one row (and apply the ReLU).
	addBias, addBiasReLU func(y, b []T)
	// reluGrad sets dst = g where y > 0, else 0.
	reluGrad func(dst, g, y []T)
	// addTo64 adds one row into float64 column sums.
	addTo64 func(acc []float64, x []T)
}

var kernels32 = &kernels[float32]{
	dtype: tensor.Float32,
	gemm: func(tA, tB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
		G.WhichBLAS().Sgemm(trans(tA), trans(tB), m, n, k, 1, a, lda, b, ldb, beta, c, ldc)
	},
	addBias:     vec.AddBias,
	addBiasReLU: vec.AddBiasReLU,
	reluGrad:    vec.ReLUGrad,
	addTo64:     vec.AddTo64,
}

var kernels64 = &kernels[float64]{
	dtype: tensor.Float64,
	gemm: func(tA, tB bool, m, n, k int, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
		G.WhichBLAS().Dgemm(trans(tA), trans(tB), m, n, k, 1, a, lda, b, ldb, beta, c, ldc)
	},
	addBias:     addBiasLoop[float64],
	addBiasReLU: addBiasReLULoop[float64],
	reluGrad:    reluGradLoop[float64],
	addTo64:     addTo64Loop[float64],
}

func trans(t bool) blas.Transpose {
	if t {
		return blas.Trans
	}
	return blas.NoTrans
}

func addBiasLoop[T num](y, b []T) {
	for i := range y {
		y[i] += b[i]
	}
}

// addBiasReLULoop keeps a NaN sum NaN, as vec.AddBiasReLU.
func addBiasReLULoop[T num](y, b []T) {
	for i := range y {
		s := y[i] + b[i]
		if s < 0 {
			s = 0
		}
		y[i] = s
	}
}

func reluGradLoop[T num](dst, g, y []T) {
	for i := range dst {
		if y[i] > 0 {
			dst[i] = g[i]
		} else {
			dst[i] = 0
		}
	}
}

func addTo64Loop[T num](acc []float64, x []T) {
	for i := range acc {
		acc[i] += float64(x[i])
	}
}

// addBiasTanh sets y = tanh(y + b) over one row (tanh networks are rare: plain Go).
func addBiasTanh[T num](y, b []T) {
	for i := range y {
		y[i] = T(math.Tanh(float64(y[i] + b[i])))
	}
}

// tanhGrad sets dst = g (1 - y^2), y the tanh's output.
func tanhGrad[T num](dst, g, y []T) {
	for i := range dst {
		dst[i] = g[i] * (1 - y[i]*y[i])
	}
}
