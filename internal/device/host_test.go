package device

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// The kernels are checked on the test device (host memory, but not the CPU) against naive
// float64 loops written from the definitions, so the same tests prove the engine's
// bookkeeping does not depend on which host device it runs.

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)) }

// randBuf returns a test-device buffer of n normal draws with standard deviation sd.
func randBuf(r *rand.Rand, n int, sd float64) *Buffer {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64() * sd)
	}
	return NewHost(Test(0), x)
}

func data(b *Buffer) []float32 { d, _ := b.HostData(); return d }

func clone(b *Buffer) []float32 { return append([]float32(nil), data(b)...) }

// within reports |got - want| <= tol (1 + |want|).
func within(got float32, want, tol float64) bool {
	return math.Abs(float64(got)-want) <= tol*(1+math.Abs(want))
}

func TestGemmAgainstNaive(t *testing.T) {
	e := open(t, Test(0))
	r := newRand(1)
	shapes := [][3]int{{1, 1, 1}, {3, 4, 5}, {7, 2, 9}, {17, 13, 11}, {64, 33, 70}, {5, 128, 3}}
	for _, s := range shapes {
		m, n, k := s[0], s[1], s[2]
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				for _, beta := range []float32{0, 1, -0.5} {
					name := fmt.Sprintf("m%d_n%d_k%d_tA%v_tB%v_beta%v", m, n, k, ta, tb, beta)
					t.Run(name, func(t *testing.T) {
						a, b, c := randBuf(r, m*k, 1), randBuf(r, k*n, 1), randBuf(r, m*n, 1)
						alpha := float32(0.75)
						c0 := clone(c)
						if err := e.Gemm(ta, tb, m, n, k, alpha, a, b, beta, c); err != nil {
							t.Fatal(err)
						}
						A, B := data(a), data(b)
						for i := range m {
							for j := range n {
								var s, sabs float64
								for l := range k {
									av := A[i*k+l] // op(A)[i][l]
									if ta {
										av = A[l*m+i]
									}
									bv := B[l*n+j] // op(B)[l][j]
									if tb {
										bv = B[j*k+l]
									}
									s += float64(av) * float64(bv)
									sabs += math.Abs(float64(av) * float64(bv))
								}
								want := float64(alpha)*s + float64(beta)*float64(c0[i*n+j])
								// float32 accumulation: error grows with k and the magnitudes summed.
								tol := 1e-6 * float64(k+2) * (1 + sabs + math.Abs(float64(c0[i*n+j])))
								if got := data(c)[i*n+j]; math.Abs(float64(got)-want) > tol {
									t.Fatalf("C[%d][%d] = %v, want %v (tol %g)", i, j, got, want, tol)
								}
							}
						}
					})
				}
			}
		}
	}
}

func TestGemmDegenerate(t *testing.T) {
	e := open(t, Test(0))
	// k = 0: the product is empty, so C = beta C; beta = 0 clears C even of NaN (BLAS).
	c := NewHost(Test(0), []float32{1, 2, float32(math.NaN()), 4})
	empty := NewHost(Test(0), nil)
	if err := e.Gemm(false, false, 2, 2, 0, 1, empty, empty, 0.5, c); err != nil {
		t.Fatal(err)
	}
	if d := data(c); d[0] != 0.5 || d[1] != 1 || d[3] != 2 || !math.IsNaN(float64(d[2])) {
		t.Errorf("k=0, beta=0.5: C = %v, want [0.5 1 NaN 2]", d)
	}
	if err := e.Gemm(false, false, 2, 2, 0, 1, empty, empty, 0, c); err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "k=0, beta=0", data(c), []float32{0, 0, 0, 0})
	// beta = 0 with k > 0 also ignores what C held.
	a, b := NewHost(Test(0), []float32{1, 2}), NewHost(Test(0), []float32{3, 4})
	c = NewHost(Test(0), []float32{float32(math.NaN())})
	if err := e.Gemm(false, false, 1, 1, 2, 1, a, b, 0, c); err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "1x2 * 2x1 over NaN, beta=0", data(c), []float32{11})
	// m = 0: nothing to do, even with empty operands.
	if err := e.Gemm(true, true, 0, 3, 2, 1, empty, NewHost(Test(0), make([]float32, 6)), 1, NewHost(Test(0), nil)); err != nil {
		t.Errorf("m=0: %v", err)
	}
}

