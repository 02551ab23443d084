package adapter

// Signatures agreed between packages; the adapter owner replaces each stub and deletes this
// file when it is empty.

import (
	"errors"

	"hybridtrain/internal/device"
)

var errTODO = errors.New("adapter: not implemented yet")

// Config sizes the adapter.
type Config struct {
	InDim  int // observation length (261)
	OutDim int // base observation length (228); InDim-OutDim context inputs
}

// DefaultConfig is Linear(261 -> 228).
func DefaultConfig() Config { return Config{InDim: 261, OutDim: 228} }

// Stats are the adapter statistics reported every rollout (names as metrics keys use them:
// adapter/weight_mean, ..., adapter/base_identity_deviation, adapter/llm_features_learned).
type Stats struct {
	WeightMean, WeightStd, WeightMin, WeightMax float64
	BiasMean, BiasStd                           float64
	// BaseIdentityDeviation is mean |W[:228,:228] - I| over the square block (0 at init).
	BaseIdentityDeviation float64
	// LLMFeaturesLearned is mean |W| over the 228x33 context block (0 at init).
	LLMFeaturesLearned float64
}

// Adapter is Linear(InDim -> OutDim). Weight is stored [InDim, OutDim] (y = x W + b); the
// checkpoint layer writes PyTorch's [OutDim, InDim].
type Adapter struct{}

// New returns an identity-initialised adapter on the CPU.
func New(cfg Config) (*Adapter, error) { return nil, errTODO }

func (a *Adapter) Config() Config             { return Config{} }
func (a *Adapter) Weight() *device.Tensor     { return nil }
func (a *Adapter) Bias() *device.Tensor       { return nil }
func (a *Adapter) Params() []*device.Tensor   { return nil }
func (a *Adapter) Device() device.Device      { return device.CPU }
func (a *Adapter) To(dev device.Device) error { return errTODO }
func (a *Adapter) Freeze()                    {}
func (a *Adapter) Unfreeze()                  {}
func (a *Adapter) Frozen() bool               { return false }
func (a *Adapter) Stats() (Stats, error)      { return Stats{}, errTODO }

// Input moves rows host observations (rows x InDim) to a buffer on the adapter's device,
// reusing the adapter's staging memory: the one place observations cross to the device.
func (a *Adapter) Input(obs []float32, rows int) (*device.Buffer, error) { return nil, errTODO }

// Forward computes y = x W + b for host observations on the adapter's device and returns
// the rows x OutDim result there (in the adapter's reused output memory).
func (a *Adapter) Forward(obs []float32, rows int) (*device.Buffer, error) { return nil, errTODO }
