//go:build cuda || cudaemu

package device

// Tests of the CUDA engine against the host engine. They run on a GPU with `-tags cuda`
// (scripts/gpu-check.sh runs the prebuilt test binary there), and on any machine with
// `-tags cudaemu`, where the same kernels run on the CPU emulator (cuda_emu.go). Every
// kernel result must match the host engine within |gpu - cpu| <= 1e-4 (1 + |cpu|), the
// project's GPU/CPU parity tolerance.

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

// parityTol is DESIGN.md's GPU/CPU tolerance.
const parityTol = 1e-4

func cudaRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0xc0da)) }

func cudaRandSlice(r *rand.Rand, n int, lo, hi float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(lo + (hi-lo)*r.Float64())
	}
	return x
}

// pair holds the same data on the host engine and the CUDA engine.
type pair struct{ h, g *Buffer }

// engines returns the cpu engine and the CUDA engine under test.
func engines(t *testing.T) (host, gpu *Engine) {
	t.Helper()
	return open(t, CPU), openCUDATest(t)
}

// put allocates x on both engines.
func put(t *testing.T, host, gpu *Engine, x []float32) pair {
	t.Helper()
	h, err := host.Alloc(len(x))
	if err != nil {
		t.Fatal(err)
	}
	if err := host.Upload(h, x); err != nil {
		t.Fatal(err)
	}
	g, err := gpu.Alloc(len(x))
	if err != nil {
		t.Fatalf("cuda Alloc(%d): %v", len(x), err)
	}
	if err := gpu.Upload(g, x); err != nil {
		t.Fatalf("cuda Upload: %v", err)
	}
	t.Cleanup(func() { gpu.Free(g) })
	return pair{h, g}
}

// get downloads a CUDA buffer.
func get(t *testing.T, gpu *Engine, b *Buffer) []float32 {
	t.Helper()
	out := make([]float32, b.Len())
	if err := gpu.Download(out, b); err != nil {
		t.Fatalf("cuda Download: %v", err)
	}
	return out
}

// agree compares the CUDA result of p with the host's: within parityTol elementwise, NaN
// only where the host has NaN.
func agree(t *testing.T, what string, gpu *Engine, p pair) {
	t.Helper()
	got, want := get(t, gpu, p.g), data(p.h)
	if len(got) != len(want) {
		t.Fatalf("%s: %d elements, want %d", what, len(got), len(want))
	}
	bad := 0
	for i := range got {
		g, w := float64(got[i]), float64(want[i])
		ok := g == w || math.Abs(g-w) <= parityTol*(1+math.Abs(w))
		if math.IsNaN(w) {
			ok = math.IsNaN(g)
		}
		if !ok {
			if bad < 5 {
				t.Errorf("%s: [%d] = %v on cuda, want %v (cpu)", what, i, got[i], want[i])
			}
			bad++
		}
	}
	if bad > 5 {
		t.Errorf("%s: %d of %d elements differ", what, bad, len(got))
	}
}

// TestCUDAKernelTableMatchesPTX checks the engine's kernel table against the embedded
// PTX: every kernel exists with the parameter kinds the engine passes (a pointer or a
// 64-bit integer is .u64, a float .f32), and the PTX has no kernel the table misses.
func TestCUDAKernelTableMatchesPTX(t *testing.T) {
	entry := regexp.MustCompile(`(?s)\.visible \.entry (\w+)\((.*?)\)`)
	param := regexp.MustCompile(`\.param \.(\w+) `)
	found := map[string]string{}
	for _, m := range entry.FindAllStringSubmatch(kernelsPTX, -1) {
		var kinds strings.Builder
		for _, p := range param.FindAllStringSubmatch(m[2], -1) {
			kinds.WriteString(p[1] + ",")
		}
		found[m[1]] = kinds.String()
	}
	if len(found) != numKernels {
		t.Errorf("PTX has %d kernels, the engine's table %d", len(found), numKernels)
	}
	for _, kn := range cudaKernelTable {
		var want strings.Builder
		for _, c := range kn.params {
			switch c {
			case 'p', 'i':
				want.WriteString("u64,")
			case 'f':
				want.WriteString("f32,")
			default:
				t.Fatalf("%s: unknown parameter kind %q", kn.name, c)
			}
		}
		got, ok := found[kn.name]
		if !ok {
			t.Errorf("kernel %s: not in the PTX", kn.name)
			continue
		}
		if got != want.String() {
			t.Errorf("kernel %s: PTX parameters %s, engine passes %s", kn.name, got, want.String())
		}
	}
	if !strings.Contains(kernelsPTX, ".target sm_70") {
		t.Errorf("PTX does not target sm_70 (regenerate with scripts/gen-ptx.sh)")
	}
}

