package ppoloss

import "math"

// MaskedLogit is the value a masked action's logit is replaced with (as sb3-contrib: not
// -Inf, so that a row stays finite).
const MaskedLogit = -1e8

// Params are the loss coefficients of one update.
type Params struct {
	ClipRange   float64 // epsilon of the clipped surrogate
	ClipRangeVF float64 // value clipping around the old values; 0 = off (SB3's default)
	EntCoef     float64
	VfCoef      float64
}

// Means are a minibatch's loss terms (means over the rows): Loss = PolicyLoss +
// EntCoef*EntropyLoss + VfCoef*ValueLoss, EntropyLoss = -mean(H).
type Means struct {
	Loss, PolicyLoss, ValueLoss, EntropyLoss float64
	ApproxKL, ClipFraction                   float64
}

// Row is one sample as the loss reads it.
type Row struct {
	Logits []float64 // raw logits
	Legal  []bool    // the action mask, true = legal
	Action int
	Value  float64 // the network's V
	// OldValue is the rollout's value prediction, read only when value clipping is on.
	OldValue float64
	OldLogp  float64
	Adv      float64 // normalised advantage
	Return   float64
}

// Terms are one sample's loss terms.
type Terms struct {
	Policy   float64 // -min(A r, A clip(r))
	Value    float64 // (R - V')^2
	Entropy  float64 // H
	ApproxKL float64 // (r - 1) - log r
	Clipped  bool    // |r - 1| > eps
}

// MaskedLogSoftmax writes the log-probabilities and probabilities of the masked
// distribution of one row of raw logits into logp and prob, and returns its entropy. The
// row maximum is subtracted before exp; every exponential is taken once. A row with no
// legal action gives the uniform distribution and entropy 0 (the policy refuses such rows
// before they get here).
func MaskedLogSoftmax(logp, prob, logits []float64, legal []bool) (entropy float64) {
	mx := math.Inf(-1)
	for j, z := range logits {
		if !legal[j] {
			z = MaskedLogit
		}
		logp[j] = z
		mx = max(mx, z)
	}
	var s float64
	for j, z := range logp {
		prob[j] = math.Exp(z - mx)
		s += prob[j]
	}
	lse := mx + math.Log(s)
	inv := 1 / s
	for j := range logp {
		logp[j] -= lse
		prob[j] *= inv
		if legal[j] {
			entropy -= prob[j] * logp[j]
		}
	}
	return entropy
}

// Sample computes one sample's terms and the gradient of its contribution to the total
// loss (pg + ent_coef (-H) + vf_coef vt, before the 1/N of the means) with respect to its
// raw logits (into dLogits) and its value (returned). logp and prob are scratch of the
// row's width.
func Sample(r *Row, p Params, logp, prob, dLogits []float64) (t Terms, dValue float64) {
	H := MaskedLogSoftmax(logp, prob, r.Logits, r.Legal)
	eps := p.ClipRange
	logRatio := logp[r.Action] - r.OldLogp
	ratio := math.Exp(logRatio)
	A := r.Adv
	rc := min(max(ratio, 1-eps), 1+eps)
	s1, s2 := A*ratio, A*rc
	t.Policy = -min(s1, s2)
	var dpg float64 // d pg / d logp[a]
	if s1 <= s2 || (ratio >= 1-eps && ratio <= 1+eps) {
		dpg = -A * ratio
	}
	for j, lp := range logp {
		if !r.Legal[j] {
			dLogits[j] = 0
			continue
		}
		pj := prob[j]
		g := -dpg * pj
		if j == r.Action {
			g += dpg
		}
		dLogits[j] = g + p.EntCoef*pj*(lp+H)
	}

	vPred, dvp := r.Value, 1.0
	if c := p.ClipRangeVF; c > 0 {
		d := r.Value - r.OldValue
		vPred = r.OldValue + min(max(d, -c), c)
		if d < -c || d > c {
			dvp = 0
		}
	}
	diff := r.Return - vPred
	dValue = p.VfCoef * -2 * diff * dvp

	t.Value = diff * diff
	t.Entropy = H
	t.ApproxKL = (ratio - 1) - logRatio
	t.Clipped = math.Abs(ratio-1) > eps
	return t, dValue
}

// Sums accumulates Terms over a minibatch, in row order.
type Sums struct {
	policy, value, entropy, approxKL, clipped float64
	n                                         int
}

// Add adds one sample's terms.
func (s *Sums) Add(t Terms) {
	s.policy += t.Policy
	s.value += t.Value
	s.entropy += t.Entropy
	s.approxKL += t.ApproxKL
	if t.Clipped {
		s.clipped++
	}
	s.n++
}

// Means returns the minibatch's loss terms: the means, EntropyLoss = -mean(H), and the
// total with p's coefficients.
func (s *Sums) Means(p Params) Means {
	n := float64(s.n)
	t := Means{
		PolicyLoss:   s.policy / n,
		ValueLoss:    s.value / n,
		EntropyLoss:  -s.entropy / n,
		ApproxKL:     s.approxKL / n,
		ClipFraction: s.clipped / n,
	}
	t.Loss = t.PolicyLoss + p.EntCoef*t.EntropyLoss + p.VfCoef*t.ValueLoss
	return t
}
