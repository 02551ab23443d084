package policy

import (
	"math"
	"strings"
	"testing"

	"hybridtrain/internal/device"
)

// TestSampleMaskedByHand applies the documented sampling rule to a row with probabilities
// (0.2, masked, 0.5, 0.3): the cumulative sums over legal actions are 0.2, 0.7, 1.0.
func TestSampleMaskedByHand(t *testing.T) {
	lp := func(p float64) float32 { return float32(math.Log(p)) }
	logp := []float32{lp(0.2), -1e8, lp(0.5), lp(0.3)}
	mask := []bool{true, false, true, true}
	tests := []struct {
		u    float64
		want int
	}{{0, 0}, {0.1, 0}, {0.19, 0}, {0.21, 2}, {0.69, 2}, {0.71, 3}, {0.999999, 3}}
	for _, tc := range tests {
		if got := sampleMasked(logp, mask, tc.u); got != tc.want {
			t.Errorf("u = %v: got action %d, want %d", tc.u, got, tc.want)
		}
	}
	// A masked action carrying all the (unnormalised) mass is still never drawn.
	if got := sampleMasked([]float32{0, -5}, []bool{false, true}, 0.5); got != 1 {
		t.Errorf("only legal action 1: got %d", got)
	}
}

func TestArgmaxMasked(t *testing.T) {
	tests := []struct {
		name   string
		logits []float32
		mask   []bool
		want   int
	}{
		{"plain", []float32{0.1, 0.5, 0.2}, []bool{true, true, true}, 1},
		{"best masked", []float32{0.1, 0.5, 0.2}, []bool{true, false, true}, 2},
		{"first on ties", []float32{0.3, 0.7, 0.7, 0.7}, []bool{true, false, true, true}, 2},
		{"all equal", []float32{0, 0, 0}, []bool{true, true, true}, 0},
		{"only legal very negative", []float32{5, -3e7}, []bool{false, true}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := argmaxMasked(tc.logits, tc.mask); got != tc.want {
				t.Fatalf("got %d, want %d", got, tc.want)
			}
		})
	}
}

// onDevices runs f with a tiny policy on the CPU (gorgonia) and on the test device
// (kernels), both from the same weights.
func onDevices(t *testing.T, cfg Config, seed uint64, std float64, f func(t *testing.T, p *Policy)) {
	for _, dev := range []device.Device{device.CPU, device.Test(0)} {
		t.Run(dev.String(), func(t *testing.T) {
			p := mustNew(t, cfg, seed)
			perturb(t, p, newRNG(seed+100), std)
			if err := p.To(dev); err != nil {
				t.Fatal(err)
			}
			f(t, p)
		})
	}
}

// TestMaskedProbabilities: exp(log-prob) equals the softmax of the legal logits computed
// independently in float64 (masked actions get exactly 0).
func TestMaskedProbabilities(t *testing.T) {
	onDevices(t, tinyConfig(), 1, 0.5, func(t *testing.T, p *Policy) {
		rng := newRNG(5)
		const rows = 32
		obs := randomObs(rng, rows, p.cfg.ObsDim)
		masks := randomMasks(rng, rows, p.cfg.NumActions)
		ref := newRefNet(t, p)
		logits, _ := ref.forward(obs, rows)
		be, _, err := p.ready()
		if err != nil {
			t.Fatal(err)
		}
		f, err := be.forward(obs, masks, rows)
		if err != nil {
			t.Fatal(err)
		}
		nA := p.cfg.NumActions
		for r := 0; r < rows; r++ {
			// Renormalised legal probabilities: exp(l_j) / sum over legal exp(l_k).
			s := 0.0
			for j := 0; j < nA; j++ {
				if masks[r*nA+j] {
					s += math.Exp(logits[r][j])
				}
			}
			for j := 0; j < nA; j++ {
				want := 0.0
				if masks[r*nA+j] {
					want = math.Exp(logits[r][j]) / s
				}
				got := math.Exp(float64(f.Logp[r*nA+j]))
				if math.Abs(got-want) > 1e-6 {
					t.Fatalf("row %d action %d: p = %v, want %v", r, j, got, want)
				}
			}
		}
	})
}

