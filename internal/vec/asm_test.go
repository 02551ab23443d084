package vec

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"testing"
)

// The kernels at every level the CPU runs against the Go kernels of generic.go: every
// length 0..100 and a few long ones, slices starting at different element offsets, NaN,
// Inf, -0 and denormal values, and a NaN sentinel around every slice that must stay
// unwritten and, for the reductions, unread.

// levels returns the levels this CPU runs, lowest first.
func levels() []simdLevel {
	var ls []simdLevel
	for l := levelGeneric; l <= cpuLevel; l++ {
		ls = append(ls, l)
	}
	return ls
}

// atLevels runs f at every level the CPU runs, as subtests named after the level.
func atLevels(t *testing.T, f func(t *testing.T)) {
	for _, l := range levels() {
		t.Run(l.String(), func(t *testing.T) {
			defer setLevel(l)()
			f(t)
		})
	}
}

var testLens = func() []int {
	var ns []int
	for n := 0; n <= 100; n++ {
		ns = append(ns, n)
	}
	return append(ns, 127, 128, 129, 1000, 65537)
}()

// sentinel fills the memory around the slices under test: a signalling NaN, so that a read
// of it turns a reduction into NaN, and a pattern that no kernel writes.
const sentinel = 0x7fa5a5a5

// padded32 is a slice of n float32 at element offset off in a buffer whose other elements
// hold the sentinel, with 16 of them (a zmm) after the end.
type padded32 struct {
	buf []float32
	off int
	n   int
}

func newPadded32(n, off int, fill func(i int) float32) padded32 {
	buf := make([]float32, off+n+16)
	for i := range buf {
		buf[i] = math.Float32frombits(sentinel)
	}
	for i := 0; i < n; i++ {
		buf[off+i] = fill(i)
	}
	return padded32{buf, off, n}
}

func (p padded32) s() []float32 { return p.buf[p.off : p.off+p.n : p.off+p.n] }

// intact reports whether the sentinel around the slice is unchanged.
func (p padded32) intact() bool {
	for i, v := range p.buf {
		if (i < p.off || i >= p.off+p.n) && math.Float32bits(v) != sentinel {
			return false
		}
	}
	return true
}

// padded64 is padded32 for float64.
type padded64 struct {
	buf []float64
	off int
	n   int
}

const sentinel64 = 0x7ff4a5a5a5a5a5a5

func newPadded64(n, off int, fill func(i int) float64) padded64 {
	buf := make([]float64, off+n+8)
	for i := range buf {
		buf[i] = math.Float64frombits(sentinel64)
	}
	for i := 0; i < n; i++ {
		buf[off+i] = fill(i)
	}
	return padded64{buf, off, n}
}

func (p padded64) s() []float64 { return p.buf[p.off : p.off+p.n : p.off+p.n] }

func (p padded64) intact() bool {
	for i, v := range p.buf {
		if (i < p.off || i >= p.off+p.n) && math.Float64bits(v) != sentinel64 {
			return false
		}
	}
	return true
}

// value32 returns a float32 that is special (NaN with a random payload and sign, ±Inf, ±0,
// a denormal, ±MaxFloat32) with probability special, else normal(0, scale).
func value32(r *rand.Rand, special float64, scale float64) float32 {
	if r.Float64() >= special {
		return float32(r.NormFloat64() * scale)
	}
	sign := r.Uint32() & 0x80000000
	switch r.IntN(6) {
	case 0: // quiet NaN
		return math.Float32frombits(sign | 0x7fc00000 | r.Uint32()&0x3fffff)
	case 1: // signalling NaN
		return math.Float32frombits(sign | 0x7f800000 | (1 + r.Uint32()%0x3fffff))
	case 2:
		return math.Float32frombits(sign | 0x7f800000) // ±Inf
	case 3:
		return math.Float32frombits(sign) // ±0
	case 4:
		return math.Float32frombits(sign | (1 + r.Uint32()%0x7fffff)) // denormal
	}
	return math.Float32frombits(sign | 0x7f7fffff) // ±MaxFloat32
}

func value64(r *rand.Rand, special float64, scale float64) float64 {
	if r.Float64() < special && r.IntN(2) == 0 {
		sign := r.Uint64() & (1 << 63)
		switch r.IntN(4) {
		case 0:
			return math.Float64frombits(sign | 0x7ff8000000000000 | r.Uint64()&0x7ffffffffffff)
		case 1:
			return math.Float64frombits(sign | 0x7ff0000000000000)
		case 2:
			return math.Float64frombits(sign)
		}
		return math.Float64frombits(sign | (1 + r.Uint64()%0xfffffffffffff))
	}
	return float64(value32(r, special, scale))
}

