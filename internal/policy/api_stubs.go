package policy

// Signatures agreed between packages; the policy owner replaces each stub and deletes this
// file when it is empty.

import (
	"errors"
	"math/rand/v2"

	"hybridtrain/internal/adapter"
	"hybridtrain/internal/device"
)

var errTODO = errors.New("policy: not implemented yet")

// Config describes the network. Keys: pi_layers, vf_layers, activation.
type Config struct {
	ObsDim     int    // input length: 261 (Phase 3, with adapter) or 228 (Phase 2)
	BaseDim    int    // the base network's input length (228)
	NumActions int    // 6
	PiLayers   []int  // pi_layers: hidden sizes of the policy MLP ([512, 256, 128])
	VfLayers   []int  // vf_layers: hidden sizes of the value MLP ([512, 256, 128])
	Activation string // activation: "relu" (default) or "tanh"
}

// DefaultConfig is the Phase 3 network of the specification.
func DefaultConfig() Config {
	return Config{ObsDim: 261, BaseDim: 228, NumActions: 6,
		PiLayers: []int{512, 256, 128}, VfLayers: []int{512, 256, 128}, Activation: "relu"}
}

// HasAdapter reports whether the configuration puts an adapter in front (ObsDim != BaseDim).
func (c Config) HasAdapter() bool { return c.ObsDim != c.BaseDim }

// Policy is the actor-critic. It is not safe for concurrent use.
type Policy struct{}

// New builds a policy on the CPU with SB3's orthogonal init (gain sqrt(2) hidden, 0.01
// action head, 1 value head, zero biases) drawn from rng, and an identity adapter when
// cfg.HasAdapter().
func New(cfg Config, rng *rand.Rand) (*Policy, error) { return nil, errTODO }

func (p *Policy) Config() Config                      { return Config{} }
func (p *Policy) Device() device.Device               { return device.CPU }
func (p *Policy) To(dev device.Device) error          { return errTODO }
func (p *Policy) Adapter() *adapter.Adapter           { return nil }
func (p *Policy) SetAdapter(a *adapter.Adapter) error { return errTODO }
func (p *Policy) Params() []*device.Tensor            { return nil }
func (p *Policy) SetBaseFrozen(frozen bool)           {}
func (p *Policy) BaseFrozen() bool                    { return false }

// ActResult receives Act's outputs; its slices are caller-owned, length >= rows.
type ActResult struct {
	Actions  []int32
	Values   []float32
	LogProbs []float32
}

// Act runs the rollout forward pass without gradients on rows host observations with their
// masks: samples from the masked distribution with rng (or takes the argmax of the masked
// logits when deterministic) and returns the actions, values and log-probs. A row with no
// legal action is an error.
func (p *Policy) Act(obs []float32, masks []bool, rows int, deterministic bool, rng *rand.Rand, out *ActResult) error {
	return errTODO
}

// Values computes V(obs) for rows host observations (for GAE bootstrapping).
func (p *Policy) Values(obs []float32, rows int, out []float32) error { return errTODO }

// Minibatch is one PPO minibatch in host memory; it crosses to the device at the loss's
// entry.
type Minibatch struct {
	Rows      int
	Obs       []float32 // Rows x ObsDim, normalised
	Masks     []bool    // Rows x NumActions
	Actions   []int32
	OldLogp   []float32
	OldValues []float32
	Adv       []float32 // raw; normalised per minibatch when NormalizeAdvantage
	Returns   []float32
}

// UpdateParams are the settings of one minibatch update.
type UpdateParams struct {
	LR                 float64
	ClipRange          float64
	ClipRangeVF        float64 // 0 = off
	EntCoef, VfCoef    float64
	MaxGradNorm        float64 // global norm over trainable parameters
	TargetKL           float64 // 0 = none; else the step is skipped when approx_kl > 1.5 x TargetKL
	NormalizeAdvantage bool
}

// UpdateStats are the minibatch's losses and diagnostics, computed before the step.
type UpdateStats struct {
	Loss, PolicyLoss, ValueLoss, EntropyLoss float64
	ApproxKL, ClipFraction                   float64
	GradNorm                                 float64 // before clipping
	Applied                                  bool    // false when skipped by TargetKL
}

// ErrNonFinite is returned (wrapped) when a loss, gradient or parameter is NaN or Inf.
var ErrNonFinite = errors.New("policy: non-finite value")

// Update computes the PPO loss and its gradients on mb, and unless approx_kl exceeds
// 1.5 x TargetKL clips the global gradient norm of the trainable parameters and takes one
// Adam step on them.
func (p *Policy) Update(mb *Minibatch, hp UpdateParams) (UpdateStats, error) {
	return UpdateStats{}, errTODO
}

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

// Transfer builds a Phase 3 policy (obsDim inputs, identity adapter) whose base network is a
// copy of base's (a Phase 2 policy): same architecture, same weights.
func Transfer(base *Policy, obsDim int) (*Policy, error) { return nil, errTODO }
