// Package policy is the maskable actor-critic of hybridtrain, its update and checkpoints.
//
// It holds an optional adapter (internal/adapter) in front of separate policy and value
// MLPs with an action head and a value head, the masked categorical distribution, the PPO
// loss and its gradients, the global gradient-norm clip, Adam, and the checkpoint
// container.
//
// The math is written down once as a list of layers (net.go) and the PPO loss
// (internal/ppoloss),
// and run by a backend chosen from the parameters' device: on the CPU a gorgonia graph
// (graph*.go) made of this package's own ops (a layer of both branches, its gradients, the
// loss), differentiated by gorgonia and run on a TapeMachine, with its matrix products
// through gorgonia's BLAS (internal/gemm's SIMD SGEMM); on any other device the kernel
// backend (kernels.go), which runs the same list with internal/device's kernels (the CUDA
// kernels on a GPU, the host kernels on the test device, and on the CPU of a cuda build,
// which leaves gorgonia out). A parity test holds the two together within
// |a - b| <= 1e-4 (1 + |b|).
//
// Observations cross to the policy's device at its input stage (the adapter in Phase 3, the
// first layer in Phase 2); masks at the distribution's entry; minibatch tensors at the
// loss's entry. The policy's device is derived from its parameters: To moves all of them
// (an adapter set late included) and the Adam state; a parameter left on another device is
// an error at the next forward pass, never a silent copy.
//
// Semantics follow stable-baselines3 2.3 PPO and sb3-contrib MaskablePPO (spec
// training.md §1, §3):
//   - weights are stored [in, out] (y = x W + b) under SB3's state-dict names and written
//     to checkpoints as PyTorch's [out, in]; init is SB3's orthogonal init (gains sqrt(2),
//     0.01, 1; zero biases) from the injected generator;
//   - masked logits are replaced by -1e8; masked actions add no entropy; a row with no
//     legal action is an error (sb3-contrib would silently sample an illegal action);
//   - sampling happens on the host from the downloaded log-probs, one rng.Float64() per
//     row (the exact rule is in distribution.go); the deterministic action is the argmax
//     of the masked logits, the first on ties;
//   - per-minibatch advantage normalisation (A - mean) / (std + 1e-8) with the n-1 std,
//     skipped for one sample; loss = pg + ent_coef (-mean H) + vf_coef mean((R - V)^2),
//     with SB3's optional value clipping; approx_kl = mean((r - 1) - log r) and the clip
//     fraction from the same forward pass, before the step; the step is skipped when
//     approx_kl > 1.5 target_kl;
//   - PyTorch's clip_grad_norm_ over the trainable parameters only, then Adam (betas 0.9,
//     0.999, eps 1e-5) with a step count per parameter tensor; frozen parameters (the base
//     during the adapter warm-up, a frozen adapter) keep their values bit for bit;
//   - a non-finite loss term, gradient or updated parameter is an error wrapping
//     ErrNonFinite that names it.
//
// A Policy is not safe for concurrent use.
package policy
