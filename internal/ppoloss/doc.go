// Package ppoloss is the PPO loss of one minibatch, written once in plain Go.
//
// It is the reference every backend runs or is held to: the CPU backend's loss op
// (internal/policy) and the host engine's PPOLoss kernel (internal/device) call it; the
// CUDA kernel (internal/device/kernels/kernels.cu) implements the same lines in float32
// and is tested against the host engine. It is a leaf package so that both the device and
// the policy can use it.
//
// Read against CleanRL's ppo.py (update loop) and SB3's PPO.train, per minibatch of N
// samples with advantages A already normalised (the policy does that per minibatch):
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
// error (internal/policy's distribution.go).
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
package ppoloss