func TestAddRowVectorAndSumRows(t *testing.T) {
	e := open(t, Test(0))
	r := newRand(2)
	for _, s := range [][2]int{{1, 1}, {3, 5}, {9, 70}, {33, 129}} {
		rows, cols := s[0], s[1]
		t.Run(fmt.Sprintf("%dx%d", rows, cols), func(t *testing.T) {
			y, v := randBuf(r, rows*cols, 1), randBuf(r, cols, 1)
			y0 := clone(y)
			if err := e.AddRowVector(y, v, rows, cols); err != nil {
				t.Fatal(err)
			}
			for i := range rows {
				for j := range cols {
					want := float64(y0[i*cols+j]) + float64(data(v)[j])
					if got := data(y)[i*cols+j]; !within(got, want, 1e-7) {
						t.Fatalf("y[%d][%d] = %v, want %v", i, j, got, want)
					}
				}
			}
			for _, beta := range []float32{0, 1, 0.5} {
				dst := randBuf(r, cols, 1)
				d0 := clone(dst)
				if err := e.SumRows(dst, y, rows, cols, beta); err != nil {
					t.Fatal(err)
				}
				for j := range cols {
					want := float64(beta) * float64(d0[j])
					for i := range rows {
						want += float64(data(y)[i*cols+j])
					}
					if got := data(dst)[j]; !within(got, want, 1e-6) {
						t.Fatalf("beta %v: dst[%d] = %v, want %v", beta, j, got, want)
					}
				}
			}
		})
	}
	// beta = 0 overwrites, NaN included.
	dst := NewHost(Test(0), []float32{float32(math.NaN()), 5})
	src := NewHost(Test(0), []float32{1, 2, 3, 4})
	if err := e.SumRows(dst, src, 2, 2, 0); err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "SumRows beta=0 over NaN", data(dst), []float32{4, 6})
	if err := e.SumRows(dst, src, 2, 2, 1); err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "SumRows beta=1", data(dst), []float32{8, 12})
}

func TestReLU(t *testing.T) {
	e := open(t, Test(0))
	nan := float32(math.NaN())
	y := NewHost(Test(0), []float32{-2, -0.0, 0, 1e-30, 3, nan, -1})
	if err := e.ReLU(y, 6); err != nil { // the last element is outside n
		t.Fatal(err)
	}
	got := data(y)
	want := []float32{0, 0, 0, 1e-30, 3}
	assertEqual(t, "ReLU", got[:5], want)
	if !math.IsNaN(float64(got[5])) || got[6] != -1 {
		t.Errorf("ReLU: [5] = %v (want NaN kept), [6] = %v (want -1 untouched beyond n)", got[5], got[6])
	}

	dy := NewHost(Test(0), []float32{1, 2, 3, 4, 5, 6, 7})
	if err := e.ReLUBackward(dy, y, 6); err != nil {
		t.Fatal(err)
	}
	// Gradient passes where the output is positive; 0 at 0 (as PyTorch) and at NaN.
	assertEqual(t, "ReLUBackward", data(dy), []float32{0, 0, 0, 4, 5, 0, 7})
}

func TestReductionsAndElementwise(t *testing.T) {
	e := open(t, Test(0))
	r := newRand(3)
	x := randBuf(r, 1000, 3)
	dst := NewHost(Test(0), []float32{-1, -1, -1})
	if err := e.SumSquares(dst, 1, x, 999); err != nil {
		t.Fatal(err)
	}
	var want float64
	for _, v := range data(x)[:999] {
		want += float64(v) * float64(v)
	}
	if got := data(dst); !within(got[1], want, 1e-7) || got[0] != -1 || got[2] != -1 {
		t.Errorf("SumSquares into slot 1 = %v, want [-1 %v -1]", got, want)
	}

	x0 := clone(x)
	if err := e.Scale(x, 999, -0.25); err != nil {
		t.Fatal(err)
	}
	for i, v := range data(x) {
		w := x0[i] * -0.25
		if i == 999 {
			w = x0[i]
		}
		if v != w {
			t.Fatalf("Scale: x[%d] = %v, want %v", i, v, w)
		}
	}

	if err := e.Fill(x, 10, 7); err != nil {
		t.Fatal(err)
	}
	if d := data(x); d[0] != 7 || d[9] != 7 || d[10] != x0[10]*-0.25 {
		t.Errorf("Fill(10, 7): x[0], x[9], x[10] = %v %v %v, want 7 7 %v", d[0], d[9], d[10], x0[10]*-0.25)
	}

	src := randBuf(r, 5, 1)
	cp := NewHost(Test(0), make([]float32, 6))
	if err := e.Copy(cp, src, 5); err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "Copy", data(cp), append(clone(src), 0))
}