func TestCUDAUploadDownloadRoundTrip(t *testing.T) {
	_, gpu := engines(t)
	r := cudaRand(1)
	for _, n := range []int{1, 7, 1000, 65537} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			x := cudaRandSlice(r, n, -3, 3)
			b, err := gpu.Alloc(n)
			if err != nil {
				t.Fatal(err)
			}
			defer gpu.Free(b)
			if b.Device() != CUDA(0) || b.Len() != n {
				t.Fatalf("Alloc: device %v len %d, want cuda:0 len %d", b.Device(), b.Len(), n)
			}
			// A new buffer is zeroed.
			for i, v := range get(t, gpu, b) {
				if v != 0 {
					t.Fatalf("fresh buffer [%d] = %v, want 0", i, v)
				}
			}
			if err := gpu.Upload(b, x); err != nil {
				t.Fatal(err)
			}
			assertEqual(t, "round trip", get(t, gpu, b), x)
			// A shorter upload and download touch the leading elements only.
			if n > 1 {
				head := []float32{42, -1}[:min(2, n-1)]
				if err := gpu.Upload(b, head); err != nil {
					t.Fatal(err)
				}
				part := make([]float32, len(head)+1)
				if err := gpu.Download(part, b); err != nil {
					t.Fatal(err)
				}
				assertEqual(t, "partial", part, append(append([]float32(nil), head...), x[len(head)]))
			}
		})
	}
}

func TestCUDAAllocZeroAndFree(t *testing.T) {
	_, gpu := engines(t)
	b, err := gpu.Alloc(0)
	if err != nil {
		t.Fatalf("Alloc(0): %v", err)
	}
	if err := gpu.Download(nil, b); err != nil {
		t.Errorf("Download of nothing: %v", err)
	}
	gpu.Free(b)
	c, err := gpu.Alloc(10)
	if err != nil {
		t.Fatal(err)
	}
	gpu.Free(c)
	if c.Len() != 0 {
		t.Errorf("after Free: Len %d, want 0", c.Len())
	}
	if err := gpu.Fill(c, 10, 1); err == nil {
		t.Errorf("Fill of a freed buffer succeeded, want a length error")
	}
	if err := gpu.Sync(); err != nil {
		t.Errorf("Sync: %v", err)
	}
}

// TestCUDARefusesOtherDevices gives each operand of each method, in turn, a cpu buffer and
// a test-device buffer, the rest being CUDA buffers: a *MismatchError naming the operand,
// never a launch on host memory.
func TestCUDARefusesOtherDevices(t *testing.T) {
	_, gpu := engines(t)
	for _, other := range []Device{CPU, Test(1)} {
		for _, c := range calls() {
			for _, bad := range c.operands {
				t.Run(other.String()+"/"+c.op+"/"+bad, func(t *testing.T) {
					get := func(name string, n int) *Buffer {
						x := make([]float32, n)
						if name != "in.Actions" {
							for i := range x {
								x[i] = 0.5
							}
						}
						if name == bad {
							return NewHost(other, x)
						}
						b, err := gpu.Alloc(n)
						if err != nil {
							t.Fatal(err)
						}
						t.Cleanup(func() { gpu.Free(b) })
						if err := gpu.Upload(b, x); err != nil {
							t.Fatal(err)
						}
						return b
					}
					err := c.do(gpu, get)
					var me *MismatchError
					if !errors.As(err, &me) {
						t.Fatalf("%s with %s on %v: error %v, want *MismatchError", c.op, bad, other, err)
					}
					if me.Want != CUDA(0) || me.Got != other || me.Operand != bad {
						t.Errorf("got %+v, want Want cuda:0, Got %v, Operand %s", *me, other, bad)
					}
				})
			}
		}
	}
}