func isNaN32(x float32) bool { return x != x }

// same32 reports whether got is want bit for bit or, where anyNaN (the operation met two
// NaNs, and x86 returns one or the other by operand order), both are NaN.
func same32(got, want float32, anyNaN bool) bool {
	return math.Float32bits(got) == math.Float32bits(want) || anyNaN && isNaN32(got) && isNaN32(want)
}

// forCases runs check for every test length and three placements of the slices: all at
// offset 0, and at offsets that differ between the slices and are odd.
func forCases(t *testing.T, check func(t *testing.T, r *rand.Rand, n int, off [4]int)) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range testLens {
		for _, off := range [][4]int{{0, 0, 0, 0}, {1, 3, 5, 7}, {3, 1, 2, 5}} {
			check(t, r, n, off)
			if t.Failed() {
				return // one failing case says enough
			}
		}
	}
}

func TestAddBiasLevels(t *testing.T) {
	for _, relu := range []bool{false, true} {
		name, kern, ref := "AddBias", AddBias, addBiasGo
		if relu {
			name, kern, ref = "AddBiasReLU", AddBiasReLU, addBiasReLUGo
		}
		t.Run(name, func(t *testing.T) {
			atLevels(t, func(t *testing.T) {
				forCases(t, func(t *testing.T, r *rand.Rand, n int, off [4]int) {
					y := newPadded32(n, off[0], func(int) float32 { return value32(r, 0.3, 2) })
					b := newPadded32(n+3, off[1], func(int) float32 { return value32(r, 0.3, 2) })
					y0 := append([]float32(nil), y.s()...)
					want := append([]float32(nil), y0...)
					ref(want, b.s()[:n])
					kern(y.s(), b.s()) // b longer than y: its tail is not read
					for i, got := range y.s() {
						if !same32(got, want[i], isNaN32(y0[i]) && isNaN32(b.s()[i])) {
							t.Fatalf("n=%d off=%v: y[%d] = %v (%#08x) from y %v (%#08x) b %v (%#08x), want %v (%#08x)",
								n, off, i, got, math.Float32bits(got), y0[i], math.Float32bits(y0[i]),
								b.s()[i], math.Float32bits(b.s()[i]), want[i], math.Float32bits(want[i]))
						}
					}
					if !y.intact() || !b.intact() {
						t.Fatalf("n=%d off=%v: wrote outside y or b", n, off)
					}
				})
			})
		})
	}
}

// TestAddBiasReLUSigns: the cases where MAXPS's operand order matters, at every level,
// bit for bit: -0 stays -0 (Go's `if s < 0` is false for -0), +0 stays +0, a negative sum
// gives +0 and NaN stays the same NaN.
func TestAddBiasReLUSigns(t *testing.T) {
	negZero := float32(math.Copysign(0, -1))
	nan := math.Float32frombits(0x7fc12345)
	negNaN := math.Float32frombits(0xffc54321)
	cases := []struct{ y, b, want float32 }{
		{negZero, negZero, negZero},
		{negZero, 0, 0},
		{0, negZero, 0},
		{-1, 1, 0},
		{-1, 0.5, 0},
		{-3, negZero, 0},
		{nan, 1, nan},
		{1, negNaN, negNaN},
		{float32(math.Inf(-1)), 1, 0},
		{float32(math.Inf(1)), 1, float32(math.Inf(1))},
		{-1e-45, 0, 0},    // a negative denormal
		{1e-45, 0, 1e-45}, // a positive denormal
		// Denormal arithmetic (no flush to zero): 3 - 1 smallest denormals.
		{math.Float32frombits(3), math.Float32frombits(0x80000001), math.Float32frombits(2)},
	}
	atLevels(t, func(t *testing.T) {
		for _, n := range []int{1, 5, 16, 37} { // the vector loop and the masked tail
			for _, c := range cases {
				y, b := make([]float32, n), make([]float32, n)
				for i := range y {
					y[i], b[i] = c.y, c.b
				}
				AddBiasReLU(y, b)
				for i, got := range y {
					if math.Float32bits(got) != math.Float32bits(c.want) {
						t.Fatalf("n=%d: max(%v + %v, 0) = %v (%#08x) at %d, want %v (%#08x)",
							n, c.y, c.b, got, math.Float32bits(got), i, c.want, math.Float32bits(c.want))
					}
				}
			}
		}
	})
}

