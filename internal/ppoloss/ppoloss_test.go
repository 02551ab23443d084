package ppoloss

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestSampleByHand checks Sample on one sample worked out by hand:
// logits (1, 2, 5) with the third action masked, action 1, ratio r = 1.5 (outside the clip
// range 0.2), ent_coef 0.01, vf_coef 0.5.
//
//	logp = (1, 2) - log(e + e^2) = (-1.31326168751822, -0.31326168751822), p = (0.26894142137, 0.73105857863)
//	H = -(p0 logp0 + p1 logp1) = 0.58220310888822
//	A = +2: A r = 3 > A clip(r) = 2.4, pg = -2.4, the clipped term is the minimum: dpg = 0
//	A = -2: A r = -3 < -2.4, pg = 3, dpg = -A r = 3
//	dz_j = dpg (1[j=a] - p_j) + 0.01 p_j (logp_j + H); the masked logit's is 0
//	approx_kl = (r - 1) - log r = 0.5 - log 1.5 = 0.09453489189184
//	value 0.5, return 1.5: vt = 1, dV = 0.5 (-2) 1 = -1; with clip_range_vf 0.2 around old
//	value 0: V' = 0.2, vt = 1.3^2 = 1.69, dV = 0 (the clip is active)
func TestSampleByHand(t *testing.T) {
	logp0 := -1.3132616875182226
	lp1 := -0.3132616875182226
	cases := []struct {
		adv, clipVF float64
		pg          float64
		dz          [3]float64
		vt, dv      float64
	}{
		{adv: 2, pg: -2.4, dz: [3]float64{-0.0019661193324148184, 0.00196611933241482, 0}, vt: 1, dv: -1},
		{adv: -2, pg: 3, dz: [3]float64{-0.8087903834424005, 0.8087903834423998, 0}, vt: 1, dv: -1},
		{adv: -2, clipVF: 0.2, pg: 3, dz: [3]float64{-0.8087903834424005, 0.8087903834423998, 0}, vt: 1.69, dv: 0},
	}
	for _, c := range cases {
		r := Row{Logits: []float64{1, 2, 5}, Legal: []bool{true, true, false}, Action: 1,
			Value: 0.5, OldValue: 0, OldLogp: lp1 - math.Log(1.5), Adv: c.adv, Return: 1.5}
		p := Params{ClipRange: 0.2, ClipRangeVF: c.clipVF, EntCoef: 0.01, VfCoef: 0.5}
		logp, prob, dz := make([]float64, 3), make([]float64, 3), make([]float64, 3)
		terms, dv := Sample(&r, p, logp, prob, dz)
		near := func(name string, got, want float64) {
			if math.Abs(got-want) > 1e-12*(1+math.Abs(want)) {
				t.Errorf("adv %v, clip_vf %v: %s = %.15g, want %.15g", c.adv, c.clipVF, name, got, want)
			}
		}
		near("logp[0]", logp[0], logp0)
		near("logp[1]", logp[1], lp1)
		near("p[2] (masked)", prob[2], 0)
		near("entropy", terms.Entropy, 0.5822031088882179)
		near("policy term", terms.Policy, c.pg)
		near("approx_kl", terms.ApproxKL, 0.09453489189183562)
		near("value term", terms.Value, c.vt)
		near("dV", dv, c.dv)
		for j, want := range c.dz {
			near(fmt.Sprintf("dz[%d]", j), dz[j], want)
		}
		if !terms.Clipped {
			t.Errorf("adv %v: |r - 1| = 0.5 > 0.2 must count as clipped", c.adv)
		}
	}
}

// TestGradientsFiniteDifference checks Sample's gradients, summed into the gradient of the
// mean loss, against central differences of Means(...).Loss on random minibatches whose
// ratios and value deltas keep clear of the clip kinks, with value clipping off and on, and
// every branch of the clipped surrogate exercised.
func TestGradientsFiniteDifference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const rows, nA = 12, 6
	for _, vc := range []float64{0, 0.3} {
		t.Run(fmt.Sprintf("clip_range_vf=%v", vc), func(t *testing.T) {
			p := Params{ClipRange: 0.2, ClipRangeVF: vc, EntCoef: 0.05, VfCoef: 0.5}
			in := RandomRows(rng, rows, nA, p)
			logp, prob, dz := make([]float64, nA), make([]float64, nA), make([]float64, nA)
			mean := func() float64 {
				var s Sums
				for i := range in {
					tm, _ := Sample(&in[i], p, logp, prob, dz)
					s.Add(tm)
				}
				return s.Means(p).Loss
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
			branches := map[string]int{}
			for i := range in {
				_, dv := Sample(&in[i], p, logp, prob, dz)
				grad := append([]float64(nil), dz...)
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
				for j := range nA {
					want := fd(&in[i].Logits[j])
					if got := grad[j] / rows; math.Abs(got-want) > 1e-7+1e-6*math.Abs(want) {
						t.Errorf("dL/dz[%d][%d] = %v, finite difference %v", i, j, got, want)
					}
					if !in[i].Legal[j] && grad[j] != 0 {
						t.Errorf("row %d: masked logit %d has gradient %v, want exactly 0", i, j, grad[j])
					}
				}
				if got, want := dv/rows, fd(&in[i].Value); math.Abs(got-want) > 1e-7+1e-6*math.Abs(want) {
					t.Errorf("dL/dV[%d] = %v, finite difference %v", i, got, want)
				}
			}
			for _, b := range []string{"inside", "clipped is the minimum", "unclipped is the minimum"} {
				if branches[b] == 0 {
					t.Errorf("no sample where %s (%v): the case exercises too little", b, branches)
				}
			}
		})
	}
}
