package policy

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"hybridtrain/internal/device"
)

// Adam's constants, as SB3 configures PyTorch's Adam: betas (0.9, 0.999) and eps 1e-5 (not
// PyTorch's 1e-8).
const (
	adamBeta1 = 0.9
	adamBeta2 = 0.999
	adamEps   = 1e-5
)

// advEps is SB3's advantage-normalisation epsilon: (A - mean) / (std + 1e-8).
const advEps = 1e-8

// clipEps is PyTorch's clip_grad_norm_ epsilon: scale = max_norm / (norm + 1e-6).
const clipEps = 1e-6

// adamState is one parameter tensor's Adam state, on the parameter's device: the first and
// second moments and the number of steps this tensor has taken (PyTorch keeps one per
// tensor; a frozen tensor's count does not advance).
type adamState struct {
	m, v *device.Buffer
	step int
}

// Minibatch is one PPO minibatch in host memory; it crosses to the device at the loss's
// entry.
type Minibatch struct {
	Rows      int
	Obs       []float32 // Rows x ObsDim, normalised
	Masks     []bool    // Rows x NumActions
	Actions   []int32
	OldLogp   []float32
	OldValues []float32 // read only when ClipRangeVF > 0
	Adv       []float32 // raw; normalised per minibatch when NormalizeAdvantage
	Returns   []float32
}

// UpdateParams are the settings of one minibatch update.
type UpdateParams struct {
	LR                 float64
	ClipRange          float64
	ClipRangeVF        float64 // 0 = off
	EntCoef, VfCoef    float64
	MaxGradNorm        float64 // global norm over trainable parameters; 0 = no clipping
	TargetKL           float64 // 0 = none; else the step is skipped when approx_kl > 1.5 x TargetKL
	NormalizeAdvantage bool
}

