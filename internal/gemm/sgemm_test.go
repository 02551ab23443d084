package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/gonum"
)

var (
	_ blas.Float32    = Implementation{}
	_ blas.Float64    = Implementation{}
	_ blas.Complex64  = Implementation{}
	_ blas.Complex128 = Implementation{}
)

var gonumSgemm = gonum.Implementation{}.Sgemm

// TestSmallShapes covers every m, n and k in 1..67 (so every edge tile of both kernel
// families, in-place and packed B) with random other dimensions, transposes, alpha, beta
// and padded leading dimensions, against the float64 reference and against gonum.
func TestSmallShapes(t *testing.T) {
	forEachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(1, 2))
		for i := 0; i < 3*67+200; i++ {
			m, n, k := 1+rng.IntN(67), 1+rng.IntN(67), 1+rng.IntN(67)
			switch i / 67 {
			case 0:
				m = 1 + i
			case 1:
				n = 1 + i%67
			case 2:
				k = 1 + i%67
			}
			if i%10 == 9 {
				k = 250 + rng.IntN(300) // more than one k block
			}
			tc := newCase(rng, pick(rng, transposes), pick(rng, transposes), m, n, k,
				pick(rng, scalars), pick(rng, scalars), rng.IntN(3)*rng.IntN(20))
			got := tc.run(Sgemm)
			tc.check(t, got, 0)
			want := tc.run(gonumSgemm)
			tc.check(t, want, 0) // validates the reference too
			for e := range got {
				if d := math.Abs(float64(got[e] - want[e])); !(d <= 1e-4*float64(k)) {
					t.Fatalf("%v: element %d = %g, gonum %g", tc, e, got[e], want[e])
				}
			}
		}
	})
}

// layers are the network's (inputs, outputs) widths: the adapter, the trunk and the heads.
var layers = [][2]int{{261, 228}, {228, 512}, {512, 256}, {256, 128}, {128, 6}, {128, 1}}

// TestNetworkShapes runs the products of the MLP's forward and backward passes at the
// batch sizes it uses: NN: Y[rows x out] = X[rows x in] W[in x out]; NT: dX[rows x in] =
// dY[rows x out] W^T; TN: dW[in x out] = X^T dY.
func TestNetworkShapes(t *testing.T) {
	forEachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(3, 4))
		for _, rows := range []int{1, 8, 16, 64, 256, 2048} {
			for _, l := range layers {
				in, out := l[0], l[1]
				for _, tc := range []*gemmCase{
					newCase(rng, blas.NoTrans, blas.NoTrans, rows, out, in, 1, 0, 0),
					newCase(rng, blas.NoTrans, blas.Trans, rows, in, out, 1, 0, 0),
					newCase(rng, blas.Trans, blas.NoTrans, in, out, rows, 1, 1, 0),
				} {
					tc.alpha, tc.beta = pick(rng, scalars), pick(rng, scalars)
					tc.check(t, tc.run(Sgemm), 3000)
				}
			}
		}
	})
}

// TestImplementation checks that the BLAS value uses this package's Sgemm and can be
// registered with blas32.
func TestImplementation(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	tc := newCase(rng, blas.NoTrans, blas.Trans, 40, 50, 60, 1, 0, 3)
	if got, want := tc.run(Implementation{}.Sgemm), tc.run(Sgemm); !bitsEqual(got, want) {
		t.Errorf("Implementation.Sgemm differs from Sgemm")
	}
	old := blas32.Implementation()
	blas32.Use(Implementation{})
	defer blas32.Use(old)
	a := blas32.General{Rows: 2, Cols: 2, Stride: 2, Data: []float32{1, 2, 3, 4}}
	c := blas32.General{Rows: 2, Cols: 2, Stride: 2, Data: make([]float32, 4)}
	blas32.Gemm(blas.NoTrans, blas.NoTrans, 1, a, a, 0, c)
	if want := []float32{7, 10, 15, 22}; !bitsEqual(c.Data, want) {
		t.Errorf("blas32.Gemm through Implementation = %v, want %v", c.Data, want)
	}
}

