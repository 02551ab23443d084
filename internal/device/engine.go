package device

import "hybridtrain/internal/ppoloss"

// Engine owns one device: it allocates buffers there, copies between host and device and
// runs kernels. Every method checks that each operand lives on the engine's device and
// returns a *MismatchError otherwise; lengths are checked too. Matrices are row-major
// float32. Engines are obtained with Open and are safe for use by one goroutine at a time.
type Engine struct {
	dev  Device
	impl kernels
}

// kernels is what a device implementation provides; Engine's exported methods validate
// operands and delegate here. The host implementation is host.go; the CUDA one is
// cuda_*.go (cuda build tag).
type kernels interface {
	alloc(n int) (*Buffer, error)
	free(b *Buffer)
	upload(dst *Buffer, src []float32) error
	download(dst []float32, src *Buffer) error
	sync() error

	gemm(transA, transB bool, m, n, k int, alpha float32, a, b *Buffer, beta float32, c *Buffer) error
	addRowVector(y, v *Buffer, rows, cols int) error
	sumRows(dst, src *Buffer, rows, cols int, beta float32) error
	relu(y *Buffer, n int) error
	reluBackward(dy, y *Buffer, n int) error
	maskedLogSoftmax(logp, entropy, logits, mask *Buffer, rows, cols int) error
	ppoLoss(out PPOLossOut, in PPOLossIn, rows, cols int, p PPOParams) error
	sumSquares(dst *Buffer, at int, src *Buffer, n int) error
	scale(x *Buffer, n int, alpha float32) error
	fill(x *Buffer, n int, v float32) error
	copy(dst, src *Buffer, n int) error
	adam(param, grad, m, v *Buffer, n int, p AdamParams) error
}

// MaskedLogit is the value a masked action's logit is replaced with (as sb3-contrib: not
// -Inf, so that a row stays finite); internal/ppoloss defines it.
const MaskedLogit = ppoloss.MaskedLogit

// AdamParams are one Adam step's settings, PyTorch's form: m and v are updated with the
// (scaled) gradient, then param -= lr/(1-beta1^step) * m / (sqrt(v)/sqrt(1-beta2^step) + eps).
type AdamParams struct {
	LR, Beta1, Beta2, Eps float32
	Step                  int     // this tensor's step count after the increment (1 on the first step)
	GradScale             float32 // the gradient is multiplied by this first (grad-norm clip); 1 = none
}

// operand is one buffer argument of an Engine method: its name in the signature, the
// buffer, and how many leading elements the call touches.
type operand struct {
	name string
	b    *Buffer
	need int
}

// dim is one integer argument that must not be negative.
type dim struct {
	name string
	v    int
}

// mul multiplies non-negative sizes, saturating instead of overflowing so that an absurd
// shape fails the length check rather than wrapping around to a small number.
func mul(a, b int) int {
	const maxInt = int(^uint(0) >> 1)
	if a != 0 && b > maxInt/a {
		return maxInt
	}
	return a * b
}

// checkDims refuses negative dimensions.
func checkDims(op string, ds ...dim) error {
	for _, d := range ds {
		if d.v < 0 {
			return invalid(op, "%s = %d, must be >= 0", d.name, d.v)
		}
	}
	return nil
}

// check validates the operands of one call: the engine exists, no operand is nil, every
// operand is on the engine's device (a *MismatchError naming the first offender, checked
// for all operands before any length), and every operand is long enough.
func (e *Engine) check(op string, ops ...operand) error {
	if e == nil || e.impl == nil {
		return invalid(op, "engine not opened (use device.Open)")
	}
	for _, o := range ops {
		if o.b == nil {
			return invalid(op, "operand %s is nil", o.name)
		}
	}
	for _, o := range ops {
		if o.b.dev != e.dev {
			return &MismatchError{Op: op, Want: e.dev, Got: o.b.dev, Operand: o.name}
		}
	}
	for _, o := range ops {
		if o.need > o.b.n {
			return &LengthError{Op: op, Operand: o.name, Need: o.need, Have: o.b.n}
		}
	}
	return nil
}

// distinct refuses an output that is the same buffer as another operand, where the kernel
// would read what it has already overwritten.
func distinct(op string, out operand, others ...operand) error {
	for _, o := range others {
		if o.b != nil && o.b == out.b {
			return invalid(op, "operand %s must not be the same buffer as %s", out.name, o.name)
		}
	}
	return nil
}

// Device is the device the engine runs on.
func (e *Engine) Device() Device { return e.dev }

// Alloc returns a zeroed buffer of n float32 on the engine's device.
func (e *Engine) Alloc(n int) (*Buffer, error) {
	if err := e.check("Alloc"); err != nil {
		return nil, err
	}
	if err := checkDims("Alloc", dim{"n", n}); err != nil {
		return nil, err
	}
	return e.impl.alloc(n)
}

