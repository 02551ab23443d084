package policy

import (
	"math"
	"math/rand/v2"
	"testing"

	"hybridtrain/internal/device"
	"hybridtrain/internal/ppoloss"
)

// tinyConfig is a small Phase 3 network (7 inputs, 5 base features, 4 actions) for tests
// where the default network would only cost time.
func tinyConfig() Config {
	return Config{ObsDim: 7, BaseDim: 5, NumActions: 4, PiLayers: []int{6, 5}, VfLayers: []int{4},
		Activation: ActivationReLU}
}

// tinyPhase2 is tinyConfig without the adapter.
func tinyPhase2() Config {
	c := tinyConfig()
	c.ObsDim = c.BaseDim
	return c
}

func newRNG(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)) }

// mustNew builds a policy or fails the test.
func mustNew(t testing.TB, cfg Config, seed uint64) *Policy {
	t.Helper()
	p, err := New(cfg, newRNG(seed))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p
}

// hostValues returns a host copy of a tensor's values.
func hostValues(t testing.TB, x *device.Tensor) []float32 {
	t.Helper()
	h, err := hostCopy(x.Buf)
	if err != nil {
		t.Fatalf("host copy of %s: %v", x.Name, err)
	}
	return append([]float32(nil), h...)
}

// perturb adds N(0, std) noise to every parameter (on the CPU), so that biases and the
// adapter are not at their init values and every path of the network carries signal.
func perturb(t testing.TB, p *Policy, rng *rand.Rand, std float64) {
	t.Helper()
	for _, x := range p.Params() {
		h, ok := x.Buf.HostData()
		if !ok {
			t.Fatalf("perturb: %s is not in host memory", x.Name)
		}
		for i := range h {
			h[i] += float32(rng.NormFloat64() * std)
		}
	}
}

