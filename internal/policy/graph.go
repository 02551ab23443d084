//go:build !cuda

package policy

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"hybridtrain/internal/device"
)

// graphBackend runs the layer list as gorgonia graphs on the CPU (deps-gorgonia.md gives
// the traps each rule below avoids):
//   - TapeMachine only; one graph per batch size, built on first use and cached: a
//     forward-only rollout graph and a training graph with G.Grad over every parameter;
//   - every graph shares the parameters' *tensor.Dense, built over the parameters' own host
//     slices (tensor.WithBacking), so Adam's in-place updates are seen by all graphs;
//   - our own stable masked log-softmax (G.SoftMax/LogSoftMax/LogSumExp are broken);
//   - outputs are read only through G.Read, into preallocated targets held by a struct that
//     does not point back to the VM (a Read target next to the VM leaks the whole graph);
//   - the dual-value gradients are zeroed before every RunAll (TapeMachine adds into them).
//
// It builds in float32 (training) or float64 (the finite-difference test). A float64
// backend owns float64 copies of the parameters instead of sharing their memory, and its
// gradients are read with grads64; backward is float32 only.
type graphBackend struct {
	dt     tensor.Dtype
	l      *layers
	ps     []*device.Tensor
	pvals  []*tensor.Dense // parameter values, in params() order; biases as [1, out]
	obsDim int
	nA     int
	act    map[int]*actGraph
	train  map[int]*trainGraph
	last   *trainGraph // the graph of the last evaluate, for backward
	fwd    fwdOut
}

func newGraphBackend(l *layers, obsDim, numActions int, dt tensor.Dtype) (*graphBackend, error) {
	if dt != tensor.Float32 && dt != tensor.Float64 {
		return nil, fmt.Errorf("policy: graph dtype must be float32 or float64, got %v", dt)
	}
	gb := &graphBackend{dt: dt, l: l, ps: l.params(), obsDim: obsDim, nA: numActions,
		act: map[int]*actGraph{}, train: map[int]*trainGraph{}}
	for _, p := range gb.ps {
		host, ok := p.Buf.HostData()
		if !ok || p.Device() != device.CPU {
			return nil, fmt.Errorf("policy: graph backend: parameter %s is on %s, want cpu", p.Name, p.Device())
		}
		r, c := p.Shape[0], 1
		if len(p.Shape) == 2 {
			c = p.Shape[1]
		} else {
			r, c = 1, p.Shape[0] // a bias is a [1, out] row broadcast over the batch
		}
		var d *tensor.Dense
		if dt == tensor.Float32 {
			d = tensor.New(tensor.WithShape(r, c), tensor.WithBacking(host[:r*c]))
		} else {
			b := make([]float64, r*c)
			for i := range b {
				b[i] = float64(host[i])
			}
			d = tensor.New(tensor.WithShape(r, c), tensor.WithBacking(b))
		}
		gb.pvals = append(gb.pvals, d)
	}
	return gb, nil
}

// input is a graph input whose value is a Dense over memory the backend owns; set copies
// (or converts) host float32 data into it, so no graph input is ever re-bound.
type input struct {
	node *G.Node
	f32  []float32
	f64  []float64
}

func (gb *graphBackend) newInput(g *G.ExprGraph, name string, shape ...int) *input {
	n := 1
	for _, s := range shape {
		n *= s
	}
	in := &input{}
	var d *tensor.Dense
	if gb.dt == tensor.Float32 {
		in.f32 = make([]float32, n)
		d = tensor.New(tensor.WithShape(shape...), tensor.WithBacking(in.f32))
	} else {
		in.f64 = make([]float64, n)
		d = tensor.New(tensor.WithShape(shape...), tensor.WithBacking(in.f64))
	}
	if len(shape) == 1 {
		in.node = G.NewVector(g, gb.dt, G.WithShape(shape...), G.WithValue(d), G.WithName(name))
	} else {
		in.node = G.NewMatrix(g, gb.dt, G.WithShape(shape...), G.WithValue(d), G.WithName(name))
	}
	return in
}

func (in *input) set(src []float32) {
	if in.f32 != nil {
		copy(in.f32, src)
		return
	}
	for i, v := range src[:len(in.f64)] {
		in.f64[i] = float64(v)
	}
}

// fill sets every element to v.
func (in *input) fill(v float64) {
	for i := range in.f32 {
		in.f32[i] = float32(v)
	}
	for i := range in.f64 {
		in.f64[i] = v
	}
}

