package policy

import (
	"fmt"
	"slices"
)

// Config describes the network. Keys: obs_dim, base_obs_dim, num_actions, pi_layers,
// vf_layers, activation.
type Config struct {
	ObsDim     int    // obs_dim: input length: 261 (Phase 3, with adapter) or 228 (Phase 2)
	BaseDim    int    // base_obs_dim: the base network's input length (228)
	NumActions int    // num_actions: size of the discrete action space (6)
	PiLayers   []int  // pi_layers: hidden sizes of the policy MLP ([512, 256, 128]); at least one
	VfLayers   []int  // vf_layers: hidden sizes of the value MLP ([512, 256, 128]); at least one
	Activation string // activation: "relu" (default) or "tanh" (the gorgonia backend only)
}

// DefaultConfig is the Phase 3 network of the specification.
func DefaultConfig() Config {
	return Config{ObsDim: 261, BaseDim: 228, NumActions: 6,
		PiLayers: []int{512, 256, 128}, VfLayers: []int{512, 256, 128}, Activation: "relu"}
}

// Phase2Config is the Phase 2 network: the default architecture on the 228 base features,
// without an adapter.
func Phase2Config() Config {
	c := DefaultConfig()
	c.ObsDim = c.BaseDim
	return c
}

// HasAdapter reports whether the configuration puts an adapter in front (ObsDim != BaseDim).
func (c Config) HasAdapter() bool { return c.ObsDim != c.BaseDim }

// Activations understood by the policy.
const (
	ActivationReLU = "relu"
	ActivationTanh = "tanh"
)

// Validate checks every field and names the configuration key at fault.
func (c Config) Validate() error {
	switch {
	case c.BaseDim < 1:
		return fmt.Errorf("policy: base_obs_dim must be >= 1, got %d", c.BaseDim)
	case c.ObsDim < c.BaseDim:
		return fmt.Errorf("policy: obs_dim must be >= base_obs_dim (%d), got %d", c.BaseDim, c.ObsDim)
	case c.NumActions < 2:
		return fmt.Errorf("policy: num_actions must be >= 2, got %d", c.NumActions)
	case len(c.PiLayers) == 0:
		return fmt.Errorf("policy: pi_layers must list at least one hidden size")
	case len(c.VfLayers) == 0:
		return fmt.Errorf("policy: vf_layers must list at least one hidden size")
	case c.Activation != ActivationReLU && c.Activation != ActivationTanh:
		return fmt.Errorf("policy: activation must be %q or %q, got %q", ActivationReLU, ActivationTanh, c.Activation)
	}
	for i, h := range c.PiLayers {
		if h < 1 {
			return fmt.Errorf("policy: pi_layers[%d] must be >= 1, got %d", i, h)
		}
	}
	for i, h := range c.VfLayers {
		if h < 1 {
			return fmt.Errorf("policy: vf_layers[%d] must be >= 1, got %d", i, h)
		}
	}
	return nil
}

// clone returns a copy that shares no slices with c (a Policy keeps its own).
func (c Config) clone() Config {
	c.PiLayers = slices.Clone(c.PiLayers)
	c.VfLayers = slices.Clone(c.VfLayers)
	return c
}

// Arch is the architecture as metadata.json records it.
func (c Config) Arch() Arch {
	return Arch{PiLayers: slices.Clone(c.PiLayers), VfLayers: slices.Clone(c.VfLayers),
		Activation: c.Activation, Adapter: c.HasAdapter()}
}
