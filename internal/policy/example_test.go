package policy_test

import (
	"fmt"
	"math/rand/v2"

	"hybridtrain/internal/policy"
)

// A Phase 3 policy acting on host observations with masks, then one PPO update.
func Example() {
	cfg := policy.Config{ObsDim: 6, BaseDim: 4, NumActions: 3, PiLayers: []int{8}, VfLayers: []int{8},
		Activation: policy.ActivationReLU}
	p, err := policy.New(cfg, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		fmt.Println(err)
		return
	}
	obs := []float32{
		0.1, -0.2, 0.3, 0.0, 5, -5, // row 0: only action 1 is legal
		0.4, 0.0, -0.1, 0.2, 1, 2, // row 1: only action 2 is legal
	}
	masks := []bool{false, true, false, false, false, true}
	out := policy.ActResult{Actions: make([]int32, 2), Values: make([]float32, 2), LogProbs: make([]float32, 2)}
	if err := p.Act(obs, masks, 2, false, rand.New(rand.NewPCG(3, 4)), &out); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("actions:", out.Actions, "log-probs:", out.LogProbs)

	mb := &policy.Minibatch{Rows: 2, Obs: obs, Masks: masks, Actions: out.Actions, OldLogp: out.LogProbs,
		Adv: []float32{1, -1}, Returns: []float32{0.5, -0.5}}
	st, err := p.Update(mb, policy.UpdateParams{LR: 3e-4, ClipRange: 0.2, EntCoef: 0.01, VfCoef: 0.5,
		MaxGradNorm: 0.5, NormalizeAdvantage: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("applied:", st.Applied, "on", p.Device())
	// Output:
	// actions: [1 2] log-probs: [0 0]
	// applied: true on cpu
}