func (hp UpdateParams) validate() error {
	fin := func(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
	switch {
	case !(hp.LR > 0) || !fin(hp.LR):
		return fmt.Errorf("policy: update: learning rate must be > 0, got %g", hp.LR)
	case !(hp.ClipRange > 0) || !fin(hp.ClipRange):
		return fmt.Errorf("policy: update: clip_range must be > 0, got %g", hp.ClipRange)
	case !(hp.ClipRangeVF >= 0) || !fin(hp.ClipRangeVF):
		return fmt.Errorf("policy: update: clip_range_vf must be >= 0 (0 = off), got %g", hp.ClipRangeVF)
	case !fin(hp.EntCoef):
		return fmt.Errorf("policy: update: ent_coef must be finite, got %g", hp.EntCoef)
	case !fin(hp.VfCoef):
		return fmt.Errorf("policy: update: vf_coef must be finite, got %g", hp.VfCoef)
	case !(hp.MaxGradNorm >= 0) || !fin(hp.MaxGradNorm):
		return fmt.Errorf("policy: update: max_grad_norm must be >= 0 (0 = no clipping), got %g", hp.MaxGradNorm)
	case !(hp.TargetKL >= 0) || !fin(hp.TargetKL):
		return fmt.Errorf("policy: update: target_kl must be >= 0 (0 = none), got %g", hp.TargetKL)
	}
	return nil
}

// UpdateStats are the minibatch's losses and diagnostics, computed before the step.
// EntropyLoss is -mean(entropy), as SB3 logs it. GradNorm is 0 when the step was skipped.
type UpdateStats struct {
	Loss, PolicyLoss, ValueLoss, EntropyLoss float64
	ApproxKL, ClipFraction                   float64
	GradNorm                                 float64 // before clipping
	Applied                                  bool    // false when skipped by TargetKL
}

// ErrNonFinite is returned (wrapped) when a loss, gradient or parameter is NaN or Inf.
var ErrNonFinite = errors.New("policy: non-finite value")

// checkMinibatch validates mb's lengths, masks and actions, and that its numbers are finite.
func (p *Policy) checkMinibatch(mb *Minibatch, useOldValues bool) error {
	if mb == nil {
		return errors.New("policy: update: nil minibatch")
	}
	n, nA := mb.Rows, p.cfg.NumActions
	short := func(name string, have, want int) error {
		return fmt.Errorf("policy: update: minibatch %s has %d values, want %d", name, have, want)
	}
	switch {
	case n < 1:
		return fmt.Errorf("policy: update: minibatch rows must be >= 1, got %d", n)
	case len(mb.Obs) < n*p.cfg.ObsDim:
		return short("obs", len(mb.Obs), n*p.cfg.ObsDim)
	case len(mb.Masks) < n*nA:
		return short("masks", len(mb.Masks), n*nA)
	case len(mb.Actions) < n:
		return short("actions", len(mb.Actions), n)
	case len(mb.OldLogp) < n:
		return short("old log-probs", len(mb.OldLogp), n)
	case len(mb.Adv) < n:
		return short("advantages", len(mb.Adv), n)
	case len(mb.Returns) < n:
		return short("returns", len(mb.Returns), n)
	case useOldValues && len(mb.OldValues) < n:
		return short("old values (clip_range_vf is on)", len(mb.OldValues), n)
	}
	if err := checkLegal(mb.Masks, n, nA); err != nil {
		return fmt.Errorf("policy: update: minibatch %w", err)
	}
	for i, a := range mb.Actions[:n] {
		if a < 0 || int(a) >= nA {
			return fmt.Errorf("policy: update: minibatch row %d: action %d out of range [0, %d)", i, a, nA)
		}
		if !mb.Masks[i*nA+int(a)] {
			return fmt.Errorf("policy: update: minibatch row %d: action %d is masked", i, a)
		}
	}
	for _, c := range []struct {
		name string
		xs   []float32
	}{{"obs", mb.Obs[:n*p.cfg.ObsDim]}, {"old log-probs", mb.OldLogp[:n]}, {"advantages", mb.Adv[:n]}, {"returns", mb.Returns[:n]}} {
		if err := checkFinite(c.name, c.xs); err != nil {
			return fmt.Errorf("policy: update: minibatch %w", err)
		}
	}
	if useOldValues {
		if err := checkFinite("old values", mb.OldValues[:n]); err != nil {
			return fmt.Errorf("policy: update: minibatch %w", err)
		}
	}
	return nil
}

// normalizeAdv returns the minibatch's advantages, normalised as SB3 does when asked:
// (A - mean) / (std + 1e-8) with the unbiased (n-1) std, in float64, skipped for a single
// sample.
func (p *Policy) normalizeAdv(adv []float32, normalize bool) []float32 {
	p.adv = grow(p.adv, len(adv))
	copy(p.adv, adv)
	n := len(adv)
	if !normalize || n < 2 {
		return p.adv
	}
	mean := 0.0
	for _, a := range adv {
		mean += float64(a)
	}
	mean /= float64(n)
	ss := 0.0
	for _, a := range adv {
		d := float64(a) - mean
		ss += d * d
	}
	std := math.Sqrt(ss / float64(n-1))
	for i, a := range adv {
		p.adv[i] = float32((float64(a) - mean) / (std + advEps))
	}
	return p.adv
}

// Update computes the PPO loss and its gradients on mb, and unless approx_kl exceeds
// 1.5 x TargetKL clips the global gradient norm of the trainable parameters and takes one
// Adam step on them.
//
// approx_kl and the clip fraction come from the same forward pass as the loss, before the
// step. The clip is PyTorch's clip_grad_norm_ over the trainable parameters only (frozen
// ones keep their values bit for bit and their Adam step counts). A non-finite loss term,
// gradient norm or updated parameter returns an error wrapping ErrNonFinite that names it.
func (p *Policy) Update(mb *Minibatch, hp UpdateParams) (UpdateStats, error) {
	if err := hp.validate(); err != nil {
		return UpdateStats{}, err
	}
	if err := p.checkMinibatch(mb, hp.ClipRangeVF > 0); err != nil {
		return UpdateStats{}, err
	}
	trainable := p.trainable()
	if !slices.Contains(trainable, true) {
		return UpdateStats{}, errors.New("policy: update: no trainable parameter (the base is frozen and the adapter is frozen or absent)")
	}
	be, eng, err := p.ready()
	if err != nil {
		return UpdateStats{}, err
	}
	adv := p.normalizeAdv(mb.Adv[:mb.Rows], hp.NormalizeAdvantage)
	t, err := be.evaluate(mb, adv, lossParams{ClipRange: hp.ClipRange, ClipRangeVF: hp.ClipRangeVF,
		EntCoef: hp.EntCoef, VfCoef: hp.VfCoef}, trainable)
	if err != nil {
		return UpdateStats{}, err
	}
	st := UpdateStats{Loss: t.Loss, PolicyLoss: t.PolicyLoss, ValueLoss: t.ValueLoss,
		EntropyLoss: t.EntropyLoss, ApproxKL: t.ApproxKL, ClipFraction: t.ClipFraction}
	for _, c := range []struct {
		name string
		v    float64
	}{{"loss", t.Loss}, {"policy loss", t.PolicyLoss}, {"value loss", t.ValueLoss},
		{"entropy loss", t.EntropyLoss}, {"approx_kl", t.ApproxKL}} {
		if math.IsNaN(c.v) || math.IsInf(c.v, 0) {
			return st, fmt.Errorf("policy: update: %s is %v: %w", c.name, c.v, ErrNonFinite)
		}
	}
	if hp.TargetKL > 0 && t.ApproxKL > 1.5*hp.TargetKL {
		return st, nil
	}
	grads, err := be.backward(trainable)
	if err != nil {
		return st, err
	}
	ps := p.params()
	sq, err := p.sumSquares(eng, ps, grads, trainable)
	if err != nil {
		return st, err
	}
	total := 0.0
	for i, s := range sq {
		if !trainable[i] {
			continue
		}
		if math.IsNaN(s) || math.IsInf(s, 0) {
			return st, fmt.Errorf("policy: update: gradient of %s is not finite (sum of squares %v): %w", ps[i].Name, s, ErrNonFinite)
		}
		total += s
	}
	st.GradNorm = math.Sqrt(total)
	if math.IsNaN(st.GradNorm) || math.IsInf(st.GradNorm, 0) {
		return st, fmt.Errorf("policy: update: gradient norm is %v: %w", st.GradNorm, ErrNonFinite)
	}
	scale := 1.0
	if hp.MaxGradNorm > 0 {
		scale = math.Min(1, hp.MaxGradNorm/(st.GradNorm+clipEps))
	}
	for i, t := range ps {
		if !trainable[i] {
			continue
		}
		a, err := p.adamFor(eng, t)
		if err != nil {
			return st, err
		}
		a.step++
		err = eng.Adam(t.Buf, grads[i], a.m, a.v, t.Numel(), device.AdamParams{
			LR: float32(hp.LR), Beta1: adamBeta1, Beta2: adamBeta2, Eps: adamEps,
			Step: a.step, GradScale: float32(scale)})
		if err != nil {
			return st, fmt.Errorf("policy: update: adam step of %s: %w", t.Name, err)
		}
	}
	st.Applied = true
	p.bufs = p.bufs[:0]
	for _, t := range ps {
		p.bufs = append(p.bufs, t.Buf)
	}
	sq, err = p.sumSquares(eng, ps, p.bufs, trainable)
	if err != nil {
		return st, err
	}
	for i, s := range sq {
		if trainable[i] && (math.IsNaN(s) || math.IsInf(s, 0)) {
			return st, fmt.Errorf("policy: update: parameter %s is not finite after the step (sum of squares %v): %w", ps[i].Name, s, ErrNonFinite)
		}
	}
	return st, nil
}

// sumSquares returns, for each selected buffer, the sum of the squares of its elements,
// computed on the device with one download for all of them (0 for the others). The slice
// is reused by the next call.
func (p *Policy) sumSquares(eng *device.Engine, ps []*device.Tensor, bufs []*device.Buffer, sel []bool) ([]float64, error) {
	if p.sq == nil || p.sq.Device() != eng.Device() || p.sq.Len() != len(ps) {
		b, err := eng.Alloc(len(ps))
		if err != nil {
			return nil, fmt.Errorf("policy: update: %w", err)
		}
		p.sq = b
		p.sqHost = make([]float32, len(ps))
	}
	if err := eng.Fill(p.sq, len(ps), 0); err != nil {
		return nil, fmt.Errorf("policy: update: %w", err)
	}
	for i, t := range ps {
		if !sel[i] {
			continue
		}
		if err := eng.SumSquares(p.sq, i, bufs[i], t.Numel()); err != nil {
			return nil, fmt.Errorf("policy: update: sum of squares of %s: %w", t.Name, err)
		}
	}
	if err := eng.Download(p.sqHost, p.sq); err != nil {
		return nil, fmt.Errorf("policy: update: %w", err)
	}
	p.sqOut = p.sqOut[:0]
	for _, s := range p.sqHost {
		p.sqOut = append(p.sqOut, float64(s))
	}
	return p.sqOut, nil
}

// adamFor returns t's Adam state, creating zero moments on t's device on its first step.
func (p *Policy) adamFor(eng *device.Engine, t *device.Tensor) (*adamState, error) {
	if a := p.opt[t.Name]; a != nil {
		return a, nil
	}
	n := t.Numel()
	m, err := eng.Alloc(n)
	if err != nil {
		return nil, fmt.Errorf("policy: adam state of %s: %w", t.Name, err)
	}
	v, err := eng.Alloc(n)
	if err != nil {
		return nil, fmt.Errorf("policy: adam state of %s: %w", t.Name, err)
	}
	if err := eng.Fill(m, n, 0); err != nil {
		return nil, err
	}
	if err := eng.Fill(v, n, 0); err != nil {
		return nil, err
	}
	a := &adamState{m: m, v: v}
	p.opt[t.Name] = a
	return a, nil
}
