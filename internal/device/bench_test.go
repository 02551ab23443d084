package device

import (
	"fmt"
	"testing"
)

// BenchmarkGemm runs the host GEMM at the policy's shapes: the adapter (batch 256, 261 ->
// 228), the first hidden layer (228 -> 512) and the second at batch 2048 (512 -> 256),
// forward (NN) and the weight gradient's shape (TN: x^T dy).
func BenchmarkGemm(b *testing.B) {
	e := open(b, CPU)
	r := newRand(7)
	for _, s := range []struct {
		m, k, n int
		ta      bool
	}{
		{256, 261, 228, false},
		{256, 228, 512, false},
		{2048, 512, 256, false},
		{512, 2048, 256, true}, // dW = x^T dy for the 2048x512 layer input
	} {
		name := fmt.Sprintf("%dx%dx%d", s.m, s.k, s.n)
		if s.ta {
			name += "_transA"
		}
		b.Run(name, func(b *testing.B) {
			x, w, y := randBuf(r, s.m*s.k, 1), randBuf(r, s.k*s.n, 1), randBuf(r, s.m*s.n, 1)
			x.dev, w.dev, y.dev = CPU, CPU, CPU
			b.ReportAllocs()
			b.SetBytes(int64(4 * (s.m*s.k + s.k*s.n + s.m*s.n)))
			for b.Loop() {
				if err := e.Gemm(s.ta, false, s.m, s.n, s.k, 1, x, w, 0, y); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(2*float64(s.m)*float64(s.n)*float64(s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkPPOLoss runs the loss and its gradient on a minibatch of 256 over 6 actions.
func BenchmarkPPOLoss(b *testing.B) {
	const rows, cols = 256, 6
	c := randPPOCase(newRand(8), rows, cols, 0.2, 0.2)
	e := open(b, CPU)
	h := func(x []float32) *Buffer { return NewHost(CPU, x) }
	out := PPOLossOut{DLogits: h(make([]float32, rows*cols)), DValues: h(make([]float32, rows)), Terms: h(make([]float32, rows*PPOTerms))}
	in := PPOLossIn{Logits: h(c.logits), Mask: h(c.mask), Values: h(c.values), Actions: h(c.actions),
		OldLogp: h(c.oldLogp), OldValues: h(c.oldValues), Adv: h(c.adv), Returns: h(c.returns)}
	p := PPOParams{ClipRange: 0.2, EntCoef: 0.01, VfCoef: 0.5}
	b.ReportAllocs()
	for b.Loop() {
		if err := e.PPOLoss(out, in, rows, cols, p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAdam steps the largest parameter tensor of the default network (228 x 512).
func BenchmarkAdam(b *testing.B) {
	const n = 228 * 512
	e := open(b, CPU)
	r := newRand(9)
	p, g := randBuf(r, n, 1), randBuf(r, n, 0.1)
	m, v := NewHost(CPU, make([]float32, n)), NewHost(CPU, make([]float32, n))
	p.dev, g.dev = CPU, CPU
	b.ReportAllocs()
	step := 0
	for b.Loop() {
		step++
		if err := e.Adam(p, g, m, v, n, AdamParams{LR: 3e-4, Beta1: 0.9, Beta2: 0.999, Eps: 1e-5, Step: step, GradScale: 1}); err != nil {
			b.Fatal(err)
		}
	}
}
