package device

// The PPO loss kernel. The engine runs it because a GPU must: the minibatch's loss and its
// gradient with respect to the logits and values are computed where the network's outputs
// live, and only the per-sample terms come back. What it computes is defined once, in
// internal/ppoloss (line by line against CleanRL's ppo.py and SB3's PPO.train): the host
// engine's ppoLoss (host.go) runs it for every row, and the CUDA kernel ht_ppo_loss
// (kernels/kernels.cu) implements the same lines in float32 and is tested against the host
// engine.

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
	// Terms holds per sample, rows x PPOTerms, indexed by the Term* constants: the terms
	// of internal/ppoloss's Terms (the entropy H itself, not its loss).
	Terms *Buffer
}

// PPOTerms is the number of per-sample terms PPOLoss writes; the Term* constants index them.
// kernels/kernels.cu has the same layout as HT_PPO_TERMS and HT_TERM_* (TestKernelTermLayout).
const PPOTerms = 5

// Indices into a row of PPOLossOut.Terms.
const (
	TermPolicy   = 0
	TermValue    = 1
	TermEntropy  = 2
	TermApproxKL = 3
	TermClipped  = 4
)

// PPOLoss computes, for a minibatch of rows samples over cols actions, the per-sample loss
// terms and the gradient of the mean total loss with respect to the raw logits and the
// values (see PPOLossIn, PPOLossOut and PPOParams). OldValues may be nil when ClipRangeVF
// is 0. No output may be the same buffer as an input or another output. An action id
// outside [0, cols) is an error.
func (e *Engine) PPOLoss(out PPOLossOut, in PPOLossIn, rows, cols int, p PPOParams) error {
	const op = "PPOLoss"
	if err := checkDims(op, dim{"rows", rows}, dim{"cols", cols}); err != nil {
		return err
	}
	if !(p.ClipRange >= 0) || !(p.ClipRangeVF >= 0) || isInf32(p.ClipRange) || isInf32(p.ClipRangeVF) {
		return invalid(op, "clip ranges must be finite and >= 0, got clip_range %v, clip_range_vf %v", p.ClipRange, p.ClipRangeVF)
	}
	if isNaNOrInf32(p.EntCoef) || isNaNOrInf32(p.VfCoef) {
		return invalid(op, "coefficients must be finite, got ent_coef %v, vf_coef %v", p.EntCoef, p.VfCoef)
	}
	rc := mul(rows, cols)
	// A fixed array keeps the per-minibatch validation free of allocations.
	ops := [...]operand{
		{"out.DLogits", out.DLogits, rc},
		{"out.DValues", out.DValues, rows},
		{"out.Terms", out.Terms, mul(rows, PPOTerms)},
		{"in.Logits", in.Logits, rc},
		{"in.Mask", in.Mask, rc},
		{"in.Values", in.Values, rows},
		{"in.Actions", in.Actions, rows},
		{"in.OldLogp", in.OldLogp, rows},
		{"in.Adv", in.Adv, rows},
		{"in.Returns", in.Returns, rows},
		{"in.OldValues", in.OldValues, rows},
	}
	const nOut = 3
	list := ops[:len(ops)-1]
	if p.ClipRangeVF > 0 {
		list = ops[:]
	}
	if err := e.check(op, list...); err != nil {
		return err
	}
	for i := range nOut {
		if err := distinct(op, list[i], list[i+1:]...); err != nil {
			return err
		}
	}
	return e.impl.ppoLoss(out, in, rows, cols, p)
}
