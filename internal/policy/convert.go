package policy

import (
	"fmt"
	"slices"
	"strings"

	"hybridtrain/internal/device"
)

// Conversion between the policy and the checkpoint container. Model tensors carry SB3's
// state-dict names in PyTorch's orientation ([out, in] weights), float32, so that PyTorch
// loads them directly. The optimizer file holds, for every parameter that has taken at
// least one Adam step (PyTorch's optimizer state_dict likewise has no entry for the others):
//
//	<param>.exp_avg     float32, the parameter's PyTorch shape: Adam's first moment
//	<param>.exp_avg_sq  float32, the same shape: the second moment
//	<param>.step        int64 scalar: the tensor's step count
//
// e.g. "action_net.weight.exp_avg" [6, 128].

// optimizer tensor name suffixes.
const (
	sufExpAvg   = ".exp_avg"
	sufExpAvgSq = ".exp_avg_sq"
	sufStep     = ".step"
)

// paramPrefixes are the name prefixes of the policy's own tensors; other model tensors
// (the trainer's normalisers) are left alone.
var paramPrefixes = []string{nameAdapter + ".", "mlp_extractor.", nameAction + ".", nameValue + "."}

func isParamName(name string) bool {
	for _, p := range paramPrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// toTorch returns a [in, out] weight's values as [out, in] (a bias is returned as is).
func toTorch(t *device.Tensor, h []float32) ([]float32, []int) {
	if len(t.Shape) != 2 {
		return append([]float32(nil), h...), slices.Clone(t.Shape)
	}
	in, out := t.Shape[0], t.Shape[1]
	d := make([]float32, len(h))
	for i := 0; i < in; i++ {
		for o := 0; o < out; o++ {
			d[o*in+i] = h[i*out+o]
		}
	}
	return d, []int{out, in}
}

// fromTorch writes [out, in] values into a [in, out] host slice (a bias is copied).
func fromTorch(t *device.Tensor, src, dst []float32) {
	if len(t.Shape) != 2 {
		copy(dst, src)
		return
	}
	in, out := t.Shape[0], t.Shape[1]
	for o := 0; o < out; o++ {
		for i := 0; i < in; i++ {
			dst[i*out+o] = src[o*in+i]
		}
	}
}

// torchShape is t's shape in PyTorch's orientation.
func torchShape(t *device.Tensor) []int {
	if len(t.Shape) == 2 {
		return []int{t.Shape[1], t.Shape[0]}
	}
	return slices.Clone(t.Shape)
}

// ExportTensors returns the model and optimizer tensors of the checkpoint files (see
// convert.go), downloading from the policy's device; the error says which tensor failed.
func (p *Policy) ExportTensors() (model, optimizer []NamedTensor, err error) {
	for _, t := range p.params() {
		h, err := hostCopy(t.Buf)
		if err != nil {
			return nil, nil, fmt.Errorf("policy: export %s: %w", t.Name, err)
		}
		d, shape := toTorch(t, h)
		model = append(model, NamedTensor{Name: t.Name, Shape: shape, F32: d})
		a := p.opt[t.Name]
		if a == nil {
			continue
		}
		for _, s := range []struct {
			suf string
			b   *device.Buffer
		}{{sufExpAvg, a.m}, {sufExpAvgSq, a.v}} {
			h, err := hostCopy(s.b)
			if err != nil {
				return nil, nil, fmt.Errorf("policy: export %s%s: %w", t.Name, s.suf, err)
			}
			d, shape := toTorch(t, h)
			optimizer = append(optimizer, NamedTensor{Name: t.Name + s.suf, Shape: shape, F32: d})
		}
		optimizer = append(optimizer, NamedTensor{Name: t.Name + sufStep, Shape: []int{}, I64: []int64{int64(a.step)}})
	}
	if optimizer == nil {
		optimizer = []NamedTensor{}
	}
	return model, optimizer, nil
}

// ModelTensors returns the policy's parameters under SB3 state-dict names in PyTorch
// orientation ([out, in]). It returns nil if a download from the device fails; use
// ExportTensors to see the error.
func (p *Policy) ModelTensors() []NamedTensor {
	m, _, err := p.ExportTensors()
	if err != nil {
		return nil
	}
	return m
}

// OptimizerTensors returns Adam's moments and step counts (names in convert.go). It returns
// nil if a download from the device fails; use ExportTensors to see the error.
func (p *Policy) OptimizerTensors() []NamedTensor {
	_, o, err := p.ExportTensors()
	if err != nil {
		return nil
	}
	return o
}

// Metadata returns the network fields of metadata.json (dims and architecture); the
// caller fills the rest.
func (p *Policy) Metadata() Metadata {
	return Metadata{ObsDim: p.cfg.ObsDim, BaseObsDim: p.cfg.BaseDim, NumActions: p.cfg.NumActions, Arch: p.cfg.Arch()}
}

// ckpf returns an error wrapping ErrCheckpoint.
func ckpf(format string, args ...any) error {
	return fmt.Errorf("%w: policy: "+format, append([]any{ErrCheckpoint}, args...)...)
}

// dimFields names, for each parameter (params() order), the metadata field that sets each
// of its PyTorch dimensions, so that a shape mismatch names the field at fault.
func (p *Policy) dimFields() [][]string {
	var f [][]string
	add := func(out, in string) { f = append(f, []string{out, in}, []string{out}) }
	if p.ad != nil {
		add("base_obs_dim", "obs_dim")
	}
	in := "base_obs_dim"
	if p.ad == nil {
		in = "obs_dim"
	}
	for _, list := range []struct {
		key string
		n   int
	}{{"architecture.pi_layers", len(p.base.Pi)}, {"architecture.vf_layers", len(p.base.Vf)}} {
		prev := in
		for i := 0; i < list.n; i++ {
			out := fmt.Sprintf("%s[%d]", list.key, i)
			add(out, prev)
			prev = out
		}
	}
	add("num_actions", fmt.Sprintf("architecture.pi_layers[%d]", len(p.base.Pi)-1))
	add("value output (1)", fmt.Sprintf("architecture.vf_layers[%d]", len(p.base.Vf)-1))
	return f
}

// FromCheckpoint builds a policy (on the CPU) from a checkpoint's model tensors, checking
// dims and architecture in its metadata against them and naming the field that does not
// match. Model tensors that are not the policy's (the trainer's normalisers) are ignored.
// The Adam state is not loaded (see LoadOptimizer).
func FromCheckpoint(c *Checkpoint) (*Policy, error) {
	if c == nil {
		return nil, ckpf("nil checkpoint")
	}
	m := c.Meta
	cfg := Config{ObsDim: m.ObsDim, BaseDim: m.BaseObsDim, NumActions: m.NumActions,
		PiLayers: m.Arch.PiLayers, VfLayers: m.Arch.VfLayers, Activation: m.Arch.Activation}
	if err := checkMetadata(m); err != nil {
		return nil, err
	}
	if m.Arch.Adapter != cfg.HasAdapter() {
		return nil, ckpf("metadata architecture.adapter is %v but obs_dim %d and base_obs_dim %d say %v",
			m.Arch.Adapter, cfg.ObsDim, cfg.BaseDim, cfg.HasAdapter())
	}
	p, err := newPolicy(cfg, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCheckpoint, err)
	}
	ps := p.params()
	fields := p.dimFields()
	// Tensors beyond the described network first: a layer missing from the metadata is
	// named as such rather than as a shape mismatch further up.
	want := map[string]bool{}
	for _, t := range ps {
		want[t.Name] = true
	}
	for _, nt := range c.Model {
		if isParamName(nt.Name) && !want[nt.Name] {
			return nil, ckpf("%s: tensor %q is not part of the network the metadata describes (obs_dim %d, architecture %+v)",
				ModelFile, nt.Name, cfg.ObsDim, m.Arch)
		}
	}
	for i, t := range ps {
		nt, ok := c.Tensor(t.Name)
		if !ok {
			return nil, ckpf("%s: tensor %q is missing (the metadata's architecture needs it)", ModelFile, t.Name)
		}
		if nt.DType() != DTypeF32 {
			return nil, ckpf("%s: tensor %q has dtype %q, want %s", ModelFile, t.Name, nt.DType(), DTypeF32)
		}
		ws := torchShape(t)
		if len(nt.Shape) != len(ws) {
			return nil, ckpf("%s: tensor %q has shape %v, want %v", ModelFile, t.Name, nt.Shape, ws)
		}
		for k := range ws {
			if nt.Shape[k] != ws[k] {
				return nil, ckpf("%s: tensor %q has shape %v, want %v: it does not match metadata %s",
					ModelFile, t.Name, nt.Shape, ws, fields[i][k])
			}
		}
		if len(nt.F32) != t.Numel() {
			return nil, ckpf("%s: tensor %q has %d values, want %d", ModelFile, t.Name, len(nt.F32), t.Numel())
		}
		h, _ := t.Buf.HostData()
		fromTorch(t, nt.F32, h)
	}
	return p, nil
}