func TestCUDATransfer(t *testing.T) {
	_, gpu := engines(t)
	x := cudaRandSlice(cudaRand(2), 300, -1, 1)
	src := NewHost(CPU, append([]float32(nil), x...))
	g, err := Transfer(CUDA(0), src)
	if err != nil {
		t.Fatalf("Transfer cpu -> cuda: %v", err)
	}
	defer gpu.Free(g)
	if g.Device() != CUDA(0) {
		t.Fatalf("Transfer to cuda: buffer on %v", g.Device())
	}
	src.host[0] = 99 // the transfer copied: the GPU buffer keeps the old value
	g2, err := Transfer(CUDA(0), g)
	if err != nil {
		t.Fatalf("Transfer cuda -> cuda: %v", err)
	}
	defer gpu.Free(g2)
	back, err := Transfer(CPU, g2)
	if err != nil {
		t.Fatalf("Transfer cuda -> cpu: %v", err)
	}
	assertEqual(t, "cpu -> cuda -> cuda -> cpu", data(back), x)

	into := NewHost(Test(3), make([]float32, 300))
	if err := TransferInto(into, g); err != nil {
		t.Fatalf("TransferInto cuda -> test:3: %v", err)
	}
	assertEqual(t, "TransferInto", data(into), x)
	if err := TransferInto(g2, NewHost(CPU, make([]float32, 300))); err != nil {
		t.Fatalf("TransferInto cpu -> cuda: %v", err)
	}
	for i, v := range get(t, gpu, g2) {
		if v != 0 {
			t.Fatalf("after TransferInto of zeros: [%d] = %v", i, v)
		}
	}
}

func TestCUDAGemmMatchesHost(t *testing.T) {
	host, gpu := engines(t)
	r := cudaRand(3)
	shapes := [][3]int{{1, 1, 1}, {3, 5, 7}, {64, 64, 16}, {65, 63, 17}, {130, 70, 129}, {7, 228, 261}, {40, 30, 2048}, {5, 4, 0}}
	for _, s := range shapes {
		m, n, k := s[0], s[1], s[2]
		for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
			for _, ab := range [][2]float32{{1, 0}, {1, 1}, {-0.7, 0.5}} {
				alpha, beta := ab[0], ab[1]
				name := fmt.Sprintf("m%d_n%d_k%d_tA%v_tB%v_alpha%v_beta%v", m, n, k, tr[0], tr[1], alpha, beta)
				t.Run(name, func(t *testing.T) {
					a := put(t, host, gpu, cudaRandSlice(r, m*k, -1, 1))
					b := put(t, host, gpu, cudaRandSlice(r, k*n, -1, 1))
					cInit := cudaRandSlice(r, m*n, -1, 1)
					if beta == 0 {
						cInit[0] = float32(math.NaN()) // beta = 0 must not read C
					}
					c := put(t, host, gpu, cInit)
					if err := host.Gemm(tr[0], tr[1], m, n, k, alpha, a.h, b.h, beta, c.h); err != nil {
						t.Fatal(err)
					}
					if err := gpu.Gemm(tr[0], tr[1], m, n, k, alpha, a.g, b.g, beta, c.g); err != nil {
						t.Fatalf("cuda Gemm: %v", err)
					}
					agree(t, "C", gpu, c)
				})
			}
		}
	}
}

