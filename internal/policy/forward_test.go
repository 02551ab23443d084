package policy

import (
	"math"
	"testing"
)

// TestForwardMatchesAct: Forward's actions are Act's deterministic ones, its probabilities
// are those of the masked distribution (each row sums to 1, masked actions 0, the log of
// a legal one is Act's log-prob) and its logits do not depend on the masks.
func TestForwardMatchesAct(t *testing.T) {
	p := mustNew(t, tinyPhase2(), 95)
	perturb(t, p, newRNG(96), 0.5)
	cfg := p.Config()
	const rows = 8
	obs := randomObs(newRNG(97), rows, cfg.ObsDim)
	nA := cfg.NumActions
	masks := make([]bool, rows*nA)
	for r := range rows {
		for j := range nA {
			masks[r*nA+j] = (r+j)%3 != 0 || j == r%nA
		}
	}
	var all, masked ForwardResult
	if err := p.Forward(obs, nil, rows, &all); err != nil {
		t.Fatal(err)
	}
	if err := p.Forward(obs, masks, rows, &masked); err != nil {
		t.Fatal(err)
	}
	act := ActResult{Actions: make([]int32, rows), Values: make([]float32, rows), LogProbs: make([]float32, rows)}
	if err := p.Act(obs, masks, rows, true, nil, &act); err != nil {
		t.Fatal(err)
	}
	for r := range rows {
		if masked.Actions[r] != act.Actions[r] || masked.Values[r] != act.Values[r] {
			t.Errorf("row %d: Forward action %d value %v, Act %d %v", r, masked.Actions[r], masked.Values[r], act.Actions[r], act.Values[r])
		}
		a := act.Actions[r]
		if got := math.Log(float64(masked.Probs[r*nA+int(a)])); math.Abs(got-float64(act.LogProbs[r])) > 1e-5 {
			t.Errorf("row %d: log prob of action %d = %v, Act's %v", r, a, got, act.LogProbs[r])
		}
		var sumAll, sumMasked float64
		for j := range nA {
			k := r*nA + j
			if all.Logits[k] != masked.Logits[k] {
				t.Errorf("row %d: logit %d depends on the mask", r, j)
			}
			if !masks[k] && masked.Probs[k] != 0 {
				t.Errorf("row %d: masked action %d has probability %v", r, j, masked.Probs[k])
			}
			sumAll += float64(all.Probs[k])
			sumMasked += float64(masked.Probs[k])
		}
		if math.Abs(sumAll-1) > 1e-5 || math.Abs(sumMasked-1) > 1e-5 {
			t.Errorf("row %d: probabilities sum to %v and %v (masked), want 1", r, sumAll, sumMasked)
		}
	}
	if err := p.Forward(obs, make([]bool, rows*nA), rows, &masked); err == nil {
		t.Error("Forward with no legal action: no error")
	}
}