// Free releases b's memory. Afterwards b has length 0, so any later use fails the length
// check instead of reading freed (or, on the host, stale) memory. Freeing nil or a buffer
// of another device does nothing.
func (e *Engine) Free(b *Buffer) {
	if e == nil || e.impl == nil || b == nil || b.dev != e.dev {
		return
	}
	e.impl.free(b)
}

// Upload copies len(src) floats from host memory into the leading elements of dst.
func (e *Engine) Upload(dst *Buffer, src []float32) error {
	if err := e.check("Upload", operand{"dst", dst, len(src)}); err != nil {
		return err
	}
	return e.impl.upload(dst, src)
}

// Download copies the leading len(dst) floats of src into host memory.
func (e *Engine) Download(dst []float32, src *Buffer) error {
	if err := e.check("Download", operand{"src", src, len(dst)}); err != nil {
		return err
	}
	return e.impl.download(dst, src)
}

// Sync waits until every operation queued on the device has finished (a no-op on the host,
// where every call is synchronous).
func (e *Engine) Sync() error {
	if err := e.check("Sync"); err != nil {
		return err
	}
	return e.impl.sync()
}

// Gemm computes C = alpha op(A) op(B) + beta C with op(A) m x k, op(B) k x n and C m x n,
// all row-major. A is stored m x k, or k x m when transA; B is stored k x n, or n x k when
// transB. With beta = 0, C is overwritten (NaN in C is not propagated), as BLAS. C must not
// be A or B.
func (e *Engine) Gemm(transA, transB bool, m, n, k int, alpha float32, a, b *Buffer, beta float32, c *Buffer) error {
	const op = "Gemm"
	if err := checkDims(op, dim{"m", m}, dim{"n", n}, dim{"k", k}); err != nil {
		return err
	}
	ao, bo, co := operand{"a", a, mul(m, k)}, operand{"b", b, mul(k, n)}, operand{"c", c, mul(m, n)}
	if err := e.check(op, ao, bo, co); err != nil {
		return err
	}
	if err := distinct(op, co, ao, bo); err != nil {
		return err
	}
	return e.impl.gemm(transA, transB, m, n, k, alpha, a, b, beta, c)
}

// AddRowVector adds the cols-vector v to every row of the rows x cols matrix y (a bias).
func (e *Engine) AddRowVector(y, v *Buffer, rows, cols int) error {
	const op = "AddRowVector"
	if err := checkDims(op, dim{"rows", rows}, dim{"cols", cols}); err != nil {
		return err
	}
	yo, vo := operand{"y", y, mul(rows, cols)}, operand{"v", v, cols}
	if err := e.check(op, yo, vo); err != nil {
		return err
	}
	if err := distinct(op, yo, vo); err != nil {
		return err
	}
	return e.impl.addRowVector(y, v, rows, cols)
}

// SumRows sets dst = beta dst + (sum over the rows of the rows x cols matrix src): a bias
// gradient, accumulated into an existing one with beta = 1. With beta = 0 dst is
// overwritten.
func (e *Engine) SumRows(dst, src *Buffer, rows, cols int, beta float32) error {
	const op = "SumRows"
	if err := checkDims(op, dim{"rows", rows}, dim{"cols", cols}); err != nil {
		return err
	}
	do, so := operand{"dst", dst, cols}, operand{"src", src, mul(rows, cols)}
	if err := e.check(op, do, so); err != nil {
		return err
	}
	if err := distinct(op, do, so); err != nil {
		return err
	}
	return e.impl.sumRows(dst, src, rows, cols, beta)
}

// ReLU sets y = max(y, 0) in place over the first n elements. NaN stays NaN, so that a
// non-finite forward pass is detected downstream rather than hidden.
func (e *Engine) ReLU(y *Buffer, n int) error {
	const op = "ReLU"
	if err := checkDims(op, dim{"n", n}); err != nil {
		return err
	}
	if err := e.check(op, operand{"y", y, n}); err != nil {
		return err
	}
	return e.impl.relu(y, n)
}

// ReLUBackward zeroes dy where the ReLU's output y is not positive (the gradient at 0 is
// 0, as PyTorch). y is the forward output, which is positive exactly where the input was.
func (e *Engine) ReLUBackward(dy, y *Buffer, n int) error {
	const op = "ReLUBackward"
	if err := checkDims(op, dim{"n", n}); err != nil {
		return err
	}
	if err := e.check(op, operand{"dy", dy, n}, operand{"y", y, n}); err != nil {
		return err
	}
	return e.impl.reluBackward(dy, y, n)
}

