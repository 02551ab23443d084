package device

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"hybridtrain/internal/ppoloss"
)

// ppoCase is one minibatch for PPOLoss in host slices.
type ppoCase struct {
	rows, cols                                        int
	logits, mask                                      []float32
	values, actions, oldLogp, oldValues, adv, returns []float32
}

// run calls PPOLoss on the test device and returns DLogits, DValues and Terms.
func (c ppoCase) run(t *testing.T, p PPOParams) (dl, dv, terms []float32) {
	t.Helper()
	e := open(t, Test(0))
	h := func(x []float32) *Buffer { return NewHost(Test(0), append([]float32(nil), x...)) }
	out := PPOLossOut{
		DLogits: h(make([]float32, c.rows*c.cols)),
		DValues: h(make([]float32, c.rows)),
		Terms:   h(make([]float32, c.rows*PPOTerms)),
	}
	in := PPOLossIn{
		Logits: h(c.logits), Mask: h(c.mask), Values: h(c.values), Actions: h(c.actions),
		OldLogp: h(c.oldLogp), OldValues: h(c.oldValues), Adv: h(c.adv), Returns: h(c.returns),
	}
	if err := e.PPOLoss(out, in, c.rows, c.cols, p); err != nil {
		t.Fatal(err)
	}
	return data(out.DLogits), data(out.DValues), data(out.Terms)
}

// handCase is three samples over three actions whose every quantity is worked out by
// hand in TestPPOLossByHand.
func handCase() ppoCase {
	ln := func(x float64) float32 { return float32(math.Log(x)) }
	return ppoCase{
		rows: 3, cols: 3,
		logits: []float32{0, 0, 0, ln(2), 0, 5, 1, 0, 0},
		mask:   []float32{1, 1, 1, 1, 1, 0, 0, 1, 1},
		// r = 1, 1.5 and 0.5: old logp = logp_a - log r.
		actions:   []float32{0, 1, 2},
		oldLogp:   []float32{ln(1.0 / 3), ln(1.0/3) - ln(1.5), 0},
		adv:       []float32{1, 2, 1},
		values:    []float32{0.5, 2, 1},
		returns:   []float32{1, 1, 3},
		oldValues: []float32{0.4, 1, 2},
	}
}

