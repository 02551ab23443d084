package policy

import (
	"errors"
	"fmt"
	"math/rand/v2"

	"hybridtrain/internal/adapter"
	"hybridtrain/internal/device"
)

// Policy is the actor-critic: an optional adapter in front of the policy and value MLPs
// and their heads, with its Adam state. Its device is derived from its parameters; every
// entry point takes host memory and moves it to that device itself. It is not safe for
// concurrent use.
type Policy struct {
	cfg        Config
	base       *layers          // the base network (its Adapter field is unused)
	ad         *adapter.Adapter // nil in Phase 2
	baseFrozen bool
	opt        map[string]*adamState // by parameter name

	be     backend          // built for the buffers in beBufs
	beBufs []*device.Buffer // the parameter buffers be was built over
	ps     []*device.Tensor // scratch for params
	adv    []float32        // normalised advantages
	sq     *device.Buffer   // sums of squares, one per parameter, on the device
	sqHost []float32
	sqOut  []float64
	bufs   []*device.Buffer
	need   []bool
}

// New builds a policy on the CPU with SB3's orthogonal init (gain sqrt(2) hidden, 0.01
// action head, 1 value head, zero biases) drawn from rng, and an identity adapter when
// cfg.HasAdapter().
func New(cfg Config, rng *rand.Rand) (*Policy, error) {
	if rng == nil {
		return nil, errors.New("policy: New needs a random generator for the weight init")
	}
	return newPolicy(cfg, rng)
}

// newPolicy is New; a nil rng leaves every base weight zero (for callers that load them).
func newPolicy(cfg Config, rng *rand.Rand) (*Policy, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.clone()
	base, err := newBaseLayers(cfg, rng)
	if err != nil {
		return nil, err
	}
	p := &Policy{cfg: cfg, base: base, opt: map[string]*adamState{}}
	if cfg.HasAdapter() {
		a, err := adapter.New(adapter.Config{InDim: cfg.ObsDim, OutDim: cfg.BaseDim})
		if err != nil {
			return nil, fmt.Errorf("policy: adapter: %w", err)
		}
		p.ad = a
	}
	return p, nil
}

// Config returns the network's configuration.
func (p *Policy) Config() Config { return p.cfg.clone() }

// Device is the device of the first parameter. A policy whose parameters are split over
// devices reports the first one's and fails at its next forward pass.
func (p *Policy) Device() device.Device { return p.params()[0].Device() }

// Adapter returns the adapter, nil in Phase 2.
func (p *Policy) Adapter() *adapter.Adapter { return p.ad }

// SetAdapter replaces the adapter (its dims must be ObsDim -> BaseDim) and drops its Adam
// state. It may live on another device: To moves it with the rest, and until then the next
// forward pass fails with a device mismatch rather than copying anything.
func (p *Policy) SetAdapter(a *adapter.Adapter) error {
	if a == nil {
		return errors.New("policy: SetAdapter: nil adapter")
	}
	if !p.cfg.HasAdapter() {
		return fmt.Errorf("policy: SetAdapter: this policy has no adapter (obs_dim = base_obs_dim = %d)", p.cfg.ObsDim)
	}
	if ac := a.Config(); ac.InDim != p.cfg.ObsDim || ac.OutDim != p.cfg.BaseDim {
		return fmt.Errorf("policy: SetAdapter: adapter is %d -> %d, want obs_dim %d -> base_obs_dim %d",
			ac.InDim, ac.OutDim, p.cfg.ObsDim, p.cfg.BaseDim)
	}
	if p.ad != nil {
		for _, t := range p.ad.Params() {
			delete(p.opt, t.Name)
		}
	}
	p.ad = a
	p.dropBackend()
	return nil
}

// Params returns every parameter: the adapter's first (adapter.weight, adapter.bias), then
// the policy MLP, the value MLP, action_net and value_net, each weight before its bias.
// Weights are [in, out].
func (p *Policy) Params() []*device.Tensor {
	return append([]*device.Tensor(nil), p.params()...)
}

// params fills the scratch list (no allocation once it has grown).
func (p *Policy) params() []*device.Tensor {
	p.ps = p.ps[:0]
	if p.ad != nil {
		p.ps = append(p.ps, p.ad.Weight(), p.ad.Bias())
	}
	for _, h := range p.base.Pi {
		p.ps = append(p.ps, h.W, h.B)
	}
	for _, h := range p.base.Vf {
		p.ps = append(p.ps, h.W, h.B)
	}
	// Kept in p.ps so that its capacity covers the whole list: no allocation once grown.
	p.ps = append(p.ps, p.base.Action.W, p.base.Action.B, p.base.Value.W, p.base.Value.B)
	return p.ps
}

// SetBaseFrozen freezes (true) or unfreezes every parameter but the adapter's: frozen
// parameters get no Adam step and do not count in the gradient-norm clip (the adapter
// warm-up of a transferred policy).
func (p *Policy) SetBaseFrozen(frozen bool) { p.baseFrozen = frozen }

// BaseFrozen reports whether the base network is frozen.
func (p *Policy) BaseFrozen() bool { return p.baseFrozen }

// trainable reports, in params() order, which parameters take optimiser steps: the
// adapter's unless it is frozen, the base's unless the base is frozen.
func (p *Policy) trainable() []bool {
	ps := p.params()
	p.need = p.need[:0]
	nAd := 0
	if p.ad != nil {
		nAd = 2
	}
	for i := range ps {
		if i < nAd {
			p.need = append(p.need, !p.ad.Frozen())
		} else {
			p.need = append(p.need, !p.baseFrozen)
		}
	}
	return p.need
}