// TestCUDAGemmDeterministic runs one product twice: the kernel's summation order is fixed,
// so the results are bit-identical.
func TestCUDAGemmDeterministic(t *testing.T) {
	host, gpu := engines(t)
	r := cudaRand(4)
	const m, n, k = 100, 50, 300
	a := put(t, host, gpu, cudaRandSlice(r, m*k, -1, 1))
	b := put(t, host, gpu, cudaRandSlice(r, k*n, -1, 1))
	c := put(t, host, gpu, make([]float32, m*n))
	var first []float32
	for range 2 {
		if err := gpu.Gemm(false, true, m, n, k, 1, a.g, b.g, 0, c.g); err != nil {
			t.Fatal(err)
		}
		got := get(t, gpu, c.g)
		if first == nil {
			first = got
			continue
		}
		assertEqual(t, "second run", got, first)
	}
}

func TestCUDABiasKernelsMatchHost(t *testing.T) {
	host, gpu := engines(t)
	r := cudaRand(5)
	for _, s := range [][2]int{{1, 1}, {3, 6}, {257, 228}, {2048, 33}, {0, 5}} {
		rows, cols := s[0], s[1]
		t.Run(fmt.Sprintf("AddRowVector_%dx%d", rows, cols), func(t *testing.T) {
			y := put(t, host, gpu, cudaRandSlice(r, rows*cols, -2, 2))
			v := put(t, host, gpu, cudaRandSlice(r, cols, -2, 2))
			if err := host.AddRowVector(y.h, v.h, rows, cols); err != nil {
				t.Fatal(err)
			}
			if err := gpu.AddRowVector(y.g, v.g, rows, cols); err != nil {
				t.Fatal(err)
			}
			agree(t, "y", gpu, y)
		})
		for _, beta := range []float32{0, 1, 0.5} {
			t.Run(fmt.Sprintf("SumRows_%dx%d_beta%v", rows, cols, beta), func(t *testing.T) {
				src := put(t, host, gpu, cudaRandSlice(r, rows*cols, -2, 2))
				init := cudaRandSlice(r, cols, -2, 2)
				if beta == 0 {
					init[0] = float32(math.NaN())
				}
				dst := put(t, host, gpu, init)
				if err := host.SumRows(dst.h, src.h, rows, cols, beta); err != nil {
					t.Fatal(err)
				}
				if err := gpu.SumRows(dst.g, src.g, rows, cols, beta); err != nil {
					t.Fatal(err)
				}
				agree(t, "dst", gpu, dst)
			})
		}
	}
}