// naiveLogSoftmax is the masked distribution from its definition: p over the legal actions
// is the softmax of their logits alone; a masked action's log-probability is
// MaskedLogit - log(sum over legal of exp(z)), since exp(MaskedLogit) adds nothing.
func naiveLogSoftmax(z, mask []float32) (lp []float64, entropy float64) {
	var s float64
	legal := 0
	for j := range z {
		if mask[j] != 0 {
			s += math.Exp(float64(z[j]))
			legal++
		}
	}
	lp = make([]float64, len(z))
	if legal == 0 {
		for j := range lp {
			lp[j] = -math.Log(float64(len(z)))
		}
		return lp, 0
	}
	lse := math.Log(s)
	for j := range z {
		if mask[j] != 0 {
			lp[j] = float64(z[j]) - lse
			entropy -= math.Exp(lp[j]) * lp[j]
		} else {
			lp[j] = MaskedLogit - lse
		}
	}
	return lp, entropy
}

func TestMaskedLogSoftmaxAgainstNaive(t *testing.T) {
	e := open(t, Test(0))
	r := newRand(4)
	for _, s := range [][2]int{{1, 1}, {4, 6}, {50, 6}, {7, 65}} {
		rows, cols := s[0], s[1]
		t.Run(fmt.Sprintf("%dx%d", rows, cols), func(t *testing.T) {
			logits := randBuf(r, rows*cols, 3)
			mask := randMask(r, rows, cols)
			logp, ent := NewHost(Test(0), make([]float32, rows*cols)), NewHost(Test(0), make([]float32, rows))
			if err := e.MaskedLogSoftmax(logp, ent, logits, mask, rows, cols); err != nil {
				t.Fatal(err)
			}
			for i := range rows {
				z, m := data(logits)[i*cols:(i+1)*cols], data(mask)[i*cols:(i+1)*cols]
				lp, h := naiveLogSoftmax(z, m)
				var psum float64
				for j := range cols {
					got := data(logp)[i*cols+j]
					if !within(got, lp[j], 1e-6) {
						t.Fatalf("row %d: logp[%d] = %v, want %v (mask %v)", i, j, got, lp[j], m)
					}
					if m[j] != 0 {
						psum += math.Exp(float64(got))
					}
				}
				if math.Abs(psum-1) > 1e-5 {
					t.Errorf("row %d: legal probabilities sum to %v, want 1", i, psum)
				}
				if got := data(ent)[i]; !within(got, h, 1e-6) {
					t.Errorf("row %d: entropy = %v, want %v", i, got, h)
				}
			}
		})
	}
}

// randMask returns rows x cols masks with at least one legal action per row, and about
// a third of the actions masked.
func randMask(r *rand.Rand, rows, cols int) *Buffer {
	m := make([]float32, rows*cols)
	for i := range rows {
		for j := range cols {
			if r.IntN(3) != 0 {
				m[i*cols+j] = 1
			}
		}
		m[i*cols+r.IntN(cols)] = 1
	}
	return NewHost(Test(0), m)
}