// scalar is a scalar graph input, changed in place between runs.
type scalar struct {
	node *G.Node
	f32  *G.F32
	f64  *G.F64
}

func (gb *graphBackend) newScalar(g *G.ExprGraph, name string) *scalar {
	s := &scalar{}
	if gb.dt == tensor.Float32 {
		s.f32 = G.NewF32(0)
		s.node = G.NewScalar(g, gb.dt, G.WithValue(s.f32), G.WithName(name))
	} else {
		s.f64 = G.NewF64(0)
		s.node = G.NewScalar(g, gb.dt, G.WithValue(s.f64), G.WithName(name))
	}
	return s
}

func (s *scalar) set(v float64) {
	if s.f32 != nil {
		*s.f32 = G.F32(v)
	} else {
		*s.f64 = G.F64(v)
	}
}

// readTarget preallocates a G.Read destination so that reads copy instead of allocating.
func (gb *graphBackend) readTarget(shape ...int) G.Value {
	if len(shape) == 0 {
		if gb.dt == tensor.Float32 {
			return G.NewF32(0)
		}
		return G.NewF64(0)
	}
	return tensor.New(tensor.Of(gb.dt), tensor.WithShape(shape...))
}

// scalarOf reads a scalar Value.
func scalarOf(v G.Value) float64 {
	switch s := v.(type) {
	case *G.F32:
		return float64(*s)
	case *G.F64:
		return float64(*s)
	}
	return math.NaN()
}

// copyOut converts a read tensor into dst (float32).
func copyOut(dst []float32, v G.Value) {
	switch d := v.Data().(type) {
	case []float32:
		copy(dst, d)
	case []float64:
		for i := range dst {
			dst[i] = float32(d[i])
		}
	}
}

// net builds the layer list on x (rows x obsDim) and returns logits (rows x nA) and values
// (rows). ps are the graph's parameter nodes, in params() order.
func (gb *graphBackend) net(ps []*G.Node, x *G.Node, rows int) (logits, values *G.Node) {
	i := 0
	lin := func(h *G.Node) *G.Node {
		y := G.Must(G.BroadcastAdd(G.Must(G.Mul(h, ps[i])), ps[i+1], nil, []byte{0}))
		i += 2
		return y
	}
	act := func(h *G.Node) *G.Node {
		if gb.l.Activation == ActivationTanh {
			return G.Must(G.Tanh(h))
		}
		return G.Must(G.Rectify(h))
	}
	feat := x
	if gb.l.Adapter != nil {
		feat = lin(x) // no activation after the adapter
	}
	hp := feat
	for range gb.l.Pi {
		hp = act(lin(hp))
	}
	hv := feat
	for range gb.l.Vf {
		hv = act(lin(hv))
	}
	logits = lin(hp)
	values = G.Must(G.Reshape(lin(hv), tensor.Shape{rows}))
	return logits, values
}

// maskedLogSoftmax is the stable masked log-softmax: masked logits are REPLACED by -1e8
// (lm = logits*mask + negMask, negMask = (1-mask)*(-1e8)), so they get no gradient; the row
// max is subtracted before exp.
func maskedLogSoftmax(logits, mask, negMask *G.Node, rows int) *G.Node {
	lm := G.Must(G.Add(G.Must(G.HadamardProd(logits, mask)), negMask))
	mx := G.Must(G.Reshape(G.Must(G.Max(lm, 1)), tensor.Shape{rows, 1}))
	z := G.Must(G.BroadcastSub(lm, mx, nil, []byte{1}))
	lse := G.Must(G.Reshape(G.Must(G.Log(G.Must(G.Sum(G.Must(G.Exp(z)), 1)))), tensor.Shape{rows, 1}))
	return G.Must(G.BroadcastSub(z, lse, nil, []byte{1}))
}

func (gb *graphBackend) paramNodes(g *G.ExprGraph) []*G.Node {
	ns := make([]*G.Node, len(gb.pvals))
	for i, d := range gb.pvals {
		ns[i] = G.NewMatrix(g, gb.dt, G.WithShape(d.Shape()...), G.WithValue(d), G.WithName(gb.ps[i].Name))
	}
	return ns
}