func TestReLUGradLevels(t *testing.T) {
	atLevels(t, func(t *testing.T) {
		forCases(t, func(t *testing.T, r *rand.Rand, n int, off [4]int) {
			g := newPadded32(n, off[0], func(int) float32 { return value32(r, 0.3, 1) })
			y := newPadded32(n+1, off[1], func(int) float32 { return value32(r, 0.3, 1) })
			// dst starts as NaN, so a lane left unwritten shows.
			dst := newPadded32(n, off[2], func(int) float32 { return float32(math.NaN()) })
			want := make([]float32, n)
			reluGradGo(want, g.s(), y.s()[:n])
			ReLUGrad(dst.s(), g.s(), y.s())
			for i, got := range dst.s() {
				if math.Float32bits(got) != math.Float32bits(want[i]) {
					t.Fatalf("n=%d off=%v: dst[%d] = %v from g %v y %v, want %v", n, off, i, got, g.s()[i], y.s()[i], want[i])
				}
			}
			// In place: dst is g.
			ReLUGrad(g.s(), g.s(), y.s())
			for i, got := range g.s() {
				if math.Float32bits(got) != math.Float32bits(want[i]) {
					t.Fatalf("n=%d off=%v in place: g[%d] = %v, want %v", n, off, i, got, want[i])
				}
			}
			if !dst.intact() || !g.intact() || !y.intact() {
				t.Fatalf("n=%d off=%v: wrote outside a slice", n, off)
			}
		})
	})
}

func TestAddTo64Levels(t *testing.T) {
	atLevels(t, func(t *testing.T) {
		forCases(t, func(t *testing.T, r *rand.Rand, n int, off [4]int) {
			acc := newPadded64(n, off[0], func(int) float64 { return value64(r, 0.3, 10) })
			x := newPadded32(n+2, off[1], func(int) float32 { return value32(r, 0.3, 1) })
			acc0 := append([]float64(nil), acc.s()...)
			want := append([]float64(nil), acc0...)
			addTo64Go(want, x.s()[:n])
			AddTo64(acc.s(), x.s())
			for i, got := range acc.s() {
				bothNaN := math.IsNaN(acc0[i]) && isNaN32(x.s()[i])
				if math.Float64bits(got) != math.Float64bits(want[i]) && !(bothNaN && math.IsNaN(got)) {
					t.Fatalf("n=%d off=%v: acc[%d] = %v from %v + %v, want %v", n, off, i, got, acc0[i], x.s()[i], want[i])
				}
			}
			if !acc.intact() || !x.intact() {
				t.Fatalf("n=%d off=%v: wrote outside acc or x", n, off)
			}
		})
	})
}

func TestSumSquaresLevels(t *testing.T) {
	atLevels(t, func(t *testing.T) {
		forCases(t, func(t *testing.T, r *rand.Rand, n int, off [4]int) {
			// Small integers: every partial sum is exact in float64, so every order gives
			// the same sum and a lost or doubled element shows exactly. The sentinel after
			// the slice would make the sum NaN if read.
			xi := newPadded32(n, off[0], func(int) float32 { return float32(r.IntN(129) - 64) })
			if got, want := SumSquares(xi.s()), sumSquaresGo(xi.s()); got != want {
				t.Fatalf("n=%d off=%v: integers: SumSquares = %v, want %v", n, off, got, want)
			}
			// Random values over a wide range: the sums agree to the rounding of n float64
			// additions of non-negative terms, and the result is the same on every call.
			x := newPadded32(n, off[1], func(int) float32 {
				return float32(r.NormFloat64() * math.Exp2(float64(r.IntN(40)-20)))
			})
			got, want := SumSquares(x.s()), sumSquaresGo(x.s())
			if tol := 2 * float64(n) * 0x1p-53 * want; math.Abs(got-want) > tol {
				t.Fatalf("n=%d off=%v: SumSquares = %v, want %v within %v", n, off, got, want, tol)
			}
			if again := SumSquares(x.s()); math.Float64bits(again) != math.Float64bits(got) {
				t.Fatalf("n=%d off=%v: SumSquares not deterministic: %v then %v", n, off, got, again)
			}
			if n == 0 {
				return
			}
			// One non-finite element decides the sum wherever it is.
			k := r.IntN(n)
			for _, c := range []struct {
				v    float32
				want float64
			}{{float32(math.Inf(-1)), math.Inf(1)}, {float32(math.NaN()), math.NaN()}, {math.MaxFloat32, math.Inf(1)}} {
				old := x.s()[k]
				x.s()[k] = c.v
				got := SumSquares(x.s())
				x.s()[k] = old
				if c.v == math.MaxFloat32 {
					// MaxFloat32^2 is finite in float64: the float64 accumulation.
					if want := sumSquaresGo(x.s()) - float64(old)*float64(old) + float64(c.v)*float64(c.v); math.IsInf(got, 0) || math.Abs(got-want) > 1e-12*want {
						t.Fatalf("n=%d: SumSquares with MaxFloat32 at %d = %v, want %v", n, k, got, want)
					}
					continue
				}
				if !(got == c.want || math.IsNaN(got) && math.IsNaN(c.want)) {
					t.Fatalf("n=%d: SumSquares with %v at %d = %v, want %v", n, c.v, k, got, c.want)
				}
			}
			if !xi.intact() || !x.intact() {
				t.Fatalf("n=%d off=%v: wrote outside x", n, off)
			}
		})
	})
}