func TestCUDAElementwiseMatchHost(t *testing.T) {
	host, gpu := engines(t)
	r := cudaRand(6)
	special := []float32{0, float32(math.Copysign(0, -1)), float32(math.NaN()), -1e-30, 1e-30, float32(math.Inf(1)), float32(math.Inf(-1))}
	for _, n := range []int{1, 255, 256, 257, 100003} {
		x := cudaRandSlice(r, n, -3, 3)
		copy(x, special[:min(len(special), n)])
		t.Run(fmt.Sprintf("ReLU_%d", n), func(t *testing.T) {
			y := put(t, host, gpu, x)
			if err := host.ReLU(y.h, n); err != nil {
				t.Fatal(err)
			}
			if err := gpu.ReLU(y.g, n); err != nil {
				t.Fatal(err)
			}
			agree(t, "y", gpu, y)
		})
		t.Run(fmt.Sprintf("ReLUBackward_%d", n), func(t *testing.T) {
			y := put(t, host, gpu, x)
			dy := put(t, host, gpu, cudaRandSlice(r, n, -1, 1))
			if err := host.ReLUBackward(dy.h, y.h, n); err != nil {
				t.Fatal(err)
			}
			if err := gpu.ReLUBackward(dy.g, y.g, n); err != nil {
				t.Fatal(err)
			}
			agree(t, "dy", gpu, dy)
		})
		t.Run(fmt.Sprintf("Scale_%d", n), func(t *testing.T) {
			y := put(t, host, gpu, x)
			if err := host.Scale(y.h, n, -0.3); err != nil {
				t.Fatal(err)
			}
			if err := gpu.Scale(y.g, n, -0.3); err != nil {
				t.Fatal(err)
			}
			agree(t, "x", gpu, y)
		})
		t.Run(fmt.Sprintf("FillCopy_%d", n), func(t *testing.T) {
			// Fill and Copy a prefix of a longer buffer: the tail is untouched.
			y := put(t, host, gpu, append(append([]float32(nil), x...), 7))
			z := put(t, host, gpu, cudaRandSlice(r, n+1, -1, 1))
			for _, e := range []struct {
				eng  *Engine
				y, z *Buffer
			}{{host, y.h, z.h}, {gpu, y.g, z.g}} {
				if err := e.eng.Fill(e.y, n-n/2, 2.5); err != nil {
					t.Fatal(err)
				}
				if err := e.eng.Copy(e.z, e.y, n); err != nil {
					t.Fatal(err)
				}
			}
			agree(t, "filled", gpu, y)
			agree(t, "copied", gpu, z)
		})
	}
}

func TestCUDASumSquaresMatchHost(t *testing.T) {
	host, gpu := engines(t)
	r := cudaRand(7)
	for _, n := range []int{0, 1, 255, 257, 1000, 59508} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			src := put(t, host, gpu, cudaRandSlice(r, n, -1, 1))
			dst := put(t, host, gpu, []float32{5, 6, 7, 8})
			for _, at := range []int{2, 0} {
				if err := host.SumSquares(dst.h, at, src.h, n); err != nil {
					t.Fatal(err)
				}
				if err := gpu.SumSquares(dst.g, at, src.g, n); err != nil {
					t.Fatal(err)
				}
			}
			agree(t, "dst", gpu, dst) // slots 1 and 3 untouched, 0 and 2 overwritten
		})
	}
}

// cudaMask draws a mask with about a third of the actions masked, a row with one legal
// action and, when allMasked, a row with none (which the engine maps to the uniform
// distribution with entropy 0).
func cudaMask(r *rand.Rand, rows, cols int, allMasked bool) []float32 {
	m := make([]float32, rows*cols)
	for i := range m {
		if r.Float64() > 0.33 {
			m[i] = 1
		}
	}
	for i := range rows {
		row := m[i*cols : (i+1)*cols]
		legal := false
		for _, v := range row {
			legal = legal || v != 0
		}
		if !legal {
			row[r.IntN(cols)] = 1
		}
	}
	if rows > 1 {
		clear(m[:cols])
		m[r.IntN(cols)] = 1
	}
	if allMasked && rows > 2 {
		clear(m[cols : 2*cols])
	}
	return m
}

func TestCUDAMaskedLogSoftmaxMatchesHost(t *testing.T) {
	host, gpu := engines(t)
	r := cudaRand(8)
	for _, s := range [][2]int{{1, 6}, {5, 6}, {300, 6}, {129, 33}, {4, 1}} {
		rows, cols := s[0], s[1]
		t.Run(fmt.Sprintf("%dx%d", rows, cols), func(t *testing.T) {
			logits := put(t, host, gpu, cudaRandSlice(r, rows*cols, -8, 8))
			mask := put(t, host, gpu, cudaMask(r, rows, cols, true))
			logp := put(t, host, gpu, make([]float32, rows*cols))
			ent := put(t, host, gpu, make([]float32, rows))
			if err := host.MaskedLogSoftmax(logp.h, ent.h, logits.h, mask.h, rows, cols); err != nil {
				t.Fatal(err)
			}
			if err := gpu.MaskedLogSoftmax(logp.g, ent.g, logits.g, mask.g, rows, cols); err != nil {
				t.Fatal(err)
			}
			agree(t, "logp", gpu, logp)
			agree(t, "entropy", gpu, ent)
		})
	}
}

