package policy

import (
	"fmt"
	"math"
)

// ForwardResult receives Forward's outputs. Forward resizes its slices (reusing their
// memory when large enough).
type ForwardResult struct {
	Logits  []float32 // rows x NumActions: the action head's outputs, before masking
	Probs   []float32 // rows x NumActions: the masked distribution's probabilities (0 where masked)
	Values  []float32 // rows: V(obs)
	Actions []int32   // rows: the deterministic action, argmax of the masked logits
}

// Forward runs the network on rows observations, as the network sees them (already
// normalised), with their masks (nil: every action legal) and returns the raw logits, the
// masked probabilities, the values and the deterministic actions: everything Act decides
// from, for inspection and prediction. A row with no legal action is an error.
func (p *Policy) Forward(obs []float32, masks []bool, rows int, out *ForwardResult) error {
	nA := p.cfg.NumActions
	switch {
	case rows < 1:
		return fmt.Errorf("policy: forward: rows must be >= 1, got %d", rows)
	case len(obs) < rows*p.cfg.ObsDim:
		return fmt.Errorf("policy: forward: obs has %d values, want rows x obs_dim = %d x %d", len(obs), rows, p.cfg.ObsDim)
	case masks != nil && len(masks) < rows*nA:
		return fmt.Errorf("policy: forward: masks has %d values, want rows x num_actions = %d x %d", len(masks), rows, nA)
	case out == nil:
		return fmt.Errorf("policy: forward: nil result")
	}
	if masks != nil {
		if err := checkLegal(masks, rows, nA); err != nil {
			return fmt.Errorf("policy: forward: %w", err)
		}
	}
	f, err := p.forwardFinite("forward", obs, masks, rows, true)
	if err != nil {
		return err
	}
	out.Logits = append(out.Logits[:0], f.Logits[:rows*nA]...)
	out.Values = append(out.Values[:0], f.Values[:rows]...)
	out.Probs = grow(out.Probs, rows*nA)
	if cap(out.Actions) < rows {
		out.Actions = make([]int32, rows)
	}
	out.Actions = out.Actions[:rows]
	all := make([]bool, nA)
	for j := range all {
		all[j] = true
	}
	for r := range rows {
		m := all
		if masks != nil {
			m = masks[r*nA : (r+1)*nA]
		}
		for j := range nA {
			// exp of the masked log-softmax: a masked action's log-prob is about -1e8.
			out.Probs[r*nA+j] = float32(math.Exp(float64(f.Logp[r*nA+j])))
			if !m[j] {
				out.Probs[r*nA+j] = 0
			}
		}
		out.Actions[r] = int32(argmaxMasked(f.Logits[r*nA:(r+1)*nA], m))
	}
	return nil
}
