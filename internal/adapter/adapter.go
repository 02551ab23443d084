package adapter

import (
	"fmt"
	"math"

	"hybridtrain/internal/device"
)

// Parameter names, as the SB3 state dict of the Python system names them.
const (
	WeightName = "adapter.weight"
	BiasName   = "adapter.bias"
)

// maxStaged bounds the number of batch sizes whose staging buffers are kept. A training
// run uses a handful (n_envs for rollouts, batch_size for updates, 1 for evaluation); an
// unusual caller that cycles through many sizes gets its cache dropped, not unbounded
// memory.
const maxStaged = 16

// Adapter is Linear(InDim -> OutDim). Weight is stored [InDim, OutDim] (y = x W + b); the
// checkpoint layer writes PyTorch's [OutDim, InDim].
//
// Its device is derived from its weight's buffer; To moves weight and bias together. An
// Adapter is used by one goroutine at a time.
type Adapter struct {
	cfg          Config
	weight, bias *device.Tensor
	frozen       bool
	// staged holds, per batch size, the input and output buffers Input and Forward reuse,
	// on the adapter's device. To drops them.
	staged map[int]*staging
}

// staging is the reused device memory of one batch size.
type staging struct {
	x, y *device.Buffer // rows x InDim, rows x OutDim
}

// New returns an identity-initialised adapter on the CPU: W[i][i] = 1 for i < OutDim, the
// context rows of W zero, bias zero, so that at init y equals the first OutDim inputs.
func New(cfg Config) (*Adapter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	w := make([]float32, cfg.InDim*cfg.OutDim)
	for i := range cfg.OutDim {
		w[i*cfg.OutDim+i] = 1
	}
	return &Adapter{
		cfg:    cfg,
		weight: &device.Tensor{Name: WeightName, Shape: []int{cfg.InDim, cfg.OutDim}, Buf: device.NewHost(device.CPU, w)},
		bias:   &device.Tensor{Name: BiasName, Shape: []int{cfg.OutDim}, Buf: device.NewHost(device.CPU, make([]float32, cfg.OutDim))},
	}, nil
}

// Config returns the adapter's dimensions.
func (a *Adapter) Config() Config { return a.cfg }

// Weight is the [InDim, OutDim] weight tensor, named "adapter.weight".
func (a *Adapter) Weight() *device.Tensor { return a.weight }

// Bias is the [OutDim] bias tensor, named "adapter.bias".
func (a *Adapter) Bias() *device.Tensor { return a.bias }

// Params returns weight and bias, frozen or not: checkpoints and To need both. The policy
// consults Frozen to leave them out of the optimiser.
func (a *Adapter) Params() []*device.Tensor { return []*device.Tensor{a.weight, a.bias} }

// Device is where the adapter's parameters live, derived from the weight's buffer.
func (a *Adapter) Device() device.Device { return a.weight.Device() }

// To moves weight and bias to dev with device.Transfer and drops the staging buffers. It
// is all or nothing: on error the adapter is unchanged. The previous buffers are freed, so
// a *device.Buffer taken from Weight().Buf before the move must not be used after it.
func (a *Adapter) To(dev device.Device) error {
	if a.Device() == dev && a.bias.Device() == dev {
		return nil
	}
	w, err := device.Transfer(dev, a.weight.Buf)
	if err != nil {
		return fmt.Errorf("adapter: move to %s: %w", dev, err)
	}
	b, err := device.Transfer(dev, a.bias.Buf)
	if err != nil {
		free(w)
		return fmt.Errorf("adapter: move to %s: %w", dev, err)
	}
	free(a.weight.Buf)
	free(a.bias.Buf)
	a.weight.Buf, a.bias.Buf = w, b
	a.dropStaging()
	return nil
}

// free returns b to its device's engine; a buffer whose engine cannot be opened has no
// memory to give back.
func free(b *device.Buffer) {
	if e, err := device.Open(b.Device()); err == nil {
		e.Free(b)
	}
}

func (a *Adapter) dropStaging() {
	for _, s := range a.staged {
		free(s.x)
		free(s.y)
	}
	a.staged = nil
}

// Freeze marks the adapter as not trainable: the policy then leaves weight and bias out of
// the optimiser and of the gradient-norm clip. Forward is unaffected.
func (a *Adapter) Freeze() { a.frozen = true }

// Unfreeze marks the adapter as trainable again.
func (a *Adapter) Unfreeze() { a.frozen = false }

// Frozen reports whether Freeze is in effect.
func (a *Adapter) Frozen() bool { return a.frozen }

// Input moves rows host observations (rows x InDim) to a buffer on the adapter's device,
// reusing the adapter's staging memory: the one place observations cross to the device.
// The returned buffer has exactly rows*InDim elements and is overwritten by the next
// Input or Forward with the same rows.
func (a *Adapter) Input(obs []float32, rows int) (*device.Buffer, error) {
	s, e, err := a.stage(len(obs), rows)
	if err != nil {
		return nil, err
	}
	if err := e.Upload(s.x, obs); err != nil {
		return nil, fmt.Errorf("adapter: input: %w", err)
	}
	return s.x, nil
}

// Forward computes y = x W + b for host observations on the adapter's device and returns
// the rows x OutDim result there (in the adapter's reused output memory, overwritten by
// the next Forward with the same rows).
func (a *Adapter) Forward(obs []float32, rows int) (*device.Buffer, error) {
	s, e, err := a.stage(len(obs), rows)
	if err != nil {
		return nil, err
	}
	if err := e.Upload(s.x, obs); err != nil {
		return nil, fmt.Errorf("adapter: forward: %w", err)
	}
	in, out := a.cfg.InDim, a.cfg.OutDim
	if err := e.Gemm(false, false, rows, out, in, 1, s.x, a.weight.Buf, 0, s.y); err != nil {
		return nil, fmt.Errorf("adapter: forward: %w", err)
	}
	if err := e.AddRowVector(s.y, a.bias.Buf, rows, out); err != nil {
		return nil, fmt.Errorf("adapter: forward: %w", err)
	}
	return s.y, nil
}