// cudaPPOInputs draws a minibatch whose ratios straddle the clip range: old log-probs are
// the current ones (from the host engine) shifted by up to +-0.5, advantages of both signs,
// legal actions only.
func cudaPPOInputs(t *testing.T, host, gpu *Engine, r *rand.Rand, rows, cols int) (PPOLossIn, PPOLossIn) {
	t.Helper()
	logitsX := cudaRandSlice(r, rows*cols, -3, 3)
	maskX := cudaMask(r, rows, cols, false)
	lp := NewHost(CPU, make([]float32, rows*cols))
	ent := NewHost(CPU, make([]float32, rows))
	if err := host.MaskedLogSoftmax(lp, ent, NewHost(CPU, logitsX), NewHost(CPU, maskX), rows, cols); err != nil {
		t.Fatal(err)
	}
	actions := make([]float32, rows)
	oldLogp := make([]float32, rows)
	for i := range rows {
		var legal []int
		for j := range cols {
			if maskX[i*cols+j] != 0 {
				legal = append(legal, j)
			}
		}
		a := legal[r.IntN(len(legal))]
		actions[i] = float32(a)
		oldLogp[i] = data(lp)[i*cols+a] + float32(r.Float64()-0.5)
	}
	values := cudaRandSlice(r, rows, -2, 2)
	oldValues := make([]float32, rows)
	for i, v := range values {
		oldValues[i] = v + float32(0.6*(r.Float64()-0.5))
	}
	logits, mask := put(t, host, gpu, logitsX), put(t, host, gpu, maskX)
	vals, acts := put(t, host, gpu, values), put(t, host, gpu, actions)
	olp, ov := put(t, host, gpu, oldLogp), put(t, host, gpu, oldValues)
	adv, ret := put(t, host, gpu, cudaRandSlice(r, rows, -2, 2)), put(t, host, gpu, cudaRandSlice(r, rows, -2, 2))
	h := PPOLossIn{Logits: logits.h, Mask: mask.h, Values: vals.h, Actions: acts.h, OldLogp: olp.h, OldValues: ov.h, Adv: adv.h, Returns: ret.h}
	g := PPOLossIn{Logits: logits.g, Mask: mask.g, Values: vals.g, Actions: acts.g, OldLogp: olp.g, OldValues: ov.g, Adv: adv.g, Returns: ret.g}
	return h, g
}

func TestCUDAPPOLossMatchesHost(t *testing.T) {
	host, gpu := engines(t)
	r := cudaRand(9)
	for _, s := range [][2]int{{1, 6}, {64, 6}, {256, 6}, {333, 9}} {
		for _, p := range []PPOParams{
			{ClipRange: 0.2, EntCoef: 0.01, VfCoef: 0.5},
			{ClipRange: 0.1, ClipRangeVF: 0.2, EntCoef: 0.05, VfCoef: 1},
		} {
			rows, cols := s[0], s[1]
			t.Run(fmt.Sprintf("%dx%d_vf%v", rows, cols, p.ClipRangeVF), func(t *testing.T) {
				inH, inG := cudaPPOInputs(t, host, gpu, r, rows, cols)
				dl := put(t, host, gpu, make([]float32, rows*cols))
				dv := put(t, host, gpu, make([]float32, rows))
				terms := put(t, host, gpu, make([]float32, rows*PPOTerms))
				if err := host.PPOLoss(PPOLossOut{DLogits: dl.h, DValues: dv.h, Terms: terms.h}, inH, rows, cols, p); err != nil {
					t.Fatal(err)
				}
				if err := gpu.PPOLoss(PPOLossOut{DLogits: dl.g, DValues: dv.g, Terms: terms.g}, inG, rows, cols, p); err != nil {
					t.Fatalf("cuda PPOLoss: %v", err)
				}
				agree(t, "DLogits", gpu, dl)
				agree(t, "DValues", gpu, dv)
				agree(t, "Terms", gpu, terms)
				clipped := 0
				for i := range rows {
					clipped += int(data(terms.h)[i*PPOTerms+TermClipped])
				}
				if rows >= 64 && (clipped == 0 || clipped == rows) {
					t.Errorf("%d of %d samples clipped: the inputs do not exercise both branches", clipped, rows)
				}
			})
		}
	}
}

