package device

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/blas"

	"hybridtrain/internal/gemm"
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

// rowLogSoftmax fills lp with the masked log-probabilities of one row and p with the
// probabilities (float64), and returns the masked entropy. It is shared by
// MaskedLogSoftmax and PPOLoss so that both define the distribution identically; each
// exponential is taken once.
func rowLogSoftmax(lp, p []float64, logits, mask []float32) (entropy float64) {
	mx := math.Inf(-1)
	for j, z := range logits {
		v := float64(z)
		if mask[j] == 0 {
			v = MaskedLogit
		}
		lp[j] = v
		mx = max(mx, v)
	}
	var s float64
	for j, v := range lp {
		p[j] = math.Exp(v - mx)
		s += p[j]
	}
	lse := mx + math.Log(s)
	inv := 1 / s
	for j := range lp {
		lp[j] -= lse
		p[j] *= inv
		if mask[j] != 0 {
			entropy -= p[j] * lp[j]
		}
	}
	return entropy
}

// scratch returns a float64 row buffer: the stack array when cols fits, else a new slice.
func scratch(small *[smallCols]float64, cols int) []float64 {
	if cols <= smallCols {
		return small[:cols]
	}
	return make([]float64, cols)
}

func (h hostKernels) maskedLogSoftmax(logp, entropy, logits, mask *Buffer, rows, cols int) error {
	var small, smallP [smallCols]float64
	lp, p := scratch(&small, cols), scratch(&smallP, cols)
	for r := range rows {
		lo, hi := r*cols, (r+1)*cols
		entropy.host[r] = float32(rowLogSoftmax(lp, p, logits.host[lo:hi], mask.host[lo:hi]))
		out := logp.host[lo:hi]
		for j, l := range lp {
			out[j] = float32(l)
		}
	}
	return nil
}

// ppoLoss is internal/policy/loss.go's ppoSample for every row (the same lines in the same
// order, float64, rounded once when stored), with the gradients divided by the number of
// rows: the gradient of the mean loss. loss.go states the formulas and derives the
// gradients; the policy's TestHostEngineLossMatchesReference holds this copy to it. It is
// a copy because this package is a leaf: it cannot import the policy.
func (h hostKernels) ppoLoss(out PPOLossOut, in PPOLossIn, rows, cols int, p PPOParams) error {
	var small, smallP [smallCols]float64
	lp, prob := scratch(&small, cols), scratch(&smallP, cols)
	eps := float64(p.ClipRange)
	c := float64(p.ClipRangeVF)
	entCoef, vfCoef := float64(p.EntCoef), float64(p.VfCoef)
	invN := 1 / float64(rows)
	for i := range rows {
		lo, hi := i*cols, (i+1)*cols
		mask := in.Mask.host[lo:hi]
		H := rowLogSoftmax(lp, prob, in.Logits.host[lo:hi], mask)

		af := in.Actions.host[i]
		a := int(af)
		if float32(a) != af || a < 0 || a >= cols {
			return invalid("PPOLoss", "in.Actions[%d] = %v, want an action id in [0, %d)", i, af, cols)
		}
		logRatio := lp[a] - float64(in.OldLogp.host[i])
		r := math.Exp(logRatio)
		A := float64(in.Adv.host[i])
		rc := min(max(r, 1-eps), 1+eps)
		s1, s2 := A*r, A*rc
		pg := -min(s1, s2)
		var dpg float64 // d pg / d logp_a
		if s1 <= s2 || (r >= 1-eps && r <= 1+eps) {
			dpg = -A * r
		}

		dl := out.DLogits.host[lo:hi]
		for j, l := range lp {
			if mask[j] == 0 {
				dl[j] = 0
				continue
			}
			pj := prob[j]
			g := -dpg * pj
			if j == a {
				g += dpg
			}
			g += entCoef * pj * (l + H)
			dl[j] = float32(g * invN)
		}

		V, R := float64(in.Values.host[i]), float64(in.Returns.host[i])
		vPred, dvp := V, 1.0
		if c > 0 {
			old := float64(in.OldValues.host[i])
			d := V - old
			vPred = old + min(max(d, -c), c)
			if d < -c || d > c {
				dvp = 0
			}
		}
		diff := R - vPred
		out.DValues.host[i] = float32(vfCoef * -2 * diff * dvp * invN)

		t := out.Terms.host[i*PPOTerms : (i+1)*PPOTerms]
		t[TermPolicy] = float32(pg)
		t[TermValue] = float32(diff * diff)
		t[TermEntropy] = float32(H)
		t[TermApproxKL] = float32((r - 1) - logRatio)
		t[TermClipped] = 0
		if math.Abs(r-1) > eps {
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