// build runs f, turning the panics of G.Must into an error (graph construction only).
func build(what string, rows int, f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("policy: build the %s graph for %d rows: %v", what, rows, r)
		}
	}()
	f()
	return nil
}

// actOuts receives the rollout graph's outputs; it holds no pointer to the VM.
type actOuts struct {
	logits, logp, values G.Value
}

type actGraph struct {
	vm            G.VM
	x, mask, negM *input
	out           *actOuts
	scratch       []float32
}

func (gb *graphBackend) actGraphFor(rows int) (*actGraph, error) {
	if ag, ok := gb.act[rows]; ok {
		return ag, nil
	}
	ag := &actGraph{out: &actOuts{
		logits: gb.readTarget(rows, gb.nA), logp: gb.readTarget(rows, gb.nA), values: gb.readTarget(rows)},
		scratch: make([]float32, rows*gb.nA)}
	err := build("rollout", rows, func() {
		g := G.NewGraph()
		ps := gb.paramNodes(g)
		ag.x = gb.newInput(g, "x", rows, gb.obsDim)
		ag.mask = gb.newInput(g, "mask", rows, gb.nA)
		ag.negM = gb.newInput(g, "negmask", rows, gb.nA)
		logits, values := gb.net(ps, ag.x.node, rows)
		logp := maskedLogSoftmax(logits, ag.mask.node, ag.negM.node, rows)
		G.Read(logits, &ag.out.logits)
		G.Read(logp, &ag.out.logp)
		G.Read(values, &ag.out.values)
		ag.vm = G.NewTapeMachine(g)
	})
	if err != nil {
		return nil, err
	}
	gb.act[rows] = ag
	return ag, nil
}

// setMask writes a boolean mask as the 0/1 multiplier and the -1e8 replacement term.
func setMask(mask, negM *input, masks []bool, scratch []float32) {
	for i, m := range masks {
		scratch[i] = 0
		if m {
			scratch[i] = 1
		}
	}
	mask.set(scratch)
	for i, m := range masks {
		scratch[i] = device.MaskedLogit
		if m {
			scratch[i] = 0
		}
	}
	negM.set(scratch)
}

func (gb *graphBackend) forward(obs []float32, masks []bool, rows int) (*fwdOut, error) {
	ag, err := gb.actGraphFor(rows)
	if err != nil {
		return nil, err
	}
	gb.fwd.resize(rows, gb.nA)
	ag.x.set(obs[:rows*gb.obsDim])
	if masks == nil {
		ag.mask.fill(1)
		ag.negM.fill(0)
	} else {
		setMask(ag.mask, ag.negM, masks[:rows*gb.nA], ag.scratch)
	}
	defer ag.vm.Reset()
	if err := ag.vm.RunAll(); err != nil {
		return nil, fmt.Errorf("policy: rollout forward: %w", err)
	}
	copyOut(gb.fwd.Logits, ag.out.logits)
	copyOut(gb.fwd.Logp, ag.out.logp)
	copyOut(gb.fwd.Values, ag.out.values)
	return &gb.fwd, nil
}

// trainOuts receives the training graph's outputs; it holds no pointer to the VM.
type trainOuts struct {
	loss, pg, vf, ent G.Value // scalars: total, policy loss, value loss, entropy loss
	lpa               G.Value // rows: log pi(a|s) of the taken actions
}

type trainGraph struct {
	vm                       G.VM
	rows                     int
	params                   []*G.Node
	x, mask, negM, onehot    *input
	oldLogp, adv, ret        *input
	clipLo, clipHi, vLo, vHi *input
	entCoef, vfCoef          *scalar
	out                      *trainOuts
	ran                      bool // the dual values exist (after the first RunAll)
	scratch                  []float32
	lpa                      []float32
	grads                    []*device.Buffer
}