// TestCUDAPPOLossBadAction: an action id outside [0, cols) is an ErrInvalidArgument from
// the call, as on the host, and the engine works normally afterwards.
func TestCUDAPPOLossBadAction(t *testing.T) {
	host, gpu := engines(t)
	r := cudaRand(10)
	const rows, cols = 8, 6
	p := PPOParams{ClipRange: 0.2, EntCoef: 0.01, VfCoef: 0.5}
	for _, bad := range []float32{6, -1, 2.5, float32(math.NaN())} {
		t.Run(fmt.Sprint(bad), func(t *testing.T) {
			_, in := cudaPPOInputs(t, host, gpu, r, rows, cols)
			out := PPOLossOut{
				DLogits: put(t, host, gpu, make([]float32, rows*cols)).g,
				DValues: put(t, host, gpu, make([]float32, rows)).g,
				Terms:   put(t, host, gpu, make([]float32, rows*PPOTerms)).g,
			}
			acts := get(t, gpu, in.Actions)
			acts[3] = bad
			if err := gpu.Upload(in.Actions, acts); err != nil {
				t.Fatal(err)
			}
			if err := gpu.PPOLoss(out, in, rows, cols, p); !errors.Is(err, ErrInvalidArgument) {
				t.Fatalf("action %v: error %v, want ErrInvalidArgument", bad, err)
			}
			acts[3] = 0
			if err := gpu.Upload(in.Actions, acts); err != nil {
				t.Fatal(err)
			}
			if err := gpu.PPOLoss(out, in, rows, cols, p); err != nil {
				t.Fatalf("after a bad action was fixed: %v", err)
			}
		})
	}
}

func TestCUDAAdamMatchesHost(t *testing.T) {
	host, gpu := engines(t)
	r := cudaRand(11)
	for _, n := range []int{1, 300, 59508} {
		for _, p := range []AdamParams{
			{LR: 3e-4, Beta1: 0.9, Beta2: 0.999, Eps: 1e-5, GradScale: 1},
			{LR: 1e-2, Beta1: 0.5, Beta2: 0.9, Eps: 1e-8, GradScale: 0.3},
		} {
			t.Run(fmt.Sprintf("%d_lr%v", n, p.LR), func(t *testing.T) {
				param := put(t, host, gpu, cudaRandSlice(r, n, -1, 1))
				m := put(t, host, gpu, make([]float32, n))
				v := put(t, host, gpu, make([]float32, n))
				for step := 1; step <= 3; step++ {
					grad := put(t, host, gpu, cudaRandSlice(r, n, -2, 2))
					p.Step = step
					if err := host.Adam(param.h, grad.h, m.h, v.h, n, p); err != nil {
						t.Fatal(err)
					}
					if err := gpu.Adam(param.g, grad.g, m.g, v.g, n, p); err != nil {
						t.Fatal(err)
					}
				}
				agree(t, "param", gpu, param)
				agree(t, "m", gpu, m)
				agree(t, "v", gpu, v)
			})
		}
	}
}

