package policy

import (
	"math"

	"hybridtrain/internal/device"
)

// The PPO loss of one minibatch, written once in plain Go. The CPU backend's loss op
// (ops.go) runs these functions; the device kernels (internal/device: the host engine's
// ppoLoss and the CUDA kernel in kernels/kernels.cu) implement the same lines and are held
// to them by the parity tests.
//
// Read against CleanRL's ppo.py (update loop) and SB3's PPO.train, per minibatch of N
// samples with advantages A already normalised (normalizeAdv):
//
//	logp   = log_softmax(z masked)            masked logits replaced by -1e8 (sb3-contrib)
//	r      = exp(logp[a] - old_logp)          ratio
//	pg     = -min(A r, A clip(r, 1-eps, 1+eps))          policy term, per sample
//	V'     = V, or old_V + clip(V - old_V, -c, c)        value clipping when c > 0 (SB3)
//	vt     = (R - V')^2                       value term; SB3's mse_loss, no 1/2 (CleanRL has 1/2)
//	H      = -sum over legal j of p_j logp_j  masked actions add no entropy
//	loss   = mean(pg) + ent_coef (-mean(H)) + vf_coef mean(vt)
//	approx_kl    = mean((r - 1) - log r)      SB3's estimator, from the same forward pass
//	clip_fraction = mean(|r - 1| > eps)
//
// Differences from CleanRL, all as SB3: no 1/2 on the value loss; value clipping is
// optional and clips the prediction around the old value (CleanRL clips the loss); the
// KL early stop (approx_kl > 1.5 target_kl skips the step, policy.Update) applies per
// minibatch before the step. Differences from SB3: none in the loss; sampling and masks
// follow sb3-contrib's MaskableCategorical except that a row with no legal action is an
// error (distribution.go).
//
// Gradients, derived by hand (legal j only; a masked logit is replaced by a constant, so
// its gradient is 0), for one sample, before the 1/N of the mean:
//
//	d logp[a] / d z_j = 1[j = a] - p_j
//	d H / d z_j       = -p_j (logp_j + H)
//	d pg / d logp[a]  = -A r when the unclipped term is the minimum or r is inside
//	                    [1-eps, 1+eps] (then both terms are equal), else 0
//	d loss / d z_j    = d pg/d logp[a] (1[j = a] - p_j) + ent_coef p_j (logp_j + H)
//	d loss / d V      = vf_coef (-2 (R - V')) dV'/dV,  dV'/dV = 1 inside [-c, c] (the
//	                    bounds included, as torch.clamp), else 0
//
// Everything is float64; callers round once when they store.

// lossRow is one sample as the loss reads it.
type lossRow struct {
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

// sampleTerms are one sample's loss terms.
type sampleTerms struct {
	Policy   float64 // -min(A r, A clip(r))
	Value    float64 // (R - V')^2
	Entropy  float64 // H
	ApproxKL float64 // (r - 1) - log r
	Clipped  bool    // |r - 1| > eps
}

// maskedLogSoftmax writes the log-probabilities and probabilities of the masked
// distribution of one row of raw logits into logp and prob, and returns its entropy. The
// row maximum is subtracted before exp; every exponential is taken once. A row with no
// legal action gives the uniform distribution and entropy 0 (the policy refuses such rows
// before they get here).
func maskedLogSoftmax(logp, prob, logits []float64, legal []bool) (entropy float64) {
	mx := math.Inf(-1)
	for j, z := range logits {
		if !legal[j] {
			z = device.MaskedLogit
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

// ppoSample computes one sample's terms and the gradient of its contribution to the total
// loss (pg + ent_coef (-H) + vf_coef vt, before the 1/N of the means) with respect to its
// raw logits (into dLogits) and its value (returned). logp and prob are scratch of the
// row's width.
func ppoSample(r *lossRow, p lossParams, logp, prob, dLogits []float64) (t sampleTerms, dValue float64) {
	H := maskedLogSoftmax(logp, prob, r.Logits, r.Legal)
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

// termSums accumulates sampleTerms over a minibatch, in row order.
type termSums struct {
	policy, value, entropy, approxKL, clipped float64
	n                                         int
}

func (s *termSums) add(t sampleTerms) {
	s.policy += t.Policy
	s.value += t.Value
	s.entropy += t.Entropy
	s.approxKL += t.ApproxKL
	if t.Clipped {
		s.clipped++
	}
	s.n++
}

// terms returns the minibatch's loss terms: the means, EntropyLoss = -mean(H), and the
// total with p's coefficients.
func (s *termSums) terms(p lossParams) lossTerms {
	n := float64(s.n)
	t := lossTerms{
		PolicyLoss:   s.policy / n,
		ValueLoss:    s.value / n,
		EntropyLoss:  -s.entropy / n,
		ApproxKL:     s.approxKL / n,
		ClipFraction: s.clipped / n,
	}
	t.Loss = t.PolicyLoss + p.EntCoef*t.EntropyLoss + p.VfCoef*t.ValueLoss
	return t
}
