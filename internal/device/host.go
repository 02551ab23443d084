package device

import (
	"fmt"

	"gonum.org/v1/gonum/blas"

	"hybridtrain/internal/gemm"
	"hybridtrain/internal/ppoloss"
	"hybridtrain/internal/vec"
)

// hostKernels is the engine of the host devices (cpu and test): plain Go on float32
// row-major slices. The Engine has already checked devices, lengths and aliasing, so the
// kernels index freely within the checked sizes.
//
// Precision: GEMM is float32 throughout (BLAS Sgemm). The reductions (SumRows,
// SumSquares), the log-softmax, the PPO loss and Adam compute in float64 and round once
// when storing, so their results do not depend on summation order beyond float64
// rounding. Every loop runs in a fixed order, so results are deterministic.
type hostKernels struct {
	dev Device
}

// smallCols is the row width up to which per-row float64 scratch lives on the stack; the
// policy has 6 actions.
const smallCols = 64

func (h hostKernels) alloc(n int) (*Buffer, error) {
	return &Buffer{dev: h.dev, n: n, host: make([]float32, n)}, nil
}

func (h hostKernels) free(b *Buffer) {
	b.host, b.n = nil, 0
}

func (h hostKernels) upload(dst *Buffer, src []float32) error {
	copy(dst.host, src)
	return nil
}

func (h hostKernels) download(dst []float32, src *Buffer) error {
	copy(dst, src.host)
	return nil
}

func (h hostKernels) sync() error { return nil }

// gemm runs internal/gemm's SGEMM (AVX-512 or AVX2 kernels where the CPU has them, gonum's
// otherwise), the same one gorgonia uses on the CPU.
func (h hostKernels) gemm(transA, transB bool, m, n, k int, alpha float32, a, b *Buffer, beta float32, c *Buffer) error {
	if m == 0 || n == 0 {
		return nil
	}
	cm := c.host[:m*n]
	if k == 0 {
		// BLAS refuses zero-width leading dimensions; C = beta C is the whole product.
		for i := range cm {
			if beta == 0 {
				cm[i] = 0
			} else {
				cm[i] *= beta
			}
		}
		return nil
	}
	ta, tb, lda, ldb := blas.NoTrans, blas.NoTrans, k, n
	if transA {
		ta, lda = blas.Trans, m
	}
	if transB {
		tb, ldb = blas.Trans, k
	}
	gemm.Sgemm(ta, tb, m, n, k, alpha, a.host[:m*k], lda, b.host[:k*n], ldb, beta, cm, n)
	return nil
}

func (h hostKernels) addRowVector(y, v *Buffer, rows, cols int) error {
	vv := v.host[:cols]
	for r := range rows {
		vec.AddBias(y.host[r*cols:(r+1)*cols], vv)
	}
	return nil
}

// sumRows accumulates each column in float64, a block of columns at a time so that the
// accumulators stay on the stack and the rows are read in memory order.
func (h hostKernels) sumRows(dst, src *Buffer, rows, cols int, beta float32) error {
	const block = 64
	var acc [block]float64
	for c0 := 0; c0 < cols; c0 += block {
		w := min(block, cols-c0)
		clear(acc[:w])
		for r := range rows {
			vec.AddTo64(acc[:w], src.host[r*cols+c0:r*cols+c0+w])
		}
		d := dst.host[c0 : c0+w]
		for j := range d {
			if beta == 0 {
				d[j] = float32(acc[j])
			} else {
				d[j] = float32(float64(beta)*float64(d[j]) + acc[j])
			}
		}
	}
	return nil
}

func (h hostKernels) relu(y *Buffer, n int) error {
	for i, x := range y.host[:n] {
		if x < 0 {
			y.host[i] = 0
		}
	}
	return nil
}

func (h hostKernels) reluBackward(dy, y *Buffer, n int) error {
	vec.ReLUGrad(dy.host[:n], dy.host[:n], y.host[:n])
	return nil
}

// rowScratch is the float64 (and bool) scratch of one row of the loss and the masked
// log-softmax: on the stack for up to smallCols actions, allocated beyond.
type rowScratch struct {
	small                       [5][smallCols]float64
	smallLegal                  [smallCols]bool
	logits, logp, prob, dLogits []float64
	legal                       []bool
}

func (s *rowScratch) init(cols int) {
	if cols <= smallCols {
		s.logits, s.logp, s.prob, s.dLogits = s.small[0][:cols], s.small[1][:cols], s.small[2][:cols], s.small[3][:cols]
		s.legal = s.smallLegal[:cols]
		return
	}
	s.logits, s.logp, s.prob, s.dLogits = make([]float64, cols), make([]float64, cols), make([]float64, cols), make([]float64, cols)
	s.legal = make([]bool, cols)
}