func TestMaskedLogSoftmaxProperties(t *testing.T) {
	e := open(t, Test(0))
	const cols = 6
	// Row 0: equal logits, 4 legal -> uniform over them, exp(H) = 4.
	// Row 1: action 0 masked with a huge logit, next to row 2 where only action 0 is legal.
	// Row 3: nothing legal -> uniform over all 6 actions, entropy 0 (sb3-contrib).
	// Row 4: large logits that overflow exp without the row-max shift.
	logits := []float32{
		0.3, 0.3, 0.3, 0.3, 0.3, 0.3,
		1e9, 1, 2, 3, 4, 5,
		-1, 2, 50, -3, 0, 1,
		5, 4, 3, 2, 1, 0,
		1000, 999, 0, 0, 0, 0,
	}
	mask := []float32{
		1, 0, 1, 1, 0, 1,
		0, 1, 1, 1, 1, 1,
		1, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 0, 0,
		1, 1, 0, 0, 0, 0,
	}
	rows := len(mask) / cols
	logp, ent := NewHost(Test(0), make([]float32, rows*cols)), NewHost(Test(0), make([]float32, rows))
	if err := e.MaskedLogSoftmax(logp, ent, NewHost(Test(0), logits), NewHost(Test(0), mask), rows, cols); err != nil {
		t.Fatal(err)
	}
	lp, h := data(logp), data(ent)
	for i, v := range lp {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			t.Fatalf("logp[%d] = %v, want finite", i, v)
		}
	}
	for _, j := range []int{0, 2, 3, 5} {
		if !within(lp[j], -math.Log(4), 1e-6) {
			t.Errorf("equal logits: logp[%d] = %v, want -log 4", j, lp[j])
		}
	}
	if got := math.Exp(float64(h[0])); math.Abs(got-4) > 1e-5 {
		t.Errorf("equal logits, 4 legal: exp(entropy) = %v, want 4", got)
	}
	// Row 1: the masked 1e9 logit is replaced, so the legal ones are softmax(1..5).
	wantRow1, _ := naiveLogSoftmax(logits[6:12], mask[6:12])
	for j := 1; j < cols; j++ {
		if !within(lp[6+j], wantRow1[j], 1e-6) {
			t.Errorf("row 1: logp[%d] = %v, want %v", j, lp[6+j], wantRow1[j])
		}
	}
	if lp[6] > -1e7 {
		t.Errorf("row 1: masked action has logp %v, want about -1e8", lp[6])
	}
	if lp[12] != 0 || h[2] != 0 {
		t.Errorf("only action 0 legal: logp[0] = %v, entropy = %v; want 0 and 0", lp[12], h[2])
	}
	for j := range cols {
		if !within(lp[18+j], -math.Log(cols), 1e-6) {
			t.Errorf("no legal action: logp[%d] = %v, want -log 6 (uniform)", j, lp[18+j])
		}
	}
	if h[3] != 0 {
		t.Errorf("no legal action: entropy = %v, want 0", h[3])
	}
	// Row 4: p = softmax(1000, 999) = (e/(1+e), 1/(1+e)).
	if want := -math.Log1p(math.Exp(-1)); !within(lp[24], want, 1e-6) {
		t.Errorf("large logits: logp[0] = %v, want %v", lp[24], want)
	}
}

func TestAdamTwoStepsByHand(t *testing.T) {
	e := open(t, Test(0))
	// lr 0.1, betas 0.9/0.999, eps 1e-8, p0 = 1, gradients 0.5 then -0.25.
	// Step 1: m = 0.1*0.5 = 0.05; v = 0.001*0.25 = 0.00025; bc1 = 0.1, bc2 = 0.001;
	//   m/bc1 = 0.5, sqrt(v/bc2) = 0.5, p = 1 - 0.1*0.5/(0.5+1e-8) = 0.90000000200.
	// Step 2: m = 0.045 - 0.025 = 0.02; v = 0.999*0.00025 + 0.001*0.0625 = 0.00031225;
	//   bc1 = 0.19, bc2 = 0.001999; sqrt(v)/sqrt(bc2) = sqrt(0.156203102) = 0.395225381;
	//   step = 0.1/0.19 = 0.526315789; p = 0.900000002 - 0.526315789*0.02/0.395225391
	//   = 0.900000002 - 0.026633616 = 0.873366386.
	// The second parameter sees gradients half as large with GradScale 2: the same path.
	wantP := []float64{0.900000002, 0.873366386}
	wantM := []float64{0.05, 0.02}
	wantV := []float64{0.00025, 0.00031225}
	param := NewHost(Test(0), []float32{1, 1})
	m := NewHost(Test(0), []float32{0, 0})
	v := NewHost(Test(0), []float32{0, 0})
	grads := [][]float32{{0.5, 0.25}, {-0.25, -0.125}}
	for step := 1; step <= 2; step++ {
		// Element 1 is scaled by 2 through a second call on a one-element view.
		g := NewHost(Test(0), grads[step-1])
		p := AdamParams{LR: 0.1, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, Step: step, GradScale: 1}
		if err := e.Adam(param, g, m, v, 1, p); err != nil {
			t.Fatal(err)
		}
		p.GradScale = 2
		p1 := NewHost(Test(0), data(param)[1:])
		if err := e.Adam(p1, NewHost(Test(0), data(g)[1:]), NewHost(Test(0), data(m)[1:]), NewHost(Test(0), data(v)[1:]), 1, p); err != nil {
			t.Fatal(err)
		}
		for i := range 2 {
			if got := data(param)[i]; !within(got, wantP[step-1], 1e-7) {
				t.Errorf("step %d, param %d = %.9f, want %.9f", step, i, got, wantP[step-1])
			}
			if got := data(m)[i]; !within(got, wantM[step-1], 1e-7) {
				t.Errorf("step %d, m[%d] = %v, want %v", step, i, got, wantM[step-1])
			}
			if got := data(v)[i]; !within(got, wantV[step-1], 1e-7) {
				t.Errorf("step %d, v[%d] = %v, want %v", step, i, got, wantV[step-1])
			}
		}
	}
}

