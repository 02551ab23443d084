package policy

import (
	"fmt"
	"math"
	"math/rand/v2"

	"hybridtrain/internal/device"
	"hybridtrain/internal/vec"
)

// The masked categorical distribution (sb3-contrib's MaskableCategorical): masked logits
// are replaced by -1e8 (device.MaskedLogit), log-probs are the log-softmax of the masked
// logits, and masked actions add nothing to the entropy. Unlike sb3-contrib, a row with no
// legal action is an error: its distribution would silently be uniform over illegal actions.
//
// Sampling rule (reproducible from the seed): one u = rng.Float64() per row, in row order;
// the action is the first legal j (ascending) with u * S < c_j, where c_j is the running sum
// of exp(logp) over the legal actions up to j and S the sum over all legal actions, both in
// float64 from the float32 log-probs; if rounding leaves no such j, the last legal action.
// Masked actions are never drawn. The deterministic action is the argmax of the masked
// logits, the first one on ties; it draws nothing from rng.

// checkLegal returns an error naming the first row of masks (rows x nA) with no legal action.
func checkLegal(masks []bool, rows, nA int) error {
	for r := 0; r < rows; r++ {
		legal := false
		for _, m := range masks[r*nA : (r+1)*nA] {
			if m {
				legal = true
				break
			}
		}
		if !legal {
			return fmt.Errorf("row %d has no legal action (all %d actions masked)", r, nA)
		}
	}
	return nil
}

// sampleMasked draws from one row's masked distribution with u in [0, 1).
func sampleMasked(logp []float32, mask []bool, u float64) int {
	total := 0.0
	last := -1
	for j, m := range mask {
		if m {
			total += math.Exp(float64(logp[j]))
			last = j
		}
	}
	target := u * total
	c := 0.0
	for j, m := range mask {
		if !m {
			continue
		}
		c += math.Exp(float64(logp[j]))
		if target < c {
			return j
		}
	}
	return last
}

// argmaxMasked is the argmax of one row's masked logits, the first on ties.
func argmaxMasked(logits []float32, mask []bool) int {
	best := -1
	var bestV float32
	for j, l := range logits {
		v := l
		if !mask[j] {
			v = device.MaskedLogit
		}
		if best < 0 || v > bestV {
			best, bestV = j, v
		}
	}
	return best
}

// ActResult receives Act's outputs; its slices are caller-owned, length >= rows.
type ActResult struct {
	Actions  []int32
	Values   []float32
	LogProbs []float32
}

// Act runs the rollout forward pass without gradients on rows host observations with their
// masks: samples from the masked distribution with rng (or takes the argmax of the masked
// logits when deterministic) and returns the actions, values and log-probs. A row with no
// legal action is an error. The sampling rule is documented in distribution.go.
func (p *Policy) Act(obs []float32, masks []bool, rows int, deterministic bool, rng *rand.Rand, out *ActResult) error {
	nA := p.cfg.NumActions
	switch {
	case rows < 1:
		return fmt.Errorf("policy: act: rows must be >= 1, got %d", rows)
	case len(obs) < rows*p.cfg.ObsDim:
		return fmt.Errorf("policy: act: obs has %d values, want rows x obs_dim = %d x %d", len(obs), rows, p.cfg.ObsDim)
	case len(masks) < rows*nA:
		return fmt.Errorf("policy: act: masks has %d values, want rows x num_actions = %d x %d", len(masks), rows, nA)
	case out == nil || len(out.Actions) < rows || len(out.Values) < rows || len(out.LogProbs) < rows:
		return fmt.Errorf("policy: act: out needs Actions, Values and LogProbs of length >= %d", rows)
	case !deterministic && rng == nil:
		return fmt.Errorf("policy: act: sampling needs a random generator")
	}
	if err := checkLegal(masks, rows, nA); err != nil {
		return fmt.Errorf("policy: act: %w", err)
	}
	f, err := p.forwardFinite("act", obs, masks, rows, true)
	if err != nil {
		return err
	}
	for r := 0; r < rows; r++ {
		row := f.Logp[r*nA : (r+1)*nA]
		m := masks[r*nA : (r+1)*nA]
		var a int
		if deterministic {
			a = argmaxMasked(f.Logits[r*nA:(r+1)*nA], m)
		} else {
			a = sampleMasked(row, m, rng.Float64())
		}
		out.Actions[r] = int32(a)
		out.LogProbs[r] = row[a]
		out.Values[r] = f.Values[r]
	}
	return nil
}

// Values computes V(obs) for rows host observations (for GAE bootstrapping).
func (p *Policy) Values(obs []float32, rows int, out []float32) error {
	switch {
	case rows < 1:
		return fmt.Errorf("policy: values: rows must be >= 1, got %d", rows)
	case len(obs) < rows*p.cfg.ObsDim:
		return fmt.Errorf("policy: values: obs has %d values, want rows x obs_dim = %d x %d", len(obs), rows, p.cfg.ObsDim)
	case len(out) < rows:
		return fmt.Errorf("policy: values: out has length %d, want >= %d", len(out), rows)
	}
	f, err := p.forwardFinite("values", obs, nil, rows, false)
	if err != nil {
		return err
	}
	copy(out, f.Values[:rows])
	return nil
}

// forwardFinite is the forward pass every entry point shares: the backend of the parameters'
// device on host observations and masks, then a check that what the caller reads is finite
// (the values, and the logits when withLogits). op names the entry point in errors.
func (p *Policy) forwardFinite(op string, obs []float32, masks []bool, rows int, withLogits bool) (*fwdOut, error) {
	be, _, err := p.ready()
	if err != nil {
		return nil, err
	}
	f, err := be.forward(obs, masks, rows)
	if err != nil {
		return nil, err
	}
	if withLogits {
		if err := checkFinite("logits", f.Logits); err != nil {
			return nil, fmt.Errorf("policy: %s: %w", op, err)
		}
	}
	if err := checkFinite("values", f.Values); err != nil {
		return nil, fmt.Errorf("policy: %s: %w", op, err)
	}
	return f, nil
}

// checkFinite returns an error wrapping ErrNonFinite naming the first NaN or Inf of xs.
// The common case is one SIMD pass: the float64 sum of squares of finite float32 values
// cannot overflow (each square is below 2^256), so it is finite exactly when every value is.
func checkFinite(what string, xs []float32) error {
	if s := vec.SumSquares(xs); !math.IsNaN(s) && !math.IsInf(s, 0) {
		return nil
	}
	for i, x := range xs {
		if f := float64(x); math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("%s[%d] is %v: %w", what, i, x, ErrNonFinite)
		}
	}
	return nil
}
