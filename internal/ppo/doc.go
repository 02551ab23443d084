// Package ppo trains a maskable actor-critic with PPO, as stable-baselines3 does.
//
// Its semantics are those of stable-baselines3 2.3 PPO and sb3-contrib MaskablePPO:
// vectorised rollouts over host observations, observation and reward normalisers (as
// SB3's VecNormalize), GAE with per-env episode boundaries and truncation bootstrapping,
// shuffled minibatch updates with the clipped surrogate, SB3's value loss, an entropy
// bonus, global gradient clipping, Adam and early stopping on the approximate KL; the
// Phase 3 adapter warm-up; evaluation on the validation split; the run directory with
// atomic checkpoints and exact resume; and metrics.jsonl with SB3's tag names, mirrored
// into a TensorBoard event file in tb/ (key tensorboard) that resume truncates as it does
// metrics.jsonl.
//
// It sits last in the data flow env -> device -> adapter -> policy -> ppo and imports env
// (observations, the trading env), device, adapter (its statistics), policy (the network,
// its loss, Adam and the checkpoint container), atomicfile and tfevents (the event-file
// format). Progress and metrics leave the package through the Recorder interface that the
// command line implements; the package never prints. Train steps any Env: *env.VecEnv in
// production, toy environments in tests.
//
// Sources: Schulman et al., "Proximal Policy Optimization Algorithms" (arXiv 1707.06347);
// Schulman et al., "High-Dimensional Continuous Control Using Generalized Advantage
// Estimation" (arXiv 1506.02438); Huang & Ontañón, "A Closer Look at Invalid Action Masking
// in Policy Gradient Algorithms" (arXiv 2006.14171); Huang et al., "The 37 Implementation
// Details of Proximal Policy Optimization" (ICLR blog track 2022), whose 13 core details
// (cleanrl docs/rl-algorithms/ppo.md) are here as follows: 1 vectorised envs (yes); 2
// orthogonal init with gains sqrt(2), 0.01, 1 and zero biases (yes, in policy); 3 Adam eps
// 1e-5 (yes, in policy); 4 learning-rate annealing (optional: lr_schedule linear, to
// lr x lr_final_fraction rather than to 0); 5 GAE (yes); 6 shuffled minibatches over
// epochs (yes); 7 per-minibatch advantage normalisation (yes, in policy); 8 clipped
// surrogate (yes, in policy); 9 value clipping (optional: clip_range_vf, off by default as
// SB3); 10 entropy bonus (yes, ent_coef 0.01); 11 global gradient clipping 0.5 (yes, in
// policy, over trainable parameters); 12 debug variables approx_kl, clip_fraction,
// explained_variance (yes, metrics.jsonl); 13 separate policy and value networks (yes).
// Also early stopping on target_kl and invalid-action masking. The value loss is SB3's
// mean((R - V)^2), without CleanRL's 1/2.
//
// docs/training.md describes the trainer for users: phases, normalisers, defaults, the run
// directory, resume and the seed streams.
package ppo