// TestAdamAgainstNaive checks five Adam steps against PyTorch's formula in float64, each
// step from the kernel's own previous state. The kernel computes in float32 in PyTorch's
// order, so each result may be off by a few float32 ulps of the terms that make it up (m's
// two terms may cancel, so its bound is relative to their magnitudes, not to m).
func TestAdamAgainstNaive(t *testing.T) {
	e := open(t, Test(0))
	r := newRand(5)
	const n = 257
	param, grad := randBuf(r, n, 1), randBuf(r, n, 0.1)
	m, v := NewHost(Test(0), make([]float32, n)), NewHost(Test(0), make([]float32, n))
	const lr, b1, b2, eps, scale = 3e-4, 0.9, 0.999, 1e-5, 0.7
	const ulps = 4.0 / (1 << 24) // a few float32 rounding errors, relative
	// AdamParams carries float32 settings: the reference uses the same rounded values.
	f := func(x float64) float64 { return float64(float32(x)) }
	for step := 1; step <= 5; step++ {
		for i := range data(grad) { // fresh gradients each step
			data(grad)[i] = float32(r.NormFloat64() * 0.1)
		}
		p0, m0, v0 := clone(param), clone(m), clone(v)
		p := AdamParams{LR: lr, Beta1: b1, Beta2: b2, Eps: eps, Step: step, GradScale: scale}
		if err := e.Adam(param, grad, m, v, n, p); err != nil {
			t.Fatal(err)
		}
		bc1 := 1 - math.Pow(f(b1), float64(step))
		bc2 := 1 - math.Pow(f(b2), float64(step))
		for i := range n {
			g := float64(data(grad)[i]) * f(scale)
			mTerms := f(b1)*math.Abs(float64(m0[i])) + (1-f(b1))*math.Abs(g)
			wantM := f(b1)*float64(m0[i]) + (1-f(b1))*g
			wantV := f(b2)*float64(v0[i]) + (1-f(b2))*g*g
			if got := data(m)[i]; math.Abs(float64(got)-wantM) > ulps*mTerms {
				t.Fatalf("step %d: m[%d] = %v, want %v", step, i, got, wantM)
			}
			if got := data(v)[i]; math.Abs(float64(got)-wantV) > ulps*wantV {
				t.Fatalf("step %d: v[%d] = %v, want %v", step, i, got, wantV)
			}
			// The update itself, from the kernel's own m and v: a few ulps of the step.
			mi, vi := float64(data(m)[i]), float64(data(v)[i])
			upd := f(lr) / bc1 * mi / (math.Sqrt(vi)/math.Sqrt(bc2) + f(eps))
			want := float64(p0[i]) - upd
			if got := data(param)[i]; math.Abs(float64(got)-want) > ulps*(math.Abs(want)+math.Abs(upd)) {
				t.Fatalf("step %d: param[%d] = %v, want %v", step, i, got, want)
			}
		}
	}
	// The gradient is only read.
	g0 := clone(grad)
	if err := e.Adam(param, grad, m, v, n, AdamParams{LR: lr, Beta1: b1, Beta2: b2, Eps: eps, Step: 6, GradScale: 1}); err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "grad after Adam", data(grad), g0)
}

func TestReLUAgainstNaive(t *testing.T) {
	e := open(t, Test(0))
	r := newRand(10)
	const n = 1001
	y, dy := randBuf(r, n, 1), randBuf(r, n, 1)
	y0, dy0 := clone(y), clone(dy)
	if err := e.ReLU(y, n); err != nil {
		t.Fatal(err)
	}
	if err := e.ReLUBackward(dy, y, n); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		wantY, wantDy := float64(y0[i]), float64(dy0[i])
		if wantY <= 0 {
			wantY, wantDy = 0, 0
		}
		if got := data(y)[i]; float64(got) != wantY {
			t.Fatalf("ReLU: y[%d] = %v, want %v", i, got, wantY)
		}
		if got := data(dy)[i]; float64(got) != wantDy {
			t.Fatalf("ReLUBackward: dy[%d] = %v, want %v", i, got, wantDy)
		}
	}
}