// LoadOptimizer restores Adam's state from c's optimizer tensors onto the policy's device.
// A parameter with none of its three tensors starts fresh (it had not stepped); a partial,
// misshapen or unknown entry is an error naming the tensor.
func (p *Policy) LoadOptimizer(c *Checkpoint) error {
	if c == nil {
		return ckpf("nil checkpoint")
	}
	ps := p.params()
	type loaded struct {
		m, v []float32
		step int
	}
	states := make([]*loaded, len(ps))
	known := map[string]bool{}
	for i, t := range ps {
		for _, suf := range []string{sufExpAvg, sufExpAvgSq, sufStep} {
			known[t.Name+suf] = true
		}
		m, okM := c.OptimizerTensor(t.Name + sufExpAvg)
		v, okV := c.OptimizerTensor(t.Name + sufExpAvgSq)
		s, okS := c.OptimizerTensor(t.Name + sufStep)
		if !okM && !okV && !okS {
			continue
		}
		if !okM || !okV || !okS {
			return ckpf("%s: %s needs %s, %s and %s together", OptimizerFile, t.Name, sufExpAvg, sufExpAvgSq, sufStep)
		}
		ws := torchShape(t)
		for _, nt := range []NamedTensor{m, v} {
			if err := CheckTensorType(nt, DTypeF32, ws...); err != nil {
				return fmt.Errorf("%s: %w", OptimizerFile, err)
			}
		}
		if err := CheckTensorType(s, DTypeI64); err != nil {
			return fmt.Errorf("%s: %w", OptimizerFile, err)
		}
		if s.I64[0] < 1 || s.I64[0] > int64(maxInt32) {
			return ckpf("%s: tensor %q: step %d must be in [1, %d]", OptimizerFile, s.Name, s.I64[0], maxInt32)
		}
		st := &loaded{m: make([]float32, t.Numel()), v: make([]float32, t.Numel()), step: int(s.I64[0])}
		fromTorch(t, m.F32, st.m)
		fromTorch(t, v.F32, st.v)
		states[i] = st
	}
	for _, nt := range c.Optimizer {
		if !known[nt.Name] {
			return ckpf("%s: tensor %q belongs to no parameter of this policy", OptimizerFile, nt.Name)
		}
	}
	eng, err := device.Open(p.Device())
	if err != nil {
		return fmt.Errorf("policy: load optimizer: %w", err)
	}
	opt := map[string]*adamState{}
	for i, t := range ps {
		st := states[i]
		if st == nil {
			continue
		}
		a := &adamState{step: st.step}
		for _, x := range []struct {
			dst **device.Buffer
			src []float32
		}{{&a.m, st.m}, {&a.v, st.v}} {
			b, err := eng.Alloc(len(x.src))
			if err == nil {
				err = eng.Upload(b, x.src)
			}
			if err != nil {
				return fmt.Errorf("%w: policy: load the Adam state of %s: %w", ErrCheckpoint, t.Name, err)
			}
			*x.dst = b
		}
		opt[t.Name] = a
	}
	p.opt = opt
	return nil
}

