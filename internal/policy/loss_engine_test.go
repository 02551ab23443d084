package policy

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"hybridtrain/internal/device"
)

// TestHostEngineLossMatchesReference holds internal/device's PPO loss kernel (the host
// engine's copy, the one the CUDA kernel is tested against) to the reference in loss.go:
// per-sample terms and the gradients of the mean loss with respect to the logits and the
// values, within float32 rounding, on random minibatches that exercise every branch of the
// clipped surrogate and of the value clip. The reference's own gradients are checked
// against central differences of its mean loss on the same minibatches.
func TestHostEngineLossMatchesReference(t *testing.T) {
	eng, err := device.Open(device.Test(0))
	if err != nil {
		t.Fatal(err)
	}
	rng := newRNG(60)
	const rows, nA = 12, 6
	for _, vc := range []float64{0, 0.3} {
		for trial := range 3 {
			t.Run(fmt.Sprintf("clip_range_vf=%v/%d", vc, trial), func(t *testing.T) {
				p := lossParams{ClipRange: 0.2, ClipRangeVF: vc, EntCoef: 0.05, VfCoef: 0.5}
				in := randomLossRows(rng, rows, nA, p)

				// The reference: per-sample terms and the gradient of the mean.
				logp, prob := make([]float64, nA), make([]float64, nA)
				wantDz, wantDv := make([]float64, rows*nA), make([]float64, rows)
				wantTerms := make([]sampleTerms, rows)
				branches := map[string]int{}
				for i := range in {
					var dv float64
					wantTerms[i], dv = ppoSample(&in[i], p, logp, prob, wantDz[i*nA:(i+1)*nA])
					for j := range nA {
						wantDz[i*nA+j] /= rows
					}
					wantDv[i] = dv / rows
					r := math.Exp(logp[in[i].Action] - in[i].OldLogp)
					A := in[i].Adv
					switch {
					case r >= 0.8 && r <= 1.2:
						branches["inside"]++
					case A*r > A*min(max(r, 0.8), 1.2):
						branches["clipped is the minimum"]++
					default:
						branches["unclipped is the minimum"]++
					}
				}
				for _, b := range []string{"inside", "clipped is the minimum", "unclipped is the minimum"} {
					if branches[b] == 0 {
						t.Fatalf("no sample where %s (%v): the case exercises too little", b, branches)
					}
				}

				// The kernel.
				dl, dv, terms := runEngineLoss(t, eng, in, nA, p)
				near := func(what string, got float32, want float64) {
					if math.Abs(float64(got)-want) > 1e-6+1e-5*math.Abs(want) {
						t.Errorf("%s: kernel %v, reference %v", what, got, want)
					}
				}
				for i := range in {
					w := wantTerms[i]
					row := terms[i*device.PPOTerms : (i+1)*device.PPOTerms]
					near(fmt.Sprintf("row %d policy term", i), row[device.TermPolicy], w.Policy)
					near(fmt.Sprintf("row %d value term", i), row[device.TermValue], w.Value)
					near(fmt.Sprintf("row %d entropy", i), row[device.TermEntropy], w.Entropy)
					near(fmt.Sprintf("row %d approx_kl term", i), row[device.TermApproxKL], w.ApproxKL)
					if (row[device.TermClipped] == 1) != w.Clipped {
						t.Errorf("row %d: clipped flag %v, reference %v", i, row[device.TermClipped], w.Clipped)
					}
					near(fmt.Sprintf("row %d dL/dV", i), dv[i], wantDv[i])
					for j := range nA {
						near(fmt.Sprintf("row %d dL/dz[%d]", i, j), dl[i*nA+j], wantDz[i*nA+j])
						if !in[i].Legal[j] && dl[i*nA+j] != 0 {
							t.Errorf("row %d: masked logit %d has gradient %v, want exactly 0", i, j, dl[i*nA+j])
						}
					}
				}

				// The reference's gradients against central differences of its mean loss.
				mean := func() float64 {
					var s termSums
					for i := range in {
						tm, _ := ppoSample(&in[i], p, logp, prob, make([]float64, nA))
						s.add(tm)
					}
					return s.terms(p).Loss
				}
				const h = 1e-6
				fd := func(x *float64) float64 {
					x0 := *x
					*x = x0 + h
					up := mean()
					*x = x0 - h
					down := mean()
					*x = x0
					return (up - down) / (2 * h)
				}
				for i := range in {
					for j := range nA {
						if got, want := wantDz[i*nA+j], fd(&in[i].Logits[j]); math.Abs(got-want) > 1e-7+1e-6*math.Abs(want) {
							t.Errorf("reference dL/dz[%d][%d] = %v, finite difference %v", i, j, got, want)
						}
					}
					if got, want := wantDv[i], fd(&in[i].Value); math.Abs(got-want) > 1e-7+1e-6*math.Abs(want) {
						t.Errorf("reference dL/dV[%d] = %v, finite difference %v", i, got, want)
					}
				}
			})
		}
	}
}