func TestPPOLossByHand(t *testing.T) {
	c := handCase()
	p := PPOParams{ClipRange: 0.2, EntCoef: 0.01, VfCoef: 0.5}
	ln2, ln3, ln15 := math.Log(2), math.Log(3), math.Log(1.5)
	// Sample 0: uniform over 3, r = 1 (inside the clip range), A = 1:
	//   pg = -1; H = ln 3; kl = 0; not clipped; (R - V)^2 = 0.25.
	//   dpg/dlogp_a = -A r = -1; d logp_0/dz = (2/3, -1/3, -1/3); log p_j + H = 0, so the
	//   entropy gradient is 0: dz = (-2/3, 1/3, 1/3) / N.
	// Sample 1: action 2 masked, p = (2/3, 1/3), a = 1, r = 1.5 > 1.2, A = 2:
	//   A r = 3 > A 1.2 = 2.4, the clipped term is the min: pg = -2.4, no pg gradient;
	//   H = ln 3 - (2/3) ln 2 = 0.636514168; kl = 0.5 - ln 1.5 = 0.094534892; clipped;
	//   entropy gradient ent_coef p_j (log p_j + H) = 0.01 (2/3)(ln(2/3) + H) for j = 0,
	//   and its negative for j = 1 (the two sum to 0): 0.01 * 0.154032707;
	//   (R - V)^2 = 1, dV = 0.5 * -2 (1 - 2) / 3 = 1/3.
	// Sample 2: action 0 masked, p = (1/2, 1/2) over 1 and 2, a = 2, r = 0.5 < 0.8, A = 1:
	//   A r = 0.5 < A 0.8, the unclipped term is the min: pg = -0.5, dpg/dlogp_a = -0.5;
	//   d logp_2/dz = (0, -1/2, 1/2), so dz = (0, 0.25, -0.25) / N; H = ln 2 and
	//   log p_j + H = 0; kl = -0.5 + ln 2 = 0.193147181; clipped; (R - V)^2 = 4,
	//   dV = 0.5 * -2 * 2 / 3 = -2/3.
	const N = 3
	e1 := 0.01 * (2.0 / 3) * (math.Log(2.0/3) + ln3 - 2.0/3*ln2)
	wantDL := []float64{
		-2.0 / 3 / N, 1.0 / 3 / N, 1.0 / 3 / N,
		e1 / N, -e1 / N, 0,
		0, 0.25 / N, -0.25 / N,
	}
	if math.Abs(e1-0.01*0.154032707) > 1e-11 {
		t.Fatalf("hand arithmetic: e1 = %v", e1)
	}
	wantDV := []float64{-1.0 / 6, 1.0 / 3, -2.0 / 3}
	wantTerms := []float64{
		-1, 0.25, ln3, 0, 0,
		-2.4, 1, ln3 - 2.0/3*ln2, 0.5 - ln15, 1,
		-0.5, 4, ln2, -0.5 + ln2, 1,
	}
	dl, dv, terms := c.run(t, p)
	compare(t, "DLogits", dl, wantDL, 1e-6)
	compare(t, "DValues", dv, wantDV, 1e-6)
	compare(t, "Terms", terms, wantTerms, 1e-6)

	// Value clipping, c = 0.5 around old values (0.4, 1, 2):
	//   sample 0: V - old = 0.1, inside: unchanged, 0.25 and -1/6;
	//   sample 1: V - old = 1 -> V' = 1.5, (1 - 1.5)^2 = 0.25, dV = 0 (clipped);
	//   sample 2: V - old = -1 -> V' = 1.5, (3 - 1.5)^2 = 2.25, dV = 0.
	p.ClipRangeVF = 0.5
	dl, dv, terms = c.run(t, p)
	compare(t, "DLogits with clip_range_vf", dl, wantDL, 1e-6)
	compare(t, "DValues with clip_range_vf", dv, []float64{-1.0 / 6, 0, 0}, 1e-6)
	for i, want := range []float64{0.25, 0.25, 2.25} {
		if got := terms[i*PPOTerms+TermValue]; !within(got, want, 1e-6) {
			t.Errorf("clip_range_vf: value term %d = %v, want %v", i, got, want)
		}
	}
}

func compare(t *testing.T, what string, got []float32, want []float64, tol float64) {
	t.Helper()
	if len(got) < len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i, w := range want {
		if !within(got[i], w, tol) {
			t.Errorf("%s[%d] = %v, want %v", what, i, got[i], w)
		}
	}
}

// randPPOCase draws a minibatch whose ratios and value deltas keep clear of the clip
// kinks, with both signs of advantage and ratios inside and outside the clip range, masked
// actions in most rows and legal actions taken (for the benchmarks; the loss is held to
// internal/ppoloss by the policy's TestHostEngineLossMatchesReference).
func randPPOCase(r *rand.Rand, rows, cols int, eps, vc float64) ppoCase {
	c := ppoCase{rows: rows, cols: cols}
	c.logits = make([]float32, rows*cols)
	for i := range c.logits {
		c.logits[i] = float32(r.NormFloat64() * 1.5)
	}
	c.mask = data(randMask(r, rows, cols))
	// Log-ratios: inside (|log r| < 0.1) or well outside (0.35..0.6) the clip range of 0.2.
	for i := range rows {
		var legal []int
		for j := range cols {
			if c.mask[i*cols+j] != 0 {
				legal = append(legal, j)
			}
		}
		a := legal[r.IntN(len(legal))]
		c.actions = append(c.actions, float32(a))
		lp, _ := naiveLogSoftmax(c.logits[i*cols:(i+1)*cols], c.mask[i*cols:(i+1)*cols])
		var lr float64
		switch i % 3 {
		case 0:
			lr = (r.Float64()*2 - 1) * 0.1
		case 1:
			lr = 0.35 + 0.25*r.Float64()
		case 2:
			lr = -(0.35 + 0.25*r.Float64())
		}
		c.oldLogp = append(c.oldLogp, float32(lp[a]-lr))
		sign := 1.0
		if r.IntN(2) == 0 {
			sign = -1
		}
		c.adv = append(c.adv, float32(sign*(0.2+r.Float64())))
		v := r.NormFloat64()
		c.values = append(c.values, float32(v))
		c.returns = append(c.returns, float32(r.NormFloat64()))
		// Value deltas inside (< 0.6 vc) or outside (> 1.4 vc) the value clip range.
		d := vc * (0.6 * r.Float64())
		if i%2 == 1 {
			d = vc * (1.4 + r.Float64())
		}
		if r.IntN(2) == 0 {
			d = -d
		}
		c.oldValues = append(c.oldValues, float32(v-d))
	}
	return c
}