// TestEntropyEqualLogits: with every logit equal (action head zeroed), the masked
// distribution is uniform over the k legal actions, so exp(entropy) = k; the loss reports
// entropy_loss = -mean(H), H = log k.
func TestEntropyEqualLogits(t *testing.T) {
	onDevices(t, tinyConfig(), 2, 0.3, func(t *testing.T, p *Policy) {
		cfg := p.cfg
		for _, x := range []*device.Tensor{p.base.Action.W, p.base.Action.B} {
			eng, _ := device.Open(x.Device())
			if err := eng.Fill(x.Buf, x.Numel(), 0); err != nil {
				t.Fatal(err)
			}
		}
		nA := cfg.NumActions
		for k := 1; k <= nA; k++ {
			rng := newRNG(uint64(k))
			mb := randomMinibatch(t, p, rng, 8)
			for r := 0; r < mb.Rows; r++ {
				// k legal actions starting at a row-dependent offset.
				for j := 0; j < nA; j++ {
					mb.Masks[r*nA+j] = (j-r%nA+nA)%nA < k
				}
				mb.Actions[r] = int32(r % nA)
			}
			be, _, err := p.ready()
			if err != nil {
				t.Fatal(err)
			}
			terms, err := be.evaluate(mb, mb.Adv, lossParams{ClipRange: 0.2, EntCoef: 0.01, VfCoef: 0.5}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := math.Exp(-terms.EntropyLoss); math.Abs(got-float64(k)) > 1e-5*float64(k) {
				t.Errorf("k = %d legal actions: exp(entropy) = %v, want %d", k, got, k)
			}
		}
	})
}

// TestMillionSamplesNeverMasked draws 1,000,000 actions through Act under random masks
// (network logits scaled up so that masked actions would often be the most likely ones)
// and checks that no masked action is ever drawn; it also checks that the empirical
// frequencies of one row follow its probabilities.
func TestMillionSamplesNeverMasked(t *testing.T) {
	p := mustNew(t, tinyConfig(), 3)
	perturb(t, p, newRNG(33), 0.5)
	h, _ := p.base.Action.W.Buf.HostData()
	for i := range h {
		h[i] *= 20 // large logits: a masking bug would show at once
	}
	const rows, calls = 1000, 1000
	rng := newRNG(4)
	obs := randomObs(rng, rows, p.cfg.ObsDim)
	out := &ActResult{Actions: make([]int32, rows), Values: make([]float32, rows), LogProbs: make([]float32, rows)}
	nA := p.cfg.NumActions
	counts := make([]int, nA)
	var row0 []float32
	for c := 0; c < calls; c++ {
		masks := randomMasks(rng, rows, nA)
		if c%2 == 1 {
			// Half the calls keep row 0 fully legal, for the frequency check below.
			for j := 0; j < nA; j++ {
				masks[j] = true
			}
		}
		if err := p.Act(obs, masks, rows, false, rng, out); err != nil {
			t.Fatal(err)
		}
		for r := 0; r < rows; r++ {
			a := out.Actions[r]
			if !masks[r*nA+int(a)] {
				t.Fatalf("call %d row %d drew masked action %d", c, r, a)
			}
		}
		if c%2 == 1 {
			counts[out.Actions[0]]++
			if row0 == nil {
				be, _, _ := p.ready()
				f, _ := be.forward(obs[:p.cfg.ObsDim], masks[:nA], 1)
				row0 = append([]float32(nil), f.Logp...)
			}
		}
	}
	n := float64(calls / 2)
	for j := 0; j < nA; j++ {
		pj := math.Exp(float64(row0[j]))
		sd := math.Sqrt(n * pj * (1 - pj))
		if math.Abs(float64(counts[j])-n*pj) > 5*sd+1 {
			t.Errorf("action %d drawn %d times in %v, expected %v +- %v", j, counts[j], n, n*pj, 5*sd)
		}
	}
}

// TestAllMaskedRowIsError: Act and Update refuse a row with no legal action and name it.
func TestAllMaskedRowIsError(t *testing.T) {
	onDevices(t, tinyConfig(), 4, 0.1, func(t *testing.T, p *Policy) {
		rng := newRNG(6)
		mb := randomMinibatch(t, p, rng, 5)
		nA := p.cfg.NumActions
		for j := 0; j < nA; j++ {
			mb.Masks[3*nA+j] = false
		}
		out := &ActResult{Actions: make([]int32, 5), Values: make([]float32, 5), LogProbs: make([]float32, 5)}
		for _, det := range []bool{false, true} {
			err := p.Act(mb.Obs, mb.Masks, 5, det, rng, out)
			if err == nil || !strings.Contains(err.Error(), "row 3 has no legal action") {
				t.Errorf("Act(deterministic=%v): got %v, want an error naming row 3", det, err)
			}
		}
		_, err := p.Update(mb, defaultHP())
		if err == nil || !strings.Contains(err.Error(), "row 3 has no legal action") {
			t.Errorf("Update: got %v, want an error naming row 3", err)
		}
	})
}

// TestHoldOnlyRowFinite is the batch that breaks gorgonia's own SoftMax: row 0 forbids
// action 0 while row 1 allows only action 0 (as "hold" in a trading env). Loss, gradients
// and the updated parameters must be finite, and the loss must equal the reference.
func TestHoldOnlyRowFinite(t *testing.T) {
	onDevices(t, tinyConfig(), 5, 0.5, func(t *testing.T, p *Policy) {
		h, ok := p.base.Action.B.Buf.HostData()
		if !ok {
			t.Fatal("action bias not in host memory")
		}
		h[0] = 100 // action 0 dominates wherever it is legal
		rng := newRNG(7)
		mb := randomMinibatch(t, p, rng, 2)
		nA := p.cfg.NumActions
		for j := 0; j < nA; j++ {
			mb.Masks[j] = j != 0
			mb.Masks[nA+j] = j == 0
		}
		mb.Actions[0], mb.Actions[1] = 1, 0
		ref := newRefNet(t, p)
		adv := append([]float32(nil), mb.Adv...)
		lp := lossParams{ClipRange: 0.2, EntCoef: 0.01, VfCoef: 0.5}
		want := refLoss(ref, mb, adv, lp)
		be, _, err := p.ready()
		if err != nil {
			t.Fatal(err)
		}
		got, err := be.evaluate(mb, adv, lp, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !closeTo(got.Loss, want.Loss, 1e-5) || math.IsNaN(got.Loss) {
			t.Fatalf("loss = %v, want %v", got.Loss, want.Loss)
		}
		grads, err := be.backward(allTrue(len(p.Params())))
		if err != nil {
			t.Fatal(err)
		}
		for i, g := range grads {
			hg, err := hostCopy(g)
			if err != nil {
				t.Fatal(err)
			}
			if err := checkFinite(p.Params()[i].Name, hg); err != nil {
				t.Fatalf("gradient: %v", err)
			}
		}
		if _, err := p.Update(mb, defaultHP()); err != nil {
			t.Fatalf("Update: %v", err)
		}
	})
}
