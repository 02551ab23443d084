// Package ppo trains a maskable actor-critic with PPO, with the semantics of
// stable-baselines3 PPO and sb3-contrib MaskablePPO: vectorised rollouts over host
// observations, observation and reward normalisers, GAE with per-env episode boundaries and
// truncation bootstrapping, shuffled minibatch updates with the clipped surrogate, SB3's
// value loss, an entropy bonus, global gradient clipping, Adam and early stopping on the
// approximate KL; the Phase 3 adapter warm-up; evaluation on the validation split; the run
// directory with atomic checkpoints and exact resume; metrics.jsonl with SB3's tag names.
//
// It imports env, device, adapter and policy (upstream only). Progress and metrics leave the
// package through the Recorder interface that the command line implements; the package
// never prints.
package ppo