// TestSpecialCases covers what gonum's documentation promises about NaN, Inf, alpha == 0,
// beta == 0 and empty dimensions.
func TestSpecialCases(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	isNaN := func(x float32) bool { return x != x }
	forEachLevel(t, func(t *testing.T) {
		for _, size := range []int{3, 40} { // single tile, and tiles plus edges
			n := size
			fill := func(v float32) []float32 {
				x := make([]float32, n*n)
				for i := range x {
					x[i] = v
				}
				return x
			}
			one := fill(1)

			// NaN or Inf in A or B reaches C.
			a := fill(1)
			a[n+2] = nan // row 1
			c := fill(0)
			Sgemm(blas.NoTrans, blas.NoTrans, n, n, n, 1, a, n, one, n, 0, c, n)
			for j := range n {
				if !isNaN(c[n+j]) || isNaN(c[j]) {
					t.Fatalf("n=%d: NaN in A row 1: C[0][%d]=%g C[1][%d]=%g", n, j, c[j], j, c[n+j])
				}
			}
			b := fill(1)
			b[2*n+1] = inf // column 1
			Sgemm(blas.NoTrans, blas.NoTrans, n, n, n, 1, one, n, b, n, 0, c, n)
			if !math.IsInf(float64(c[n*(n-1)+1]), 1) || c[0] != float32(n) {
				t.Fatalf("n=%d: Inf in B column 1: C = %v", n, c[:n])
			}

			// beta == 0 does not propagate NaN or Inf already in C.
			c = fill(nan)
			c[1] = inf
			Sgemm(blas.NoTrans, blas.Trans, n, n, n, 1, one, n, one, n, 0, c, n)
			for i, v := range c {
				if v != float32(n) {
					t.Fatalf("n=%d: beta=0 over NaN C: C[%d] = %g", n, i, v)
				}
			}
			// beta != 0 does.
			c = fill(2)
			c[n+1] = nan
			Sgemm(blas.Trans, blas.NoTrans, n, n, n, 1, one, n, one, n, 0.5, c, n)
			if !isNaN(c[n+1]) || c[0] != float32(n)+1 {
				t.Fatalf("n=%d: beta=0.5: C[0]=%g C[1][1]=%g", n, c[0], c[n+1])
			}

			// alpha == 0 reads neither A nor B: NaN there does not reach C.
			bad := fill(nan)
			for _, beta := range []float32{0, 1, -0.5} {
				c = fill(3)
				Sgemm(blas.NoTrans, blas.NoTrans, n, n, n, 0, bad, n, bad, n, beta, c, n)
				for i, v := range c {
					if v != 3*beta {
						t.Fatalf("n=%d: alpha=0 beta=%g: C[%d] = %g, want %g", n, beta, i, v, 3*beta)
					}
				}
			}
			// alpha == 0, beta == 0 zeroes C even where it held NaN.
			c = fill(nan)
			Sgemm(blas.NoTrans, blas.NoTrans, n, n, n, 0, bad, n, bad, n, 0, c, n)
			for i, v := range c {
				if v != 0 {
					t.Fatalf("n=%d: alpha=0 beta=0: C[%d] = %g", n, i, v)
				}
			}
			// k == 0 scales C by beta.
			c = fill(4)
			Sgemm(blas.NoTrans, blas.NoTrans, n, n, 0, 1, one, 1, nil, n, -0.5, c, n)
			if c[0] != -2 || c[n*n-1] != -2 {
				t.Fatalf("n=%d: k=0 beta=-0.5: C = %v", n, c[:n])
			}
			// m == 0 and n == 0 touch nothing, whatever the slices.
			Sgemm(blas.NoTrans, blas.NoTrans, 0, n, n, 1, nil, n, nil, n, 0, nil, n)
			Sgemm(blas.NoTrans, blas.NoTrans, n, 0, n, 1, nil, n, nil, 1, 0, nil, 1)
		}
	})
}