const maxInt32 = 1<<31 - 1

// checkMetadata validates the network fields of metadata.json, naming them as the file does.
func checkMetadata(m Metadata) error {
	switch {
	case m.BaseObsDim < 1:
		return ckpf("metadata base_obs_dim must be >= 1, got %d", m.BaseObsDim)
	case m.ObsDim < m.BaseObsDim:
		return ckpf("metadata obs_dim must be >= base_obs_dim (%d), got %d", m.BaseObsDim, m.ObsDim)
	case m.NumActions < 2:
		return ckpf("metadata num_actions must be >= 2, got %d", m.NumActions)
	case len(m.Arch.PiLayers) == 0:
		return ckpf("metadata architecture.pi_layers is empty")
	case len(m.Arch.VfLayers) == 0:
		return ckpf("metadata architecture.vf_layers is empty")
	case m.Arch.Activation != ActivationReLU && m.Arch.Activation != ActivationTanh:
		return ckpf("metadata architecture.activation must be %q or %q, got %q", ActivationReLU, ActivationTanh, m.Arch.Activation)
	}
	for _, l := range []struct {
		key string
		hs  []int
	}{{"pi_layers", m.Arch.PiLayers}, {"vf_layers", m.Arch.VfLayers}} {
		for i, h := range l.hs {
			if h < 1 {
				return ckpf("metadata architecture.%s[%d] must be >= 1, got %d", l.key, i, h)
			}
		}
	}
	return nil
}
