package policy

// Signatures agreed between packages; the policy owner replaces each stub and deletes this
// file when it is empty.

import "errors"

var errTODO = errors.New("policy: not implemented yet")

// ModelTensors returns the policy's parameters under SB3 state-dict names in PyTorch
// orientation ([out, in]).
func (p *Policy) ModelTensors() []NamedTensor { return nil }

// OptimizerTensors returns Adam's moments and step counts.
func (p *Policy) OptimizerTensors() []NamedTensor { return nil }

// FromCheckpoint builds a policy (on the CPU) from a checkpoint, checking dims and
// architecture against its metadata and naming the field that does not match.
func FromCheckpoint(c *Checkpoint) (*Policy, error) { return nil, errTODO }

// LoadOptimizer restores Adam's state from c.
func (p *Policy) LoadOptimizer(c *Checkpoint) error { return errTODO }