// adamCases are the steps the Adam tests run: the first step, a late step with a clipped
// gradient, and eps 0 (0/0 where v is 0).
var adamCases = []AdamStep{
	NewAdamStep(3e-4, 0.9, 0.999, 1e-8, 1, 1),
	NewAdamStep(1e-3, 0.9, 0.999, 1e-5, 1000, 0.37),
	NewAdamStep(0.1, 0.8, 0.99, 0, 3, 2),
}

// adamInputs returns p, g, m and v for Adam tests, with special values at rate special.
func adamInputs(r *rand.Rand, n int, off [4]int, special float64) (p, g, m, v padded32) {
	p = newPadded32(n, off[0], func(int) float32 { return value32(r, special, 1) })
	g = newPadded32(n+1, off[1], func(int) float32 { return value32(r, special, 0.1) })
	m = newPadded32(n+2, off[2], func(int) float32 { return value32(r, special, 0.01) })
	v = newPadded32(n+3, off[3], func(int) float32 {
		if r.IntN(8) == 0 {
			return 0
		}
		return float32(math.Abs(float64(value32(r, special, 1e-3))))
	})
	return
}

// checkAdam compares one Adam step at the current level with adamGo: bit for bit (any NaN
// where adamGo gives NaN) where adamGo is compiled without FMA, as the assembly is. Where
// the compiler fuses (GOAMD64=v3 and up), m and v must be within 4 float32 ulps of the
// larger term of their sums, and p, whose step can amplify those differences (m is a
// difference of nearly equal terms), within 8 ulps of the larger of p and its step
// recomputed in float64 from the kernel's own m and v.
func checkAdam(t *testing.T, s AdamStep, p, g, m, v padded32, what string) {
	t.Helper()
	n := p.n
	wp := append([]float32(nil), p.s()...)
	wm := append([]float32(nil), m.s()[:n]...)
	wv := append([]float32(nil), v.s()[:n]...)
	p0, m0, v0 := append([]float32(nil), wp...), append([]float32(nil), wm...), append([]float32(nil), wv...)
	adamGo(wp, g.s()[:n], wm, wv, s)
	Adam(p.s(), g.s(), m.s(), v.s(), s)
	within := func(got, want float32, scale float64, ulps float64) bool {
		if isNaN32(got) || isNaN32(want) || math.IsInf(float64(want), 0) {
			return false
		}
		ulp := math.Nextafter32(float32(scale), float32(math.Inf(1))) - float32(scale)
		return math.Abs(float64(got)-float64(want)) <= ulps*float64(ulp)
	}
	for i := 0; i < n; i++ {
		gi := float64(g.s()[i]) * float64(s.GradScale)
		for _, c := range []struct {
			name      string
			got, want float32
		}{{"p", p.s()[i], wp[i]}, {"m", m.s()[i], wm[i]}, {"v", v.s()[i], wv[i]}} {
			ok := same32(c.got, c.want, true)
			if !ok && goFusesFMA {
				switch c.name {
				case "m":
					ok = within(c.got, c.want, math.Abs(float64(s.Beta1)*float64(m0[i]))+math.Abs(float64(s.OneMinusBeta1)*gi), 4)
				case "v":
					ok = within(c.got, c.want, math.Abs(float64(s.Beta2)*float64(v0[i]))+math.Abs(float64(s.OneMinusBeta2)*gi*gi), 4)
				case "p":
					step := float64(s.StepSize) * float64(m.s()[i]) /
						(math.Sqrt(float64(v.s()[i]))/float64(s.BC2Sqrt) + float64(s.Eps))
					ok = within(c.got, float32(float64(p0[i])-step), math.Abs(float64(p0[i]))+math.Abs(step), 8)
				}
			}
			if !ok {
				t.Fatalf("%s: %s[%d] = %v, want %v (p %v g %v m %v v %v, %+v)",
					what, c.name, i, c.got, c.want, p0[i], g.s()[i], m0[i], v0[i], s)
			}
		}
	}
	if !p.intact() || !g.intact() || !m.intact() || !v.intact() {
		t.Fatalf("%s: wrote outside p, g, m or v", what)
	}
}