// load converts one row of float32 logits and a 1/0 mask into the loss's inputs.
func (s *rowScratch) load(logits, mask []float32) {
	for j, z := range logits {
		s.logits[j] = float64(z)
		s.legal[j] = mask[j] != 0
	}
}

// maskedLogSoftmax is internal/ppoloss's MaskedLogSoftmax for every row, so that rollouts on
// a device and the loss define the distribution identically.
func (h hostKernels) maskedLogSoftmax(logp, entropy, logits, mask *Buffer, rows, cols int) error {
	var s rowScratch
	s.init(cols)
	for r := range rows {
		lo, hi := r*cols, (r+1)*cols
		s.load(logits.host[lo:hi], mask.host[lo:hi])
		entropy.host[r] = float32(ppoloss.MaskedLogSoftmax(s.logp, s.prob, s.logits, s.legal))
		out := logp.host[lo:hi]
		for j, l := range s.logp {
			out[j] = float32(l)
		}
	}
	return nil
}

// ppoLoss runs internal/ppoloss's Sample (the loss's one definition) for every row, in
// float64, and stores its terms and its gradients divided by the number of rows (the
// gradient of the mean loss) as float32.
func (h hostKernels) ppoLoss(out PPOLossOut, in PPOLossIn, rows, cols int, p PPOParams) error {
	var s rowScratch
	s.init(cols)
	lp := ppoloss.Params{ClipRange: float64(p.ClipRange), ClipRangeVF: float64(p.ClipRangeVF),
		EntCoef: float64(p.EntCoef), VfCoef: float64(p.VfCoef)}
	invN := 1 / float64(rows)
	for i := range rows {
		af := in.Actions.host[i]
		a := int(af)
		if float32(a) != af || a < 0 || a >= cols {
			return invalid("PPOLoss", "in.Actions[%d] = %v, want an action id in [0, %d)", i, af, cols)
		}
		lo, hi := i*cols, (i+1)*cols
		s.load(in.Logits.host[lo:hi], in.Mask.host[lo:hi])
		r := ppoloss.Row{Logits: s.logits, Legal: s.legal, Action: a, Value: float64(in.Values.host[i]),
			OldLogp: float64(in.OldLogp.host[i]), Adv: float64(in.Adv.host[i]), Return: float64(in.Returns.host[i])}
		if lp.ClipRangeVF > 0 {
			r.OldValue = float64(in.OldValues.host[i])
		}
		tm, dv := ppoloss.Sample(&r, lp, s.logp, s.prob, s.dLogits)
		for j, g := range s.dLogits {
			out.DLogits.host[lo+j] = float32(g * invN)
		}
		out.DValues.host[i] = float32(dv * invN)
		t := out.Terms.host[i*PPOTerms : (i+1)*PPOTerms]
		t[TermPolicy] = float32(tm.Policy)
		t[TermValue] = float32(tm.Value)
		t[TermEntropy] = float32(tm.Entropy)
		t[TermApproxKL] = float32(tm.ApproxKL)
		t[TermClipped] = 0
		if tm.Clipped {
			t[TermClipped] = 1
		}
	}
	return nil
}

// sumSquares accumulates in float64 (internal/vec, SIMD where the CPU has it).
func (h hostKernels) sumSquares(dst *Buffer, at int, src *Buffer, n int) error {
	dst.host[at] = float32(vec.SumSquares(src.host[:n]))
	return nil
}

func (h hostKernels) scale(x *Buffer, n int, alpha float32) error {
	for i := range x.host[:n] {
		x.host[i] *= alpha
	}
	return nil
}

func (h hostKernels) fill(x *Buffer, n int, v float32) error {
	for i := range x.host[:n] {
		x.host[i] = v
	}
	return nil
}

func (h hostKernels) copy(dst, src *Buffer, n int) error {
	copy(dst.host[:n], src.host[:n])
	return nil
}

// adam is PyTorch's single-tensor Adam (torch.optim.Adam, amsgrad off, no weight decay)
// in float32, in PyTorch's order of operations (vec.Adam, SIMD where the CPU has it):
//
//	g = grad*scale; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2
//	p -= (lr / (1-b1^step)) * m / (sqrt(v) / sqrt(1-b2^step) + eps)
//
// The bias corrections, the step size and 1-b1, 1-b2 are computed in float64, as PyTorch
// computes them in Python floats, and rounded once.
func (h hostKernels) adam(param, grad, m, v *Buffer, n int, p AdamParams) error {
	s := vec.NewAdamStep(float64(p.LR), float64(p.Beta1), float64(p.Beta2), float64(p.Eps), p.Step, float64(p.GradScale))
	vec.Adam(param.host[:n], grad.host[:n], m.host[:n], v.host[:n], s)
	return nil
}

var _ kernels = hostKernels{}

// String names the engine in messages.
func (h hostKernels) String() string { return fmt.Sprintf("host engine (%s)", h.dev) }
