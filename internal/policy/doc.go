// Package policy is the maskable actor-critic of hybridtrain: an optional adapter
// (internal/adapter) in front of separate policy and value MLPs with an action head and a
// value head, the masked categorical distribution, the PPO loss and its gradients, the
// global gradient-norm clip, Adam, and the checkpoint container.
//
// The math is written down once as a list of layers and loss terms and run by a backend
// chosen from the parameters' device: on the CPU a gorgonia graph (TapeMachine, one graph per
// batch size, our own stable masked log-softmax); on any other device the kernel backend,
// which runs the same list with internal/device's kernels (the CUDA kernels on a GPU, the
// host kernels on the test device). A parity test holds the two together.
//
// Observations cross to the policy's device at its input stage (the adapter in Phase 3, the
// first layer in Phase 2); masks at the distribution's entry; minibatch tensors at the
// loss's entry. The policy's device is derived from its parameters.
package policy