// MaskedLogSoftmax writes the masked distribution's log-probabilities (rows x cols) and
// entropies (rows) for raw logits and a mask (1 legal, 0 masked). A masked logit is replaced
// by MaskedLogit (not added to), the log-softmax is stabilised by the row maximum, and the
// entropy sums -p log p over legal actions only. A row with no legal action yields the
// uniform distribution over all actions and entropy 0, as sb3-contrib; the policy rejects
// such rows before they get here. Outputs must not be the same buffer as an input.
func (e *Engine) MaskedLogSoftmax(logp, entropy, logits, mask *Buffer, rows, cols int) error {
	const op = "MaskedLogSoftmax"
	if err := checkDims(op, dim{"rows", rows}, dim{"cols", cols}); err != nil {
		return err
	}
	rc := mul(rows, cols)
	lo, ho := operand{"logp", logp, rc}, operand{"entropy", entropy, rows}
	zo, mo := operand{"logits", logits, rc}, operand{"mask", mask, rc}
	if err := e.check(op, lo, ho, zo, mo); err != nil {
		return err
	}
	if err := distinct(op, lo, ho, zo, mo); err != nil {
		return err
	}
	if err := distinct(op, ho, zo, mo); err != nil {
		return err
	}
	return e.impl.maskedLogSoftmax(logp, entropy, logits, mask, rows, cols)
}

// SumSquares sets dst[at] = sum of src[i]^2 over the first n elements of src (overwrites;
// it does not accumulate). Writing each tensor's sum to its own slot of one buffer lets the
// global gradient norm be read back with one Download.
func (e *Engine) SumSquares(dst *Buffer, at int, src *Buffer, n int) error {
	const op = "SumSquares"
	if err := checkDims(op, dim{"at", at}, dim{"n", n}); err != nil {
		return err
	}
	do, so := operand{"dst", dst, at + 1}, operand{"src", src, n}
	if err := e.check(op, do, so); err != nil {
		return err
	}
	if err := distinct(op, do, so); err != nil {
		return err
	}
	return e.impl.sumSquares(dst, at, src, n)
}

// Scale multiplies the first n elements of x by alpha in place.
func (e *Engine) Scale(x *Buffer, n int, alpha float32) error {
	const op = "Scale"
	if err := checkDims(op, dim{"n", n}); err != nil {
		return err
	}
	if err := e.check(op, operand{"x", x, n}); err != nil {
		return err
	}
	return e.impl.scale(x, n, alpha)
}

// Fill sets the first n elements of x to v.
func (e *Engine) Fill(x *Buffer, n int, v float32) error {
	const op = "Fill"
	if err := checkDims(op, dim{"n", n}); err != nil {
		return err
	}
	if err := e.check(op, operand{"x", x, n}); err != nil {
		return err
	}
	return e.impl.fill(x, n, v)
}

// Copy copies the first n elements of src into dst, both on the engine's device (use
// Transfer between devices).
func (e *Engine) Copy(dst, src *Buffer, n int) error {
	const op = "Copy"
	if err := checkDims(op, dim{"n", n}); err != nil {
		return err
	}
	if err := e.check(op, operand{"dst", dst, n}, operand{"src", src, n}); err != nil {
		return err
	}
	if dst == src {
		return nil
	}
	return e.impl.copy(dst, src, n)
}

// Adam applies one Adam step (PyTorch's form, see AdamParams) to the first n elements of
// param with gradient grad and moments m and v, updated in place. grad is only read. The
// four buffers must be distinct.
func (e *Engine) Adam(param, grad, m, v *Buffer, n int, p AdamParams) error {
	const op = "Adam"
	if err := checkDims(op, dim{"n", n}); err != nil {
		return err
	}
	switch {
	case p.Step < 1:
		return invalid(op, "step must be >= 1 (the count after the increment), got %d", p.Step)
	case !(p.Beta1 >= 0 && p.Beta1 < 1) || !(p.Beta2 >= 0 && p.Beta2 < 1):
		return invalid(op, "betas must be in [0, 1), got %v, %v", p.Beta1, p.Beta2)
	case !(p.LR >= 0) || isInf32(p.LR):
		return invalid(op, "learning rate must be finite and >= 0, got %v", p.LR)
	case !(p.Eps >= 0) || isInf32(p.Eps):
		return invalid(op, "eps must be finite and >= 0, got %v", p.Eps)
	case !(p.GradScale > 0) || isInf32(p.GradScale):
		// 0 is refused rather than read as "no clipping": a forgotten field would
		// otherwise freeze every parameter without a word.
		return invalid(op, "grad scale must be finite and > 0 (1 = no clipping), got %v", p.GradScale)
	}
	po, go_, mo, vo := operand{"param", param, n}, operand{"grad", grad, n}, operand{"m", m, n}, operand{"v", v, n}
	if err := e.check(op, po, go_, mo, vo); err != nil {
		return err
	}
	if err := distinct(op, po, go_, mo, vo); err != nil {
		return err
	}
	if err := distinct(op, mo, go_, vo); err != nil {
		return err
	}
	if err := distinct(op, vo, go_); err != nil {
		return err
	}
	return e.impl.adam(param, grad, m, v, n, p)
}

func isInf32(x float32) bool { return x > maxFloat32 || x < -maxFloat32 }

func isNaNOrInf32(x float32) bool { return x != x || isInf32(x) }

const maxFloat32 = 3.40282346638528859811704183484516925440e+38