// TestPPOLossMatchesReference holds the engine's PPO loss to internal/ppoloss, the loss's one
// definition (which the host engine runs; the CUDA kernel is tested against the host engine
// in cuda_test.go): per-sample terms at their layout offsets, and the gradients of the mean
// loss (ppoloss's per-sample gradients over the number of rows), within float32 rounding,
// with value clipping off and on, on minibatches that exercise every clip branch.
func TestPPOLossMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(60, 61))
	const rows, nA = 12, 6
	for _, vc := range []float64{0, 0.3} {
		p := ppoloss.Params{ClipRange: 0.2, ClipRangeVF: vc, EntCoef: 0.05, VfCoef: 0.5}
		in := ppoloss.RandomRows(rng, rows, nA, p)
		c := ppoCase{rows: rows, cols: nA}
		for _, r := range in {
			for j, z := range r.Logits {
				c.logits = append(c.logits, float32(z))
				c.mask = append(c.mask, map[bool]float32{false: 0, true: 1}[r.Legal[j]])
			}
			c.values = append(c.values, float32(r.Value))
			c.actions = append(c.actions, float32(r.Action))
			c.oldLogp = append(c.oldLogp, float32(r.OldLogp))
			c.oldValues = append(c.oldValues, float32(r.OldValue))
			c.adv = append(c.adv, float32(r.Adv))
			c.returns = append(c.returns, float32(r.Return))
		}
		dl, dv, terms := c.run(t, PPOParams{ClipRange: float32(p.ClipRange), ClipRangeVF: float32(p.ClipRangeVF),
			EntCoef: float32(p.EntCoef), VfCoef: float32(p.VfCoef)})

		logp, prob, dz := make([]float64, nA), make([]float64, nA), make([]float64, nA)
		near := func(what string, got float32, want float64) {
			if math.Abs(float64(got)-want) > 1e-6+1e-5*math.Abs(want) {
				t.Errorf("clip_range_vf %v: %s: engine %v, reference %v", vc, what, got, want)
			}
		}
		for i := range in {
			w, wdv := ppoloss.Sample(&in[i], p, logp, prob, dz)
			row := terms[i*PPOTerms : (i+1)*PPOTerms]
			near(fmt.Sprintf("row %d policy term", i), row[TermPolicy], w.Policy)
			near(fmt.Sprintf("row %d value term", i), row[TermValue], w.Value)
			near(fmt.Sprintf("row %d entropy", i), row[TermEntropy], w.Entropy)
			near(fmt.Sprintf("row %d approx_kl term", i), row[TermApproxKL], w.ApproxKL)
			if (row[TermClipped] == 1) != w.Clipped {
				t.Errorf("clip_range_vf %v: row %d: clipped flag %v, reference %v", vc, i, row[TermClipped], w.Clipped)
			}
			near(fmt.Sprintf("row %d dL/dV", i), dv[i], wdv/rows)
			for j := range nA {
				near(fmt.Sprintf("row %d dL/dz[%d]", i, j), dl[i*nA+j], dz[j]/rows)
			}
		}
	}
}