func TestAdamLevels(t *testing.T) {
	atLevels(t, func(t *testing.T) {
		forCases(t, func(t *testing.T, r *rand.Rand, n int, off [4]int) {
			s := adamCases[n%len(adamCases)]
			// Mostly finite values, so that the comparison sees real arithmetic, and every
			// special value somewhere.
			p, g, m, v := adamInputs(r, n, off, 0.05)
			checkAdam(t, s, p, g, m, v, fmt.Sprintf("n=%d off=%v", n, off))
		})
	})
}

// TestAdamNonFinite: a non-finite gradient, first moment or parameter, or a NaN second
// moment, makes p non-finite at every level, in the vector loop and in the masked tail. An
// infinite second moment divides the step to 0, as in adamGo: p stays, v stays +Inf.
func TestAdamNonFinite(t *testing.T) {
	s := adamCases[0]
	atLevels(t, func(t *testing.T) {
		for _, n := range []int{1, 16, 23, 40} {
			for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))} {
				for arg := 0; arg < 4; arg++ {
					if arg == 3 && bad < 0 {
						continue // a negative v is no second moment
					}
					k := n - 1 - n/3
					in := [4][]float32{make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)}
					for i := 0; i < n; i++ {
						in[0][i], in[1][i], in[2][i], in[3][i] = 1, 0.5, 0.01, 1e-4
					}
					in[arg][k] = bad
					Adam(in[0], in[1], in[2], in[3], s)
					if arg == 3 && math.IsInf(float64(bad), 1) {
						if p, v := in[0][k], in[3][k]; p != 1 || !math.IsInf(float64(v), 1) {
							t.Errorf("n=%d: v = +Inf at %d gives p = %v, v = %v; want 1, +Inf", n, k, p, v)
						}
					} else if p := in[0][k]; !math.IsNaN(float64(p)) && !math.IsInf(float64(p), 0) {
						t.Errorf("n=%d: %v in argument %d at %d gives p = %v, want NaN or Inf", n, bad, arg, k, p)
					}
					for i, p := range in[0] {
						if i != k && (math.IsNaN(float64(p)) || math.IsInf(float64(p), 0)) {
							t.Errorf("n=%d: %v at %d spread to p[%d] = %v", n, bad, k, i, p)
						}
					}
				}
			}
		}
	})
}

func TestCapLevel(t *testing.T) {
	for _, c := range []struct {
		best simdLevel
		env  string
		want simdLevel
	}{
		{levelAVX512, "", levelAVX512},
		{levelAVX512, "avx512", levelAVX512},
		{levelAVX512, "avx2", levelAVX2},
		{levelAVX512, "generic", levelGeneric},
		{levelAVX512, " AVX2\n", levelAVX2},
		{levelAVX512, "sse4", levelAVX512}, // unknown: ignored
		{levelAVX512, "avx-512", levelAVX512},
		{levelAVX2, "avx512", levelAVX2}, // never above the CPU
		{levelAVX2, "generic", levelGeneric},
		{levelGeneric, "avx2", levelGeneric},
		{levelGeneric, "avx512", levelGeneric},
	} {
		if got := capLevel(c.best, c.env); got != c.want {
			t.Errorf("capLevel(%v, %q) = %v, want %v", c.best, c.env, got, c.want)
		}
	}
}

func TestLevel(t *testing.T) {
	want := capLevel(cpuLevel, os.Getenv(simdEnv)).String()
	if got := Level(); got != want {
		t.Errorf("Level() = %q, want %q (CPU %v, %s=%q)", got, want, cpuLevel, simdEnv, os.Getenv(simdEnv))
	}
	for _, l := range levels() {
		restore := setLevel(l)
		if got := Level(); got != l.String() {
			t.Errorf("after setLevel(%v), Level() = %q", l, got)
		}
		restore()
	}
	if got := Level(); got != want {
		t.Errorf("after restore, Level() = %q, want %q", got, want)
	}
	t.Logf("CPU level %v; tests run %v", cpuLevel, levels())
}