// stage checks an observation batch and returns the staging buffers for its size on the
// adapter's device, with that device's engine.
func (a *Adapter) stage(nobs, rows int) (*staging, *device.Engine, error) {
	if rows < 1 {
		return nil, nil, fmt.Errorf("adapter: rows must be >= 1, got %d", rows)
	}
	if nobs != rows*a.cfg.InDim {
		return nil, nil, fmt.Errorf("adapter: observations have %d floats, want rows*in_dim = %d*%d = %d",
			nobs, rows, a.cfg.InDim, rows*a.cfg.InDim)
	}
	dev := a.Device()
	e, err := device.Open(dev)
	if err != nil {
		return nil, nil, fmt.Errorf("adapter: %w", err)
	}
	if s, ok := a.staged[rows]; ok && s.x.Device() == dev {
		return s, e, nil
	}
	if len(a.staged) >= maxStaged {
		a.dropStaging()
	}
	x, err := e.Alloc(rows * a.cfg.InDim)
	if err != nil {
		return nil, nil, fmt.Errorf("adapter: staging on %s: %w", dev, err)
	}
	y, err := e.Alloc(rows * a.cfg.OutDim)
	if err != nil {
		e.Free(x)
		return nil, nil, fmt.Errorf("adapter: staging on %s: %w", dev, err)
	}
	if a.staged == nil {
		a.staged = make(map[int]*staging)
	}
	s := &staging{x: x, y: y}
	a.staged[rows] = s
	return s, e, nil
}

// Stats are the adapter statistics reported every rollout (names as metrics keys use them:
// adapter/weight_mean, ..., adapter/base_identity_deviation, adapter/llm_features_learned).
// Standard deviations are population ones (divide by the count, as numpy's default and
// torch.std(unbiased=False)): they describe the tensor itself, not a sample of anything.
type Stats struct {
	WeightMean, WeightStd, WeightMin, WeightMax float64
	BiasMean, BiasStd                           float64
	// BaseIdentityDeviation is mean |W[:228,:228] - I| over the square block (0 at init).
	BaseIdentityDeviation float64
	// LLMFeaturesLearned is mean |W| over the 228x33 context block (0 at init).
	LLMFeaturesLearned float64
}

// Stats computes the statistics in float64 from a host copy of the parameters (downloaded
// when they live on a GPU).
func (a *Adapter) Stats() (Stats, error) {
	w, err := hostCopy(a.weight.Buf)
	if err != nil {
		return Stats{}, fmt.Errorf("adapter: stats: %w", err)
	}
	b, err := hostCopy(a.bias.Buf)
	if err != nil {
		return Stats{}, fmt.Errorf("adapter: stats: %w", err)
	}
	var s Stats
	s.WeightMean, s.WeightStd = meanStd(w)
	s.WeightMin, s.WeightMax = math.Inf(1), math.Inf(-1)
	for _, x := range w {
		s.WeightMin = min(s.WeightMin, float64(x))
		s.WeightMax = max(s.WeightMax, float64(x))
	}
	s.BiasMean, s.BiasStd = meanStd(b)

	in, out := a.cfg.InDim, a.cfg.OutDim
	var dev, ctx float64
	for i := range in { // row i of W is input i
		row := w[i*out : (i+1)*out]
		for j, x := range row {
			v := float64(x)
			switch {
			case i >= out:
				ctx += math.Abs(v)
			case i == j:
				dev += math.Abs(v - 1)
			default:
				dev += math.Abs(v)
			}
		}
	}
	s.BaseIdentityDeviation = dev / float64(out*out)
	s.LLMFeaturesLearned = ctx / float64((in-out)*out)
	return s, nil
}

// AppendContextWeights appends to dst the weights from the context inputs, the last
// InDim - OutDim rows of W (PyTorch's last columns of adapter.weight), in row order, and
// returns the extended slice: what a histogram of the adapter's use of the context features
// reads. The weights are downloaded when they live on a GPU.
func (a *Adapter) AppendContextWeights(dst []float32) ([]float32, error) {
	w, err := hostCopy(a.weight.Buf)
	if err != nil {
		return dst, fmt.Errorf("adapter: context weights: %w", err)
	}
	return append(dst, w[a.cfg.OutDim*a.cfg.OutDim:]...), nil
}

// hostCopy returns the buffer's contents in host memory (the slice itself on a host
// device: Stats only reads it).
func hostCopy(b *device.Buffer) ([]float32, error) {
	if h, ok := b.HostData(); ok {
		return h[:b.Len()], nil
	}
	e, err := device.Open(b.Device())
	if err != nil {
		return nil, err
	}
	h := make([]float32, b.Len())
	if err := e.Download(h, b); err != nil {
		return nil, err
	}
	return h, nil
}

// meanStd returns the mean and the population standard deviation, two-pass for accuracy.
func meanStd(x []float32) (mean, std float64) {
	if len(x) == 0 {
		return 0, 0
	}
	for _, v := range x {
		mean += float64(v)
	}
	mean /= float64(len(x))
	var ss float64
	for _, v := range x {
		d := float64(v) - mean
		ss += d * d
	}
	return mean, math.Sqrt(ss / float64(len(x)))
}