func (gb *graphBackend) trainGraphFor(rows int) (*trainGraph, error) {
	if tg, ok := gb.train[rows]; ok {
		return tg, nil
	}
	tg := &trainGraph{rows: rows, out: &trainOuts{
		loss: gb.readTarget(), pg: gb.readTarget(), vf: gb.readTarget(), ent: gb.readTarget(),
		lpa: gb.readTarget(rows)},
		scratch: make([]float32, rows*gb.nA), lpa: make([]float32, rows)}
	err := build("training", rows, func() {
		g := G.NewGraph()
		ps := gb.paramNodes(g)
		tg.params = ps
		tg.x = gb.newInput(g, "x", rows, gb.obsDim)
		tg.mask = gb.newInput(g, "mask", rows, gb.nA)
		tg.negM = gb.newInput(g, "negmask", rows, gb.nA)
		tg.onehot = gb.newInput(g, "onehot", rows, gb.nA)
		tg.oldLogp = gb.newInput(g, "old_logp", rows)
		tg.adv = gb.newInput(g, "adv", rows)
		tg.ret = gb.newInput(g, "returns", rows)
		tg.clipLo = gb.newInput(g, "clip_lo", rows)
		tg.clipHi = gb.newInput(g, "clip_hi", rows)
		tg.vLo = gb.newInput(g, "v_lo", rows)
		tg.vHi = gb.newInput(g, "v_hi", rows)
		tg.entCoef = gb.newScalar(g, "ent_coef")
		tg.vfCoef = gb.newScalar(g, "vf_coef")

		logits, values := gb.net(ps, tg.x.node, rows)
		logp := maskedLogSoftmax(logits, tg.mask.node, tg.negM.node, rows)
		lpa := G.Must(G.Sum(G.Must(G.HadamardProd(logp, tg.onehot.node)), 1))

		// Policy loss: -mean(min(A r, A clip(r, 1-eps, 1+eps))), clip bounds as vectors
		// because MinBetween/MaxBetween need equal shapes.
		ratio := G.Must(G.Exp(G.Must(G.Sub(lpa, tg.oldLogp.node))))
		rc := G.Must(G.MinBetween(G.Must(G.MaxBetween(ratio, tg.clipLo.node)), tg.clipHi.node))
		s1 := G.Must(G.HadamardProd(ratio, tg.adv.node))
		s2 := G.Must(G.HadamardProd(rc, tg.adv.node))
		pg := G.Must(G.Neg(G.Must(G.Mean(G.Must(G.MinBetween(s1, s2))))))

		// Value loss: mean((R - V')^2), V' = clip(V, oldV-c, oldV+c), or V when the clip is
		// off (the bounds are then +-MaxFloat, so V' = V and the gradient passes).
		vc := G.Must(G.MinBetween(G.Must(G.MaxBetween(values, tg.vLo.node)), tg.vHi.node))
		vf := G.Must(G.Mean(G.Must(G.Square(G.Must(G.Sub(tg.ret.node, vc))))))

		// Entropy loss: -mean(H), H = -sum over legal actions of p log p.
		plogp := G.Must(G.HadamardProd(G.Must(G.HadamardProd(G.Must(G.Exp(logp)), logp)), tg.mask.node))
		ent := G.Must(G.Mean(G.Must(G.Sum(plogp, 1)))) // = -mean(H)

		loss := G.Must(G.Add(pg, G.Must(G.Add(
			G.Must(G.Mul(tg.entCoef.node, ent)), G.Must(G.Mul(tg.vfCoef.node, vf))))))
		if _, err := G.Grad(loss, ps...); err != nil {
			panic(err)
		}
		G.Read(loss, &tg.out.loss)
		G.Read(pg, &tg.out.pg)
		G.Read(vf, &tg.out.vf)
		G.Read(ent, &tg.out.ent)
		G.Read(lpa, &tg.out.lpa)
		tg.vm = G.NewTapeMachine(g, G.BindDualValues(ps...))
	})
	if err != nil {
		return nil, err
	}
	gb.train[rows] = tg
	return tg, nil
}