// To moves every parameter (the adapter's included, however late it was set) and the Adam
// state to dev. Device memory of the old copies is freed. If a transfer fails part way, the
// policy is left split and its next forward pass reports which parameter is where.
func (p *Policy) To(dev device.Device) error {
	if _, err := device.Open(dev); err != nil {
		return fmt.Errorf("policy: to %s: %w", dev, err)
	}
	if dev != device.CPU && p.cfg.Activation != ActivationReLU {
		return fmt.Errorf("policy: to %s: activation %q runs only on the cpu (the device kernels have ReLU only)", dev, p.cfg.Activation)
	}
	p.dropBackend()
	if p.ad != nil && p.ad.Device() != dev {
		if err := p.ad.To(dev); err != nil {
			return fmt.Errorf("policy: to %s: adapter: %w", dev, err)
		}
	}
	for _, t := range p.base.params() {
		if err := moveBuffer(&t.Buf, dev); err != nil {
			return fmt.Errorf("policy: to %s: %s: %w", dev, t.Name, err)
		}
	}
	for _, t := range p.params() {
		st := p.opt[t.Name]
		if st == nil {
			continue
		}
		if err := moveBuffer(&st.m, dev); err != nil {
			return fmt.Errorf("policy: to %s: %s.exp_avg: %w", dev, t.Name, err)
		}
		if err := moveBuffer(&st.v, dev); err != nil {
			return fmt.Errorf("policy: to %s: %s.exp_avg_sq: %w", dev, t.Name, err)
		}
	}
	return nil
}

// moveBuffer replaces *b by a copy on dev and frees the old one's device memory (host
// memory is left to the garbage collector).
func moveBuffer(b **device.Buffer, dev device.Device) error {
	old := *b
	if old.Device() == dev {
		return nil
	}
	nb, err := device.Transfer(dev, old)
	if err != nil {
		return err
	}
	*b = nb
	if !old.Device().IsHost() {
		if eng, err := device.Open(old.Device()); err == nil {
			eng.Free(old)
		}
	}
	return nil
}

// dropBackend releases the backend and the device scratch built for the old buffers.
func (p *Policy) dropBackend() {
	if p.be != nil {
		p.be.close()
	}
	p.be, p.beBufs = nil, nil
	if p.sq != nil && !p.sq.Device().IsHost() {
		if eng, err := device.Open(p.sq.Device()); err == nil {
			eng.Free(p.sq)
		}
	}
	p.sq = nil
}

// ready checks that every parameter lives on one device and returns the backend for it,
// building a new one when the parameters' buffers changed (To, SetAdapter, or an adapter
// moved on its own).
func (p *Policy) ready() (backend, *device.Engine, error) {
	ps := p.params()
	dev := ps[0].Device()
	for _, t := range ps[1:] {
		if t.Device() != dev {
			return nil, nil, fmt.Errorf("policy: parameter %s is on %s but %s is on %s (move the whole policy with To): %w",
				t.Name, t.Device(), ps[0].Name, dev, &device.MismatchError{Op: "policy forward", Want: dev, Got: t.Device()})
		}
	}
	eng, err := device.Open(dev)
	if err != nil {
		return nil, nil, fmt.Errorf("policy: %w", err)
	}
	if p.be != nil && len(p.beBufs) == len(ps) {
		same := true
		for i, t := range ps {
			if p.beBufs[i] != t.Buf {
				same = false
				break
			}
		}
		if same {
			return p.be, eng, nil
		}
	}
	p.dropBackend()
	l := *p.base
	if p.ad != nil {
		l.Adapter = &linear{W: p.ad.Weight(), B: p.ad.Bias(), In: p.cfg.ObsDim, Out: p.cfg.BaseDim}
	}
	var be backend
	if dev == device.CPU {
		be, err = newCPUBackend(&l, p.ad, eng, p.cfg.ObsDim, p.cfg.NumActions)
	} else {
		be, err = newKernelBackend(&l, p.ad, eng, p.cfg.ObsDim, p.cfg.NumActions)
	}
	if err != nil {
		return nil, nil, err
	}
	p.be = be
	for _, t := range ps {
		p.beBufs = append(p.beBufs, t.Buf)
	}
	return be, eng, nil
}

// Transfer builds a Phase 3 policy (obsDim inputs, identity adapter) whose base network is a
// copy of base's (a Phase 2 policy): same architecture, same weights. The new policy is on
// the CPU with fresh Adam state, whatever base's device.
func Transfer(base *Policy, obsDim int) (*Policy, error) {
	if base == nil {
		return nil, errors.New("policy: transfer: nil base policy")
	}
	if base.cfg.HasAdapter() {
		return nil, fmt.Errorf("policy: transfer: the base must be a Phase 2 policy (no adapter), got obs_dim %d with an adapter", base.cfg.ObsDim)
	}
	if obsDim <= base.cfg.BaseDim {
		return nil, fmt.Errorf("policy: transfer: obs_dim must exceed the base's %d inputs, got %d", base.cfg.BaseDim, obsDim)
	}
	cfg := base.cfg.clone()
	cfg.ObsDim = obsDim
	p, err := newPolicy(cfg, nil)
	if err != nil {
		return nil, err
	}
	src, dst := base.base.params(), p.base.params()
	for i, t := range src {
		h, err := hostCopy(t.Buf)
		if err != nil {
			return nil, fmt.Errorf("policy: transfer: %s: %w", t.Name, err)
		}
		d, _ := dst[i].Buf.HostData()
		copy(d, h)
	}
	return p, nil
}

// hostCopy returns b's values in host memory (a fresh copy for a device buffer, b's own
// slice for a host one).
func hostCopy(b *device.Buffer) ([]float32, error) {
	if h, ok := b.HostData(); ok {
		return h, nil
	}
	c, err := device.Transfer(device.CPU, b)
	if err != nil {
		return nil, err
	}
	h, _ := c.HostData()
	return h, nil
}
