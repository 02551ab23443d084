//go:build !cuda

package policy

import (
	"math"
	"testing"

	"gonum.org/v1/gonum/blas"
	G "gorgonia.org/gorgonia"

	"hybridtrain/internal/gemm"
)

// countingBLAS counts the float32 matrix products that reach gorgonia's BLAS, by
// transpose pattern ("NN" forward, "NT" input gradients, "TN" weight gradients).
type countingBLAS struct {
	G.BLAS
	calls map[string]int
}

func (c *countingBLAS) Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, cc []float32, ldc int) {
	key := map[bool]string{false: "N", true: "T"}
	c.calls[key[tA == blas.Trans]+key[tB == blas.Trans]]++
	c.BLAS.Sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, cc, ldc)
}

// useCounting installs a counting wrapper around gorgonia's BLAS for the rest of the test.
func useCounting(t *testing.T) *countingBLAS {
	prev := G.WhichBLAS()
	c := &countingBLAS{BLAS: prev, calls: map[string]int{}}
	G.Use(c)
	t.Cleanup(func() { G.Use(prev) })
	return c
}

// TestGraphGEMMsReachTheBLAS: the CPU backend's forward and backward matrix products all go
// through the BLAS installed for gorgonia, which is internal/gemm's by default. Per linear
// layer (adapter, hidden layers of both branches, the two heads): one forward product, one
// weight-gradient product per trainable layer and one input-gradient product per layer
// above the lowest trainable one; a frozen base keeps the input gradients (they reach the
// adapter) and drops the base's weight gradients.
func TestGraphGEMMsReachTheBLAS(t *testing.T) {
	if _, ok := G.WhichBLAS().(gemm.Implementation); !ok {
		t.Fatalf("gorgonia's BLAS is %T, want gemm.Implementation", G.WhichBLAS())
	}
	cfg := DefaultConfig()
	cfg.PiLayers, cfg.VfLayers = []int{32, 16}, []int{24} // unequal depths: a pass-through
	linears := 1 + len(cfg.PiLayers) + len(cfg.VfLayers) + 2
	p := mustNew(t, cfg, 7)
	mb := randomMinibatch(t, p, newRNG(8), 12)
	c := useCounting(t)

	out := &ActResult{Actions: make([]int32, 3), Values: make([]float32, 3), LogProbs: make([]float32, 3)}
	if err := p.Act(mb.Obs, mb.Masks, 3, false, newRNG(9), out); err != nil {
		t.Fatal(err)
	}
	if want := (map[string]int{"NN": linears}); !equalCounts(c.calls, want) {
		t.Errorf("act: products %v, want %v", c.calls, want)
	}
	for _, frozen := range []bool{false, true} {
		p.SetBaseFrozen(frozen)
		clear(c.calls)
		if _, err := p.Update(mb, defaultHP()); err != nil {
			t.Fatal(err)
		}
		want := map[string]int{"NN": linears, "NT": linears - 1, "TN": linears}
		if frozen {
			want["TN"] = 1
		}
		if !equalCounts(c.calls, want) {
			t.Errorf("update (base frozen %v): products %v, want %v", frozen, c.calls, want)
		}
	}
}

func equalCounts(a, b map[string]int) bool {
	for k, v := range b {
		if a[k] != v {
			return false
		}
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// skipOnGonumSgemm skips an allocation test where internal/gemm runs gonum's Sgemm (the
// generic level, HYBRIDTRAIN_SIMD=generic or a CPU without AVX2), whose parallel products
// allocate on every call; the claim is about the policy's own code and the SIMD kernels.
func skipOnGonumSgemm(t *testing.T) {
	if gemm.Level() == "generic" {
		t.Skip("internal/gemm runs gonum's Sgemm at the generic level, which allocates per call")
	}
}

// TestActAllocatesNothing: the rollout pass at 1..16 rows allocates nothing once its
// buffers exist (it runs the layers directly, without a tape).
func TestActAllocatesNothing(t *testing.T) {
	skipOnGonumSgemm(t)
	p := mustNew(t, DefaultConfig(), 11)
	rng := newRNG(12)
	for _, rows := range []int{1, 2, 8, 16} {
		obs := randomObs(rng, rows, p.cfg.ObsDim)
		masks := randomMasks(rng, rows, p.cfg.NumActions)
		out := &ActResult{Actions: make([]int32, rows), Values: make([]float32, rows), LogProbs: make([]float32, rows)}
		act := func() {
			if err := p.Act(obs, masks, rows, false, rng, out); err != nil {
				t.Fatal(err)
			}
		}
		act()
		if n := testing.AllocsPerRun(20, act); n != 0 {
			t.Errorf("Act at %d rows: %v allocations per call, want 0", rows, n)
		}
		v := func() {
			if err := p.Values(obs, rows, out.Values); err != nil {
				t.Fatal(err)
			}
		}
		if n := testing.AllocsPerRun(20, v); n != 0 {
			t.Errorf("Values at %d rows: %v allocations per call, want 0", rows, n)
		}
	}
}

// TestUpdateAllocationsConstant: an update's allocations (gorgonia's tape machine: a
// goroutine, channels and per-instruction bookkeeping) do not grow with the minibatch: the
// same count at 16 and 256 rows, and small. The runtime itself may add one now and then (a
// goroutine descriptor when its free list is empty, on a loaded machine), so each size takes
// the least of three measurements and the two may differ by 2; growth with the rows would
// be hundreds.
func TestUpdateAllocationsConstant(t *testing.T) {
	skipOnGonumSgemm(t)
	p := mustNew(t, DefaultConfig(), 13)
	counts := map[int]float64{}
	for _, rows := range []int{16, 256} {
		mb := randomMinibatch(t, p, newRNG(14), rows)
		hp := defaultHP()
		update := func() {
			if _, err := p.Update(mb, hp); err != nil {
				t.Fatal(err)
			}
		}
		update()
		counts[rows] = testing.AllocsPerRun(5, update)
		for range 2 {
			counts[rows] = min(counts[rows], testing.AllocsPerRun(5, update))
		}
	}
	if math.Abs(counts[16]-counts[256]) > 2 || counts[256] > 400 {
		t.Fatalf("allocations per update: %v at 16 rows, %v at 256; want the same (within 2) and <= 400", counts[16], counts[256])
	}
	t.Logf("allocations per update: %v", counts[256])
}