// clonePolicy returns a CPU copy of p: same config, same parameter values, same frozen
// flags, no Adam state.
func clonePolicy(t testing.TB, p *Policy) *Policy {
	t.Helper()
	q, err := newPolicy(p.cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	src, dst := p.Params(), q.Params()
	for i := range src {
		h, _ := dst[i].Buf.HostData()
		copy(h, hostValues(t, src[i]))
	}
	q.baseFrozen = p.baseFrozen
	if p.ad != nil && p.ad.Frozen() {
		q.ad.Freeze()
	}
	return q
}

// randomObs returns rows x dim standard normal observations.
func randomObs(rng *rand.Rand, rows, dim int) []float32 {
	x := make([]float32, rows*dim)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	return x
}

// randomMasks returns rows x nA masks with at least one legal action per row.
func randomMasks(rng *rand.Rand, rows, nA int) []bool {
	m := make([]bool, rows*nA)
	for r := 0; r < rows; r++ {
		for j := 0; j < nA; j++ {
			m[r*nA+j] = rng.IntN(3) != 0
		}
		m[r*nA+rng.IntN(nA)] = true
	}
	return m
}

// randomMinibatch draws a minibatch whose old log-probs are the policy's current ones
// shifted by N(0, 0.3) noise, so that ratios spread over both sides of the clip range.
func randomMinibatch(t testing.TB, p *Policy, rng *rand.Rand, rows int) *Minibatch {
	t.Helper()
	cfg := p.cfg
	mb := &Minibatch{
		Rows:      rows,
		Obs:       randomObs(rng, rows, cfg.ObsDim),
		Masks:     randomMasks(rng, rows, cfg.NumActions),
		Actions:   make([]int32, rows),
		OldLogp:   make([]float32, rows),
		OldValues: make([]float32, rows),
		Adv:       make([]float32, rows),
		Returns:   make([]float32, rows),
	}
	out := &ActResult{Actions: make([]int32, rows), Values: make([]float32, rows), LogProbs: make([]float32, rows)}
	if err := p.Act(mb.Obs, mb.Masks, rows, false, rng, out); err != nil {
		t.Fatalf("Act: %v", err)
	}
	for i := 0; i < rows; i++ {
		mb.Actions[i] = out.Actions[i]
		mb.OldLogp[i] = out.LogProbs[i] + float32(0.3*rng.NormFloat64())
		mb.OldValues[i] = out.Values[i] + float32(0.2*rng.NormFloat64())
		mb.Adv[i] = float32(rng.NormFloat64() + 0.3)
		mb.Returns[i] = out.Values[i] + float32(rng.NormFloat64())
	}
	return mb
}

// defaultHP are SB3/spec-like update settings.
func defaultHP() UpdateParams {
	return UpdateParams{LR: 3e-4, ClipRange: 0.2, EntCoef: 0.01, VfCoef: 0.5, MaxGradNorm: 0.5,
		NormalizeAdvantage: true}
}

// closeTo reports |a - b| <= tol (1 + |b|), the parity tolerance's form.
func closeTo(a, b, tol float64) bool { return math.Abs(a-b) <= tol*(1+math.Abs(b)) }

// refNet is an independent float64 forward pass over a policy's parameters (read back to
// the host), written as plain loops: the reference the backends are tested against.
type refNet struct {
	cfg Config
	ps  [][]float64 // params() order, [in, out] weights
	sh  [][]int
}

func newRefNet(t testing.TB, p *Policy) *refNet {
	t.Helper()
	r := &refNet{cfg: p.cfg}
	for _, x := range p.Params() {
		h := hostValues(t, x)
		d := make([]float64, len(h))
		for i, v := range h {
			d[i] = float64(v)
		}
		r.ps = append(r.ps, d)
		r.sh = append(r.sh, x.Shape)
	}
	return r
}

// forward returns logits (rows x nA) and values (rows) in float64.
func (r *refNet) forward(obs []float32, rows int) (logits [][]float64, values []float64) {
	i := 0
	lin := func(x []float64, act bool) []float64 {
		w, b, in, out := r.ps[i], r.ps[i+1], r.sh[i][0], r.sh[i][1]
		i += 2
		y := make([]float64, out)
		for o := 0; o < out; o++ {
			s := b[o]
			for k := 0; k < in; k++ {
				s += x[k] * w[k*out+o]
			}
			if act {
				if r.cfg.Activation == ActivationTanh {
					s = math.Tanh(s)
				} else {
					s = math.Max(s, 0)
				}
			}
			y[o] = s
		}
		return y
	}
	for row := 0; row < rows; row++ {
		i = 0
		x := make([]float64, r.cfg.ObsDim)
		for k := range x {
			x[k] = float64(obs[row*r.cfg.ObsDim+k])
		}
		feat := x
		if r.cfg.HasAdapter() {
			feat = lin(x, false)
		}
		h := feat
		for range r.cfg.PiLayers {
			h = lin(h, true)
		}
		v := feat
		for range r.cfg.VfLayers {
			v = lin(v, true)
		}
		logits = append(logits, lin(h, false))
		values = append(values, lin(v, false)[0])
	}
	return logits, values
}

// refLogp is the masked log-softmax of one row in float64 and its entropy, as
// internal/ppoloss (the one definition) computes them.
func refLogp(logits []float64, mask []bool) (logp []float64, entropy float64) {
	logp = make([]float64, len(logits))
	entropy = ppoloss.MaskedLogSoftmax(logp, make([]float64, len(logits)), logits, mask)
	return logp, entropy
}

// refLoss is the minibatch loss of internal/ppoloss (the one reference) over refNet's
// independent float64 forward pass, with already normalised advantages: the backends, which
// compute the network in float32 their own way, are held to it.
func refLoss(r *refNet, mb *Minibatch, adv []float32, lp lossParams) lossTerms {
	logits, values := r.forward(mb.Obs, mb.Rows)
	nA := r.cfg.NumActions
	logp, prob, dz := make([]float64, nA), make([]float64, nA), make([]float64, nA)
	var sums ppoloss.Sums
	for i := 0; i < mb.Rows; i++ {
		row := ppoloss.Row{Logits: logits[i], Legal: mb.Masks[i*nA : (i+1)*nA], Action: int(mb.Actions[i]),
			Value: values[i], OldValue: float64(mb.OldValues[i]), OldLogp: float64(mb.OldLogp[i]),
			Adv: float64(adv[i]), Return: float64(mb.Returns[i])}
		t, _ := ppoloss.Sample(&row, lp, logp, prob, dz)
		sums.Add(t)
	}
	return sums.Means(lp)
}

func allTrue(n int) []bool {
	b := make([]bool, n)
	for i := range b {
		b[i] = true
	}
	return b
}
