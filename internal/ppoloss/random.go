package ppoloss

import (
	"math"
	"math/rand/v2"
)

// RandomRows draws rows samples over nA actions for the tests of the backends that
// implement the loss: ratios and value deltas keep clear of the clip kinks (so central
// differences are valid), with log-ratios inside (|log r| < 0.1) or well outside (0.35 to
// 0.6, both signs) the clip range 0.2, advantages of both signs, value deltas inside (< 0.6
// c) or outside (> 1.4 c) p's value clip c, about a third of the actions masked in every
// row and a legal action taken. Every value is a float32 rounded to float64, so a float32
// backend sees exactly the same inputs.
func RandomRows(rng *rand.Rand, rows, nA int, p Params) []Row {
	f32 := func(x float64) float64 { return float64(float32(x)) }
	logp, prob := make([]float64, nA), make([]float64, nA)
	out := make([]Row, rows)
	for i := range out {
		r := &out[i]
		r.Logits = make([]float64, nA)
		r.Legal = make([]bool, nA)
		var legal []int
		for j := range nA {
			r.Logits[j] = f32(rng.NormFloat64() * 1.5)
			r.Legal[j] = rng.Float64() < 2.0/3
			if r.Legal[j] {
				legal = append(legal, j)
			}
		}
		if len(legal) == 0 {
			j := rng.IntN(nA)
			r.Legal[j], legal = true, []int{j}
		}
		r.Action = legal[rng.IntN(len(legal))]
		MaskedLogSoftmax(logp, prob, r.Logits, r.Legal)
		lr := (rng.Float64()*2 - 1) * 0.1
		switch i % 3 {
		case 1:
			lr = 0.35 + 0.25*rng.Float64()
		case 2:
			lr = -(0.35 + 0.25*rng.Float64())
		}
		r.OldLogp = f32(logp[r.Action] - lr)
		r.Adv = f32(math.Copysign(0.2+rng.Float64(), rng.Float64()-0.5))
		r.Value = f32(rng.NormFloat64())
		r.Return = f32(rng.NormFloat64())
		d := p.ClipRangeVF * 0.6 * rng.Float64()
		if i%2 == 1 {
			d = p.ClipRangeVF * (1.4 + rng.Float64())
		}
		r.OldValue = f32(r.Value - math.Copysign(d, rng.Float64()-0.5))
	}
	return out
}
