package gemm

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// Implementation is gonum's native BLAS with Sgemm replaced by this package's, so it
// satisfies blas.Float32, blas.Float64, blas.Complex64 and blas.Complex128 and can be given
// to gorgonia.Use and blas32.Use.
type Implementation struct{ gonum.Implementation }

var _ blas.Float32 = Implementation{}

// Sgemm is the package-level Sgemm; see there.
func (Implementation) Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	Sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// Sgemm computes C = alpha*op(A)*op(B) + beta*C for row-major float32 matrices, where op(A)
// is m x k, op(B) is k x n and C is m x n, with the signature, argument checks (the same
// panics) and special cases of gonum's Sgemm: beta == 0 overwrites C, so NaN or Inf already
// in C does not propagate; m == 0 or n == 0 returns at once; k == 0 scales C by beta.
// alpha == 0 scales C by beta without reading A or B, as the reference BLAS does (gonum
// v0.17.0 still multiplies by alpha, so that NaN or Inf in A or B reaches C); this holds at
// every level, the generic one included.
//
// The result does not depend on the number of threads or on timing.
func Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	transA, transB := checkArgs(tA, tB, m, n, k, a, lda, b, ldb, c, ldc)
	if m == 0 || n == 0 {
		return
	}
	if alpha == 0 || k == 0 {
		scale(m, n, beta, c, ldc)
		return
	}
	lv := active
	if lv == levelGeneric {
		gonum.Implementation{}.Sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	compute(&problem{
		transA: transA, transB: transB,
		m: m, n: n, k: k,
		alpha: alpha, beta: beta,
		a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc,
		lv: lv,
	})
}

// Panic messages, the same as gonum's so that callers cannot tell the two apart.
const (
	badTranspose = "blas: illegal transpose"
	mLT0         = "blas: m < 0"
	nLT0         = "blas: n < 0"
	kLT0         = "blas: k < 0"
	badLdA       = "blas: bad leading dimension of A"
	badLdB       = "blas: bad leading dimension of B"
	badLdC       = "blas: bad leading dimension of C"
	shortA       = "blas: insufficient length of a"
	shortB       = "blas: insufficient length of b"
	shortC       = "blas: insufficient length of c"
)

// checkArgs panics, in gonum's order, on arguments gonum's Sgemm rejects, and reports
// whether A and B are transposed. The slice lengths are only checked when C is not empty,
// as in gonum.
func checkArgs(tA, tB blas.Transpose, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) (transA, transB bool) {
	transposed := func(t blas.Transpose) bool {
		switch t {
		case blas.NoTrans:
			return false
		case blas.Trans, blas.ConjTrans:
			return true
		}
		panic(badTranspose)
	}
	transA, transB = transposed(tA), transposed(tB)
	switch {
	case m < 0:
		panic(mLT0)
	case n < 0:
		panic(nLT0)
	case k < 0:
		panic(kLT0)
	case transA && lda < max(1, m), !transA && lda < max(1, k):
		panic(badLdA)
	case transB && ldb < max(1, k), !transB && ldb < max(1, n):
		panic(badLdB)
	case ldc < max(1, n):
		panic(badLdC)
	}
	if m == 0 || n == 0 {
		return
	}
	switch {
	case transA && len(a) < (k-1)*lda+m, !transA && len(a) < (m-1)*lda+k:
		panic(shortA)
	case transB && len(b) < (n-1)*ldb+k, !transB && len(b) < (k-1)*ldb+n:
		panic(shortB)
	case len(c) < (m-1)*ldc+n:
		panic(shortC)
	}
	return
}

// scale sets C = beta*C, with beta == 0 writing zeros (not 0*C, which keeps NaN).
func scale(m, n int, beta float32, c []float32, ldc int) {
	if beta == 1 {
		return
	}
	for i := range m {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}