func (gb *graphBackend) evaluate(mb *Minibatch, adv []float32, lp lossParams) (lossTerms, error) {
	rows := mb.Rows
	tg, err := gb.trainGraphFor(rows)
	if err != nil {
		return lossTerms{}, err
	}
	gb.last = nil
	tg.x.set(mb.Obs[:rows*gb.obsDim])
	setMask(tg.mask, tg.negM, mb.Masks[:rows*gb.nA], tg.scratch)
	clear(tg.scratch)
	for i, a := range mb.Actions[:rows] {
		tg.scratch[i*gb.nA+int(a)] = 1
	}
	tg.onehot.set(tg.scratch)
	tg.oldLogp.set(mb.OldLogp[:rows])
	tg.adv.set(adv[:rows])
	tg.ret.set(mb.Returns[:rows])
	tg.clipLo.fill(1 - lp.ClipRange)
	tg.clipHi.fill(1 + lp.ClipRange)
	if lp.ClipRangeVF > 0 {
		for i, v := range mb.OldValues[:rows] {
			tg.scratch[i] = v - float32(lp.ClipRangeVF)
		}
		tg.vLo.set(tg.scratch[:rows])
		for i, v := range mb.OldValues[:rows] {
			tg.scratch[i] = v + float32(lp.ClipRangeVF)
		}
		tg.vHi.set(tg.scratch[:rows])
	} else {
		big := math.MaxFloat32
		if gb.dt == tensor.Float64 {
			big = math.MaxFloat64
		}
		tg.vLo.fill(-big)
		tg.vHi.fill(big)
	}
	tg.entCoef.set(lp.EntCoef)
	tg.vfCoef.set(lp.VfCoef)

	if tg.ran {
		// TapeMachine adds into the dual values: start every run from zero gradients.
		for i, n := range tg.params {
			gv, err := n.Grad()
			if err != nil {
				return lossTerms{}, fmt.Errorf("policy: gradient of %s: %w", gb.ps[i].Name, err)
			}
			gv.(tensor.Tensor).Zero()
		}
	}
	defer tg.vm.Reset()
	if err := tg.vm.RunAll(); err != nil {
		return lossTerms{}, fmt.Errorf("policy: training forward/backward: %w", err)
	}
	tg.ran = true
	copyOut(tg.lpa, tg.out.lpa)
	t := lossTerms{
		Loss:        scalarOf(tg.out.loss),
		PolicyLoss:  scalarOf(tg.out.pg),
		ValueLoss:   scalarOf(tg.out.vf),
		EntropyLoss: scalarOf(tg.out.ent),
	}
	t.ApproxKL, t.ClipFraction = ratioStats(tg.lpa, mb.OldLogp[:rows], lp.ClipRange)
	gb.last = tg
	return t, nil
}

// ratioStats computes approx_kl = mean((r-1) - log r) and clip_fraction = mean(|r-1| > eps)
// with r = exp(logp - oldLogp), in float64.
func ratioStats(logp, oldLogp []float32, eps float64) (kl, clipFrac float64) {
	for i, l := range logp {
		lr := float64(l) - float64(oldLogp[i])
		r := math.Exp(lr)
		kl += (r - 1) - lr
		if math.Abs(r-1) > eps {
			clipFrac++
		}
	}
	n := float64(len(logp))
	return kl / n, clipFrac / n
}

// backward returns the gradients of the last evaluate (computed in the same run), as CPU
// buffers over the dual values' memory, in params() order.
func (gb *graphBackend) backward(need []bool) ([]*device.Buffer, error) {
	tg := gb.last
	if tg == nil {
		return nil, fmt.Errorf("policy: backward without a successful evaluate")
	}
	if gb.dt != tensor.Float32 {
		return nil, fmt.Errorf("policy: backward needs a float32 graph, have %v", gb.dt)
	}
	if tg.grads == nil {
		tg.grads = make([]*device.Buffer, len(tg.params))
	}
	for i, n := range tg.params {
		gv, err := n.Grad()
		if err != nil {
			return nil, fmt.Errorf("policy: gradient of %s: %w", gb.ps[i].Name, err)
		}
		data := gv.Data().([]float32)
		// The dual value's memory is stable after the first run; wrap it once.
		if b := tg.grads[i]; b == nil || !sameHost(b, data) {
			tg.grads[i] = device.NewHost(device.CPU, data)
		}
	}
	return tg.grads, nil
}

// grads64 returns the float64 gradients of the last evaluate (float64 backends; tests).
func (gb *graphBackend) grads64() ([][]float64, error) {
	if gb.last == nil {
		return nil, fmt.Errorf("policy: grads64 without a successful evaluate")
	}
	out := make([][]float64, len(gb.last.params))
	for i, n := range gb.last.params {
		gv, err := n.Grad()
		if err != nil {
			return nil, err
		}
		out[i] = gv.Data().([]float64)
	}
	return out, nil
}

func sameHost(b *device.Buffer, data []float32) bool {
	h, _ := b.HostData()
	return len(h) == len(data) && len(h) > 0 && &h[0] == &data[0]
}

func (gb *graphBackend) close() {
	for _, ag := range gb.act {
		ag.vm.Close()
	}
	for _, tg := range gb.train {
		tg.vm.Close()
	}
	gb.act, gb.train, gb.last = nil, nil, nil
}