// TestPanics checks that bad arguments panic with gonum's message, in gonum's order.
func TestPanics(t *testing.T) {
	s := make([]float32, 100)
	type args struct {
		tA, tB        blas.Transpose
		m, n, k       int
		a, b, c       []float32
		lda, ldb, ldc int
	}
	ok := args{blas.NoTrans, blas.NoTrans, 4, 5, 6, s, s, s, 6, 5, 5}
	cases := []func(x *args){
		func(x *args) { x.tA = 'X' },
		func(x *args) { x.tB = 0 },
		func(x *args) { x.tA, x.m = 'X', -1 },
		func(x *args) { x.m = -1 },
		func(x *args) { x.n = -1 },
		func(x *args) { x.k = -1 },
		func(x *args) { x.m, x.n = -1, -1 },
		func(x *args) { x.lda = 5 },
		func(x *args) { x.tA, x.lda = blas.Trans, 3 },
		func(x *args) { x.ldb = 4 },
		func(x *args) { x.tB, x.ldb = blas.Trans, 5 },
		func(x *args) { x.ldc = 4 },
		func(x *args) { x.lda, x.ldc = 5, 4 },
		func(x *args) { x.k, x.lda = 0, 0 },
		func(x *args) { x.a = s[:23] },
		func(x *args) { x.tA, x.lda, x.a = blas.ConjTrans, 4, s[:23] },
		func(x *args) { x.b = s[:29] },
		func(x *args) { x.tB, x.ldb, x.b = blas.Trans, 6, s[:29] },
		func(x *args) { x.c = s[:19] },
		func(x *args) { x.a, x.b, x.c = nil, nil, nil },
		func(x *args) { x.m, x.a, x.c = 0, nil, nil }, // m == 0: lengths are not checked
		func(x *args) { x.k, x.a, x.b = 0, nil, nil },
	}
	call := func(f func(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int), x args) (msg any) {
		defer func() { msg = recover() }()
		c := append([]float32(nil), x.c...)
		f(x.tA, x.tB, x.m, x.n, x.k, 1, x.a, x.lda, x.b, x.ldb, 0, c, x.ldc)
		return nil
	}
	panicked := 0
	forEachLevel(t, func(t *testing.T) {
		for i, mod := range cases {
			x := ok
			mod(&x)
			got, want := call(Sgemm, x), call(gonumSgemm, x)
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("case %d: Sgemm panics with %v, gonum with %v", i, got, want)
			}
			if want != nil {
				panicked++
			}
		}
	})
	if panicked == 0 {
		t.Error("no case panicked")
	}
}

// FuzzSgemm compares Sgemm at every level with the float64 reference on shapes, transposes,
// scalars and leading dimensions taken from the fuzz input.
func FuzzSgemm(f *testing.F) {
	f.Add(uint8(14), uint8(32), uint8(7), uint8(0), uint8(0), uint8(1), uint64(1))
	f.Add(uint8(15), uint8(33), uint8(65), uint8(3), uint8(0x37), uint8(2), uint64(2))
	f.Add(uint8(1), uint8(1), uint8(1), uint8(1), uint8(0xff), uint8(9), uint64(3))
	f.Add(uint8(67), uint8(17), uint8(200), uint8(2), uint8(0x21), uint8(0), uint64(4))
	f.Fuzz(func(t *testing.T, m, n, k, trans, scal, pad uint8, seed uint64) {
		rng := rand.New(rand.NewPCG(seed, 0))
		tc := newCase(rng, transposes[trans&1], transposes[trans>>1&1], 1+int(m)%80, 1+int(n)%80, 1+int(k)%300,
			scalars[scal&3], scalars[scal>>2&3], int(pad)%19)
		for _, l := range levels() {
			restore := setLevel(l)
			got := tc.run(Sgemm)
			restore()
			tc.check(t, got, 0)
		}
	})
}
