package device

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
// -Inf, so that a row stays finite).
const MaskedLogit = -1e8

// PPOParams are the loss coefficients of one update.
type PPOParams struct {
	ClipRange   float32 // epsilon of the clipped surrogate
	ClipRangeVF float32 // value clipping around the old values; 0 = off (SB3's default)
	EntCoef     float32
	VfCoef      float32
}

// PPOLossIn are the inputs of PPOLoss for a minibatch of rows samples and cols actions.
type PPOLossIn struct {
	Logits    *Buffer // rows x cols, raw (before masking)
	Mask      *Buffer // rows x cols, 1 legal / 0 masked
	Values    *Buffer // rows, predicted values
	Actions   *Buffer // rows, action ids stored as float32
	OldLogp   *Buffer // rows
	OldValues *Buffer // rows (read only when ClipRangeVF > 0)
	Adv       *Buffer // rows, already normalised
	Returns   *Buffer // rows
}

// PPOLossOut receives PPOLoss's results.
type PPOLossOut struct {
	// DLogits and DValues are the gradient of the minibatch's mean total loss
	// pg + ent_coef*entropy_loss + vf_coef*value_loss with respect to the raw logits and
	// the values (zero at masked logits).
	DLogits *Buffer // rows x cols
	DValues *Buffer // rows
	// Terms holds per sample, rows x PPOTerms: policy loss -min(A r, A clip(r)), squared
	// value error, entropy, (r-1) - log r, and 1 if |r-1| > clip range else 0.
	Terms *Buffer
}

// PPOTerms is the number of per-sample terms PPOLoss writes; the Term* constants index them.
const PPOTerms = 5

// Indices into a row of PPOLossOut.Terms.
const (
	TermPolicy   = 0
	TermValue    = 1
	TermEntropy  = 2
	TermApproxKL = 3
	TermClipped  = 4
)

// AdamParams are one Adam step's settings, PyTorch's form: m and v are updated with the
// (scaled) gradient, then param -= lr/(1-beta1^step) * m / (sqrt(v)/sqrt(1-beta2^step) + eps).
type AdamParams struct {
	LR, Beta1, Beta2, Eps float32
	Step                  int     // this tensor's step count after the increment (1 on the first step)
	GradScale             float32 // the gradient is multiplied by this first (grad-norm clip); 1 = none
}
