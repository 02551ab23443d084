package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"gonum.org/v1/gonum/blas"
)

// levels returns every level the tests may run, lowest first: those the CPU has, up to one
// forced with HYBRIDTRAIN_SIMD (CI runs the tests so, as on a CPU without AVX-512 or AVX2).
func levels() []level {
	var ls []level
	for l := levelGeneric; l <= ceiling(); l++ {
		ls = append(ls, l)
	}
	return ls
}

func ceiling() level { return chooseLevel(detected, os.Getenv(envLevel)) }

// forEachLevel runs f as a subtest at every level this machine can run.
func forEachLevel(t *testing.T, f func(t *testing.T)) {
	for _, l := range levels() {
		t.Run(l.String(), func(t *testing.T) {
			defer setLevel(l)()
			f(t)
		})
	}
}

const (
	eps32 = 0x1p-23
	// cSentinel fills the padding of C (columns n..ldc-1); Sgemm must leave it as it is.
	cSentinel = float32(1234.5)
)

// gemmCase is one Sgemm call with its inputs. The padding of A and B (past each row's
// length) holds NaN, so a kernel that reads it poisons C; the padding of C holds cSentinel.
type gemmCase struct {
	tA, tB        blas.Transpose
	m, n, k       int
	alpha, beta   float32
	a, b, c0      []float32
	lda, ldb, ldc int
}

func (tc *gemmCase) String() string {
	name := func(x blas.Transpose) string {
		if x == blas.NoTrans {
			return "N"
		}
		return "T"
	}
	return fmt.Sprintf("%s%s m=%d n=%d k=%d alpha=%g beta=%g lda=%d ldb=%d ldc=%d",
		name(tc.tA), name(tc.tB), tc.m, tc.n, tc.k, tc.alpha, tc.beta, tc.lda, tc.ldb, tc.ldc)
}

// newCase builds a case with random entries in [-1, 1) and pad extra columns per row.
func newCase(rng *rand.Rand, tA, tB blas.Transpose, m, n, k int, alpha, beta float32, pad int) *gemmCase {
	tc := &gemmCase{tA: tA, tB: tB, m: m, n: n, k: k, alpha: alpha, beta: beta}
	ar, ac := m, k
	if tA != blas.NoTrans {
		ar, ac = k, m
	}
	br, bc := k, n
	if tB != blas.NoTrans {
		br, bc = n, k
	}
	tc.lda, tc.ldb, tc.ldc = max(1, ac+pad), max(1, bc+pad), max(1, n+pad)
	tc.a = matrix(rng, ar, ac, tc.lda, float32(math.NaN()))
	tc.b = matrix(rng, br, bc, tc.ldb, float32(math.NaN()))
	tc.c0 = matrix(rng, m, n, tc.ldc, cSentinel)
	return tc
}

func matrix(rng *rand.Rand, rows, cols, ld int, padding float32) []float32 {
	x := make([]float32, rows*ld)
	for i := range rows {
		for j := range ld {
			if j < cols {
				x[i*ld+j] = 2*rng.Float32() - 1
			} else {
				x[i*ld+j] = padding
			}
		}
	}
	return x
}

func (tc *gemmCase) opA(i, p int) float64 {
	if tc.tA == blas.NoTrans {
		return float64(tc.a[i*tc.lda+p])
	}
	return float64(tc.a[p*tc.lda+i])
}

func (tc *gemmCase) opB(p, j int) float64 {
	if tc.tB == blas.NoTrans {
		return float64(tc.b[p*tc.ldb+j])
	}
	return float64(tc.b[j*tc.ldb+p])
}

// ref returns C[i][j] computed in float64 and a bound on the error of a float32 GEMM:
// 4*eps*(k+2)*(|alpha|*sum|a*b| + |beta*c0|), comfortably above any summation order's.
func (tc *gemmCase) ref(i, j int) (v, bound float64) {
	c0 := float64(tc.c0[i*tc.ldc+j])
	var cterm float64
	if tc.beta != 0 {
		cterm = float64(tc.beta) * c0
	}
	if tc.alpha == 0 {
		return cterm, 4 * eps32 * math.Abs(cterm)
	}
	var sum, abs float64
	for p := range tc.k {
		x := tc.opA(i, p) * tc.opB(p, j)
		sum += x
		abs += math.Abs(x)
	}
	v = float64(tc.alpha)*sum + cterm
	return v, 4*eps32*float64(tc.k+2)*(math.Abs(float64(tc.alpha))*abs+math.Abs(cterm)) + 1e-30
}

// run calls f (Sgemm or gonum's) on a copy of C and returns it.
func (tc *gemmCase) run(f func(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)) []float32 {
	c := append([]float32(nil), tc.c0...)
	f(tc.tA, tc.tB, tc.m, tc.n, tc.k, tc.alpha, tc.a, tc.lda, tc.b, tc.ldb, tc.beta, c, tc.ldc)
	return c
}

// check compares c with the reference (every element, or about samples of them for large
// products) and verifies that C's padding is untouched. It reports at most a few errors.
func (tc *gemmCase) check(t testing.TB, c []float32, samples int) {
	t.Helper()
	bad := 0
	report := func(format string, args ...any) {
		bad++
		if bad <= 3 {
			t.Errorf("%v: "+format, append([]any{tc}, args...)...)
		}
	}
	step := 1
	if samples > 0 && tc.m*tc.n > samples {
		step = tc.m*tc.n/samples | 1 // odd, so that it visits varied columns
	}
	for e := 0; e < tc.m*tc.n; e += step {
		i, j := e/tc.n, e%tc.n
		want, bound := tc.ref(i, j)
		got := c[i*tc.ldc+j]
		if d := math.Abs(float64(got) - want); !(d <= bound) {
			report("C[%d][%d] = %g, want %g (error %.3g > bound %.3g)", i, j, got, want, d, bound)
		}
	}
	if step > 1 { // the last row and column hold the edge tiles
		for i := range tc.m {
			tc.checkOne(c, i, tc.n-1, report)
		}
		for j := range tc.n {
			tc.checkOne(c, tc.m-1, j, report)
		}
	}
	for i := range tc.m {
		for j := tc.n; j < tc.ldc; j++ {
			if got := c[i*tc.ldc+j]; math.Float32bits(got) != math.Float32bits(cSentinel) {
				report("padding C[%d][%d] = %g was written", i, j, got)
			}
		}
	}
}

func (tc *gemmCase) checkOne(c []float32, i, j int, report func(string, ...any)) {
	want, bound := tc.ref(i, j)
	got := c[i*tc.ldc+j]
	if d := math.Abs(float64(got) - want); !(d <= bound) {
		report("C[%d][%d] = %g, want %g (error %.3g > bound %.3g)", i, j, got, want, d, bound)
	}
}

var (
	transposes = []blas.Transpose{blas.NoTrans, blas.Trans}
	scalars    = []float32{0, 1, -0.5, 2}
)

func pick[T any](rng *rand.Rand, xs []T) T { return xs[rng.IntN(len(xs))] }

func bitsEqual(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}