// BenchmarkCUDAGemm times the GEMM kernel at the policy's shapes (those of BenchmarkGemm,
// the host engine's), each iteration waiting for the kernel.
func BenchmarkCUDAGemm(b *testing.B) {
	gpu := openCUDABench(b)
	r := cudaRand(12)
	for _, s := range []struct {
		m, k, n int
		ta      bool
	}{
		{256, 261, 228, false},
		{256, 228, 512, false},
		{2048, 512, 256, false},
		{512, 2048, 256, true},
	} {
		name := fmt.Sprintf("%dx%dx%d", s.m, s.k, s.n)
		if s.ta {
			name += "_transA"
		}
		b.Run(name, func(b *testing.B) {
			x := benchBuf(b, gpu, cudaRandSlice(r, s.m*s.k, -1, 1))
			w := benchBuf(b, gpu, cudaRandSlice(r, s.k*s.n, -1, 1))
			y := benchBuf(b, gpu, make([]float32, s.m*s.n))
			b.ReportAllocs()
			for b.Loop() {
				if err := gpu.Gemm(s.ta, false, s.m, s.n, s.k, 1, x, w, 0, y); err != nil {
					b.Fatal(err)
				}
				if err := gpu.Sync(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(2*float64(s.m)*float64(s.n)*float64(s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkCUDAPPOLoss times the loss kernel on a minibatch of 256 over 6 actions; the
// call includes its status read-back, so it waits for the kernel.
func BenchmarkCUDAPPOLoss(b *testing.B) {
	gpu := openCUDABench(b)
	const rows, cols = 256, 6
	r := cudaRand(13)
	mask := make([]float32, rows*cols)
	for i := range mask {
		mask[i] = 1
	}
	acts := make([]float32, rows)
	for i := range acts {
		acts[i] = float32(r.IntN(cols))
	}
	in := PPOLossIn{
		Logits: benchBuf(b, gpu, cudaRandSlice(r, rows*cols, -2, 2)), Mask: benchBuf(b, gpu, mask),
		Values: benchBuf(b, gpu, cudaRandSlice(r, rows, -1, 1)), Actions: benchBuf(b, gpu, acts),
		OldLogp: benchBuf(b, gpu, cudaRandSlice(r, rows, -2, -1)), Adv: benchBuf(b, gpu, cudaRandSlice(r, rows, -1, 1)),
		Returns: benchBuf(b, gpu, cudaRandSlice(r, rows, -1, 1)),
	}
	out := PPOLossOut{DLogits: benchBuf(b, gpu, make([]float32, rows*cols)),
		DValues: benchBuf(b, gpu, make([]float32, rows)), Terms: benchBuf(b, gpu, make([]float32, rows*PPOTerms))}
	p := PPOParams{ClipRange: 0.2, EntCoef: 0.01, VfCoef: 0.5}
	b.ReportAllocs()
	for b.Loop() {
		if err := gpu.PPOLoss(out, in, rows, cols, p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCUDAAdam times one Adam step over the adapter's weight (261 x 228).
func BenchmarkCUDAAdam(b *testing.B) {
	gpu := openCUDABench(b)
	const n = 261 * 228
	r := cudaRand(14)
	param, grad := benchBuf(b, gpu, cudaRandSlice(r, n, -1, 1)), benchBuf(b, gpu, cudaRandSlice(r, n, -1, 1))
	m, v := benchBuf(b, gpu, make([]float32, n)), benchBuf(b, gpu, make([]float32, n))
	p := AdamParams{LR: 3e-4, Beta1: 0.9, Beta2: 0.999, Eps: 1e-5, Step: 1, GradScale: 1}
	b.ReportAllocs()
	for b.Loop() {
		if err := gpu.Adam(param, grad, m, v, n, p); err != nil {
			b.Fatal(err)
		}
		if err := gpu.Sync(); err != nil {
			b.Fatal(err)
		}
	}
}

// benchBuf uploads x to a new buffer on e, freed when the benchmark ends.
func benchBuf(b *testing.B, e *Engine, x []float32) *Buffer {
	b.Helper()
	buf, err := e.Alloc(len(x))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.Free(buf) })
	if err := e.Upload(buf, x); err != nil {
		b.Fatal(err)
	}
	return buf
}