// randomLossRows draws rows samples over nA actions whose ratios and value deltas keep
// clear of the clip kinks (so central differences are valid): log-ratios inside (|log r| <
// 0.1) or well outside (0.35..0.6, both signs) the clip range, advantages of both signs,
// value deltas inside (< 0.6 c) or outside (> 1.4 c) the value clip, masks with a legal
// action taken in every row. The values are float32-representable so that the kernel sees
// exactly the reference's inputs.
func randomLossRows(rng *rand.Rand, rows, nA int, p lossParams) []lossRow {
	f32 := func(x float64) float64 { return float64(float32(x)) }
	masks := randomMasks(rng, rows, nA)
	logp, prob := make([]float64, nA), make([]float64, nA)
	out := make([]lossRow, rows)
	for i := range out {
		r := &out[i]
		r.Logits = make([]float64, nA)
		for j := range r.Logits {
			r.Logits[j] = f32(rng.NormFloat64() * 1.5)
		}
		r.Legal = masks[i*nA : (i+1)*nA]
		var legal []int
		for j, m := range r.Legal {
			if m {
				legal = append(legal, j)
			}
		}
		r.Action = legal[rng.IntN(len(legal))]
		maskedLogSoftmax(logp, prob, r.Logits, r.Legal)
		var lr float64
		switch i % 3 {
		case 0:
			lr = (rng.Float64()*2 - 1) * 0.1
		case 1:
			lr = 0.35 + 0.25*rng.Float64()
		case 2:
			lr = -(0.35 + 0.25*rng.Float64())
		}
		r.OldLogp = f32(logp[r.Action] - lr)
		sign := 1.0
		if rng.IntN(2) == 0 {
			sign = -1
		}
		r.Adv = f32(sign * (0.2 + rng.Float64()))
		r.Value = f32(rng.NormFloat64())
		r.Return = f32(rng.NormFloat64())
		d := p.ClipRangeVF * 0.6 * rng.Float64()
		if i%2 == 1 {
			d = p.ClipRangeVF * (1.4 + rng.Float64())
		}
		if rng.IntN(2) == 0 {
			d = -d
		}
		r.OldValue = f32(r.Value - d)
	}
	return out
}

// runEngineLoss runs the engine's PPOLoss on rows and returns DLogits, DValues and Terms.
func runEngineLoss(t *testing.T, eng *device.Engine, rows []lossRow, nA int, p lossParams) (dl, dv, terms []float32) {
	t.Helper()
	n := len(rows)
	var logits, mask, values, actions, oldLogp, oldValues, adv, returns []float32
	for _, r := range rows {
		for j, z := range r.Logits {
			logits = append(logits, float32(z))
			m := float32(0)
			if r.Legal[j] {
				m = 1
			}
			mask = append(mask, m)
		}
		values = append(values, float32(r.Value))
		actions = append(actions, float32(r.Action))
		oldLogp = append(oldLogp, float32(r.OldLogp))
		oldValues = append(oldValues, float32(r.OldValue))
		adv = append(adv, float32(r.Adv))
		returns = append(returns, float32(r.Return))
	}
	h := func(x []float32) *device.Buffer { return device.NewHost(device.Test(0), x) }
	out := device.PPOLossOut{DLogits: h(make([]float32, n*nA)), DValues: h(make([]float32, n)),
		Terms: h(make([]float32, n*device.PPOTerms))}
	in := device.PPOLossIn{Logits: h(logits), Mask: h(mask), Values: h(values), Actions: h(actions),
		OldLogp: h(oldLogp), OldValues: h(oldValues), Adv: h(adv), Returns: h(returns)}
	err := eng.PPOLoss(out, in, n, nA, device.PPOParams{ClipRange: float32(p.ClipRange),
		ClipRangeVF: float32(p.ClipRangeVF), EntCoef: float32(p.EntCoef), VfCoef: float32(p.VfCoef)})
	if err != nil {
		t.Fatal(err)
	}
	get := func(b *device.Buffer) []float32 { x, _ := b.HostData(); return x }
	return get(out.DLogits), get(out.DValues), get(out.Terms)
}
