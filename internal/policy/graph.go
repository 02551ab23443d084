//go:build !cuda

package policy

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"hybridtrain/internal/device"
	"hybridtrain/internal/ppoloss"
)

// graphBackend runs the layer list on the CPU as a gorgonia graph of the ops in
// graph_ops.go (deps-gorgonia.md gives the gorgonia traps the design avoids):
//   - one training graph per batch size (and per set of trainable parameters), built on
//     first use: the chain of layers, the PPO loss op, and the gradient nodes gorgonia
//     derives with G.Grad through the ops' SymDiff; run on a TapeMachine, the only machine
//     whose gradients are right for this loss;
//   - no gorgonia op of its own in the graph: its elementwise ops allocate their outputs on
//     every run and its log-softmax is wrong with masks; ours write into memory the backend
//     owns, so values are reused between runs and nothing is read back through G.Read or
//     dual values (the leak and accumulation traps do not arise);
//   - the parameters' values are the parameters' own host memory (float32), so Adam's
//     in-place updates are seen by every graph;
//   - the rollout pass (forward, Values) needs neither gradients nor a tape: it runs the same
//     layers directly, one chain per batch size, which allocates nothing.
//
// It builds in float32 (training) or float64 (the finite-difference test; the parameters are
// then float64 copies, and gradients are read with grads64).
type graphBackend[T num] struct {
	k      *kernels[T]
	l      *layers
	ps     []*device.Tensor
	params []*dense[T] // in params() order; a bias is a [1, out] row
	obsDim int
	nA     int
	act    map[int]*chain[T]
	train  map[trainKey]*trainGraph[T]
	last   *trainGraph[T] // the graph of the last evaluate, for backward
	fwd    fwdOut
	// per-row scratch of the rollout pass
	legal                []bool
	logits, logp, prob64 []float64
}

// trainKey identifies a training graph: the batch size and which parameter groups train
// (the base is frozen during the adapter warm-up; an adapter may be frozen).
type trainKey struct {
	rows                    int
	adapterTrain, baseTrain bool
}

func newGraphBackend[T num](k *kernels[T], l *layers, obsDim, numActions int) (*graphBackend[T], error) {
	gb := &graphBackend[T]{k: k, l: l, ps: l.params(), obsDim: obsDim, nA: numActions,
		act: map[int]*chain[T]{}, train: map[trainKey]*trainGraph[T]{},
		legal: make([]bool, numActions), logits: make([]float64, numActions),
		logp: make([]float64, numActions), prob64: make([]float64, numActions)}
	for i := range gb.legal {
		gb.legal[i] = true
	}
	for _, p := range gb.ps {
		host, ok := p.Buf.HostData()
		if !ok || p.Device() != device.CPU {
			return nil, fmt.Errorf("policy: graph backend: parameter %s is on %s, want cpu", p.Name, p.Device())
		}
		r, c := 1, p.Shape[0] // a bias is a [1, out] row
		if len(p.Shape) == 2 {
			r, c = p.Shape[0], p.Shape[1]
		}
		var m *dense[T]
		if d, ok := any(host[:r*c]).([]T); ok {
			m = matOver(r, c, d) // float32: the parameter's own memory
		} else {
			m = newMat[T](r, c)
			for i, v := range host[:r*c] {
				m.data[i] = T(v)
			}
		}
		gb.params = append(gb.params, m)
	}
	return gb, nil
}

func newMat[T num](rows, cols int) *dense[T] { return matOver(rows, cols, make([]T, rows*cols)) }

func matOver[T num](rows, cols int, data []T) *dense[T] {
	return &dense[T]{rows: rows, cols: cols, data: data,
		val: tensor.New(tensor.WithShape(rows, cols), tensor.WithBacking(data))}
}

// chain is the layer list for one batch size: x, the layers, and the heads' output.
type chain[T num] struct {
	x      *dense[T]
	layers []*layer[T]
}

func (c *chain[T]) heads() *dense[T] { return c.layers[len(c.layers)-1].out }

// paramIndex locates the parameters of the layer list in params() order.
type paramIndex struct{ adapter, pi, vf, action, value int }

func (gb *graphBackend[T]) index() paramIndex {
	i := paramIndex{adapter: -1}
	n := 0
	if gb.l.Adapter != nil {
		i.adapter, n = 0, 2
	}
	i.pi = n
	i.vf = i.pi + 2*len(gb.l.Pi)
	i.action = i.vf + 2*len(gb.l.Vf)
	i.value = i.action + 2
	return i
}

// newChain lays out the layers for rows rows. train[i] says whether parameter i (params()
// order) takes gradients; nil means none does (the rollout chain).
func (gb *graphBackend[T]) newChain(rows int, train []bool, alloc func(r, c int) *dense[T]) *chain[T] {
	idx := gb.index()
	trains := func(i int) bool { return train != nil && train[i] }
	c := &chain[T]{x: alloc(rows, gb.obsDim)}
	below := false // some trainable parameter lies below the current input
	add := func(name string, in *dense[T], outCols int, shared bool, sides []side[T]) *dense[T] {
		l := &layer[T]{k: gb.k, name: name, rows: rows, in: in, out: alloc(rows, outCols), sides: sides,
			shared: shared, inputGrad: below}
		for _, s := range sides {
			below = below || (s.w != nil && s.train)
		}
		c.layers = append(c.layers, l)
		return l.out
	}
	lin := func(name string, wi int, inOff, in, outOff, out int, act actKind) side[T] {
		return side[T]{name: name, w: gb.params[wi], b: gb.params[wi+1], wIdx: wi, inOff: inOff, in: in,
			outOff: outOff, out: out, act: act, train: trains(wi)}
	}
	act := actReLU
	if gb.l.Activation == ActivationTanh {
		act = actTanh
	}

	h := c.x
	if a := gb.l.Adapter; a != nil {
		h = add("adapter", h, a.Out, true, []side[T]{lin(a.W.Name, idx.adapter, 0, a.In, 0, a.Out, actNone)})
	}
	// The hidden layers: both branches read all of h at depth 0, their own columns after.
	feat := h.cols
	piOff, piW, vfOff, vfW := 0, feat, 0, feat
	for d := 0; d < max(len(gb.l.Pi), len(gb.l.Vf)); d++ {
		sides := make([]side[T], 2)
		outPi := piW
		if d < len(gb.l.Pi) {
			p := gb.l.Pi[d]
			outPi = p.Out
			sides[0] = lin(p.W.Name, idx.pi+2*d, piOff, piW, 0, outPi, act)
		} else {
			sides[0] = side[T]{name: "policy branch", wIdx: -1, inOff: piOff, in: piW, outOff: 0, out: piW}
		}
		outVf := vfW
		if d < len(gb.l.Vf) {
			v := gb.l.Vf[d]
			outVf = v.Out
			sides[1] = lin(v.W.Name, idx.vf+2*d, vfOff, vfW, outPi, outVf, act)
		} else {
			sides[1] = side[T]{name: "value branch", wIdx: -1, inOff: vfOff, in: vfW, outOff: outPi, out: vfW}
		}
		h = add(fmt.Sprintf("hidden %d", d), h, outPi+outVf, d == 0, sides)
		piOff, piW, vfOff, vfW = 0, outPi, outPi, outVf
	}
	add("heads", h, gb.nA+1, false, []side[T]{
		lin(gb.l.Action.W.Name, idx.action, piOff, piW, 0, gb.nA, actNone),
		lin(gb.l.Value.W.Name, idx.value, vfOff, vfW, gb.nA, 1, actNone),
	})
	return c
}

// setX copies host observations into the chain's input.
func setX[T num](x *dense[T], obs []float32) {
	for i, v := range obs[:len(x.data)] {
		x.data[i] = T(v)
	}
}

// forward is the rollout pass: the chain for rows, run directly, then the masked
// log-softmax of each row (the loss's own, so rollouts and the loss define the distribution
// identically).
func (gb *graphBackend[T]) forward(obs []float32, masks []bool, rows int) (*fwdOut, error) {
	c, ok := gb.act[rows]
	if !ok {
		c = gb.newChain(rows, nil, newMat[T])
		gb.act[rows] = c
	}
	setX(c.x, obs)
	for _, l := range c.layers {
		l.forward()
	}
	nA := gb.nA
	gb.fwd.resize(rows, nA)
	heads := c.heads().data
	for r := range rows {
		h := heads[r*(nA+1) : (r+1)*(nA+1)]
		legal := gb.legal
		if masks != nil {
			legal = masks[r*nA : (r+1)*nA]
		}
		for j := range nA {
			gb.logits[j] = float64(h[j])
			gb.fwd.Logits[r*nA+j] = float32(h[j])
		}
		ppoloss.MaskedLogSoftmax(gb.logp, gb.prob64, gb.logits, legal)
		for j, v := range gb.logp {
			gb.fwd.Logp[r*nA+j] = float32(v)
		}
		gb.fwd.Values[r] = float32(h[nA])
	}
	return &gb.fwd, nil
}

// trainGraph is one batch size's training graph and the memory it runs in.
type trainGraph[T num] struct {
	key   trainKey
	vm    G.VM
	c     *chain[T]
	loss  *lossOp[T]
	need  []bool           // which parameters get gradients, params() order
	grads []*dense[T]      // their gradients (nil for the others)
	bufs  []*device.Buffer // float32: grads as CPU buffers, a zero buffer for the others
}

// graphBuilder makes the ops of one graph: unique ids, the matrices they write, and the
// matrix behind each node.
type graphBuilder[T num] struct {
	k      *kernels[T]
	nextID int
	inputs map[*G.Node]*dense[T]
	linear map[*layer[T]][]int // a layer's side -> its position among the sides with weights
}

func (b *graphBuilder[T]) newMat(rows, cols int) *dense[T] { return newMat[T](rows, cols) }

// base returns the opBase of a new op writing out (nil: a scalar) from inputs of the given
// dimensions, checked against expect.
func (b *graphBuilder[T]) base(name string, dims []int, out *dense[T], expect ...G.Value) opBase {
	b.nextID++
	o := opBase{id: b.nextID, name: name, dt: b.k.dtype, inDims: dims, expect: expect}
	if out != nil {
		o.shape = tensor.Shape{out.rows, out.cols}
	}
	return o
}

// matOf returns the matrix behind a node: an op's output or a graph input.
func (b *graphBuilder[T]) matOf(n *G.Node) (*dense[T], error) {
	if p, ok := n.Op().(producer[T]); ok {
		return p.output(), nil
	}
	if m, ok := b.inputs[n]; ok {
		return m, nil
	}
	return nil, fmt.Errorf("policy: graph node %v is not one the backend built", n)
}

// linearIndex is side i's position among the sides of l that have weights (its w and b
// are the layer op's inputs 1+2k and 2+2k).
func (b *graphBuilder[T]) linearIndex(l *layer[T], i int) int { return b.linear[l][i] }

// trainKeyOf reduces need (params() order) to the two groups the policy freezes; a group
// trains if any of its parameters does.
func (gb *graphBackend[T]) trainKeyOf(rows int, need []bool) trainKey {
	k := trainKey{rows: rows}
	if need == nil {
		return trainKey{rows: rows, adapterTrain: gb.l.Adapter != nil, baseTrain: true}
	}
	for i, n := range need {
		if gb.l.Adapter != nil && i < 2 {
			k.adapterTrain = k.adapterTrain || n
		} else {
			k.baseTrain = k.baseTrain || n
		}
	}
	return k
}

func (gb *graphBackend[T]) trainGraphFor(k trainKey) (*trainGraph[T], error) {
	if tg, ok := gb.train[k]; ok {
		return tg, nil
	}
	tg := &trainGraph[T]{key: k, need: make([]bool, len(gb.ps))}
	for i := range tg.need {
		if gb.l.Adapter != nil && i < 2 {
			tg.need[i] = k.adapterTrain
		} else {
			tg.need[i] = k.baseTrain
		}
	}
	err := build("training", k.rows, func() error { return gb.buildTrain(tg) })
	if err != nil {
		return nil, err
	}
	gb.train[k] = tg
	return tg, nil
}

// buildTrain builds tg's graph: input and parameter nodes over the backend's memory, one
// layer op per layer, the loss op, and G.Grad over the trainable parameters.
func (gb *graphBackend[T]) buildTrain(tg *trainGraph[T]) error {
	rows := tg.key.rows
	b := &graphBuilder[T]{k: gb.k, inputs: map[*G.Node]*dense[T]{}, linear: map[*layer[T]][]int{}}
	tg.c = gb.newChain(rows, tg.need, b.newMat)
	g := G.NewGraph()
	dt := gb.k.dtype
	input := func(m *dense[T], name string) *G.Node {
		n := G.NewMatrix(g, dt, G.WithShape(m.rows, m.cols), G.WithValue(m.val), G.WithName(name))
		b.inputs[n] = m
		return n
	}
	pn := make([]*G.Node, len(gb.params))
	for i, m := range gb.params {
		pn[i] = input(m, gb.ps[i].Name)
	}
	h := input(tg.c.x, "x")
	for _, l := range tg.c.layers {
		ins, dims, vals := G.Nodes{h}, []int{2}, []G.Value{l.in.val}
		pos := make([]int, len(l.sides))
		k := 0
		for i, s := range l.sides {
			pos[i] = -1
			if s.w == nil {
				continue
			}
			pos[i] = k
			k++
			ins = append(ins, pn[s.wIdx], pn[s.wIdx+1])
			dims = append(dims, 2, 2)
			vals = append(vals, s.w.val, s.b.val)
		}
		b.linear[l] = pos
		op := &layerOp[T]{l: l, b: b}
		op.opBase = b.base(l.name, dims, l.out, vals...)
		var err error
		if h, err = G.ApplyOp(op, ins...); err != nil {
			return err
		}
	}
	heads := tg.c.heads()
	lo := &lossOp[T]{b: b, heads: heads, dHeads: b.newMat(heads.rows, heads.cols), nA: gb.nA,
		logits: make([]float64, gb.nA), logp: make([]float64, gb.nA), prob: make([]float64, gb.nA),
		dLogits: make([]float64, gb.nA)}
	lo.opBase = b.base("ppo loss", []int{2}, nil, heads.val)
	switch any(lo).(type) {
	case *lossOp[float32]:
		v := G.NewF32(0)
		lo.val, lo.set = v, func(x float64) { *v = G.F32(x) }
	default:
		v := G.NewF64(0)
		lo.val, lo.set = v, func(x float64) { *v = G.F64(x) }
	}
	loss, err := G.ApplyOp(lo, h)
	if err != nil {
		return err
	}
	tg.loss = lo
	var wrt []*G.Node
	for i, n := range pn {
		if tg.need[i] {
			wrt = append(wrt, n)
		}
	}
	gs, err := G.Grad(loss, wrt...)
	if err != nil {
		return err
	}
	tg.grads = make([]*dense[T], len(gb.params))
	j := 0
	for i := range gb.params {
		if !tg.need[i] {
			continue
		}
		p, ok := gs[j].Op().(producer[T])
		if !ok {
			return fmt.Errorf("gradient of %s is computed by %v, not by one of the backend's ops", gb.ps[i].Name, gs[j].Op())
		}
		tg.grads[i] = p.output()
		j++
	}
	if f32, ok := any(tg.grads).([]*dense[float32]); ok {
		tg.bufs = make([]*device.Buffer, len(f32))
		for i, m := range f32 {
			if m != nil {
				tg.bufs[i] = device.NewHost(device.CPU, m.data)
			} else {
				tg.bufs[i] = device.NewHost(device.CPU, make([]float32, gb.ps[i].Numel()))
			}
		}
	}
	tg.vm = G.NewTapeMachine(g)
	return nil
}

// build runs f, turning errors and the panics of graph construction into one error.
func build(what string, rows int, f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("policy: build the %s graph for %d rows: %v", what, rows, r)
		}
	}()
	if err := f(); err != nil {
		return fmt.Errorf("policy: build the %s graph for %d rows: %w", what, rows, err)
	}
	return nil
}

func (gb *graphBackend[T]) evaluate(mb *Minibatch, adv []float32, lp lossParams, need []bool) (lossTerms, error) {
	gb.last = nil
	tg, err := gb.trainGraphFor(gb.trainKeyOf(mb.Rows, need))
	if err != nil {
		return lossTerms{}, err
	}
	setX(tg.c.x, mb.Obs)
	tg.loss.ctx = lossCtx{mb: mb, adv: adv, p: lp}
	defer func() {
		tg.loss.ctx = lossCtx{} // do not keep the caller's minibatch alive
		tg.vm.Reset()
	}()
	if err := tg.vm.RunAll(); err != nil {
		return lossTerms{}, fmt.Errorf("policy: training forward/backward: %w", err)
	}
	gb.last = tg
	return tg.loss.terms, nil
}

// backward returns the gradients of the last evaluate (computed in the same run), as CPU
// buffers over the gradient ops' memory, in params() order; a parameter that took no
// gradient gets a zero buffer, and asking for its gradient is an error.
func (gb *graphBackend[T]) backward(need []bool) ([]*device.Buffer, error) {
	tg := gb.last
	if tg == nil {
		return nil, fmt.Errorf("policy: backward without a successful evaluate")
	}
	if tg.bufs == nil {
		return nil, fmt.Errorf("policy: backward needs a float32 graph, have %v", gb.k.dtype)
	}
	for i, n := range need {
		if n && !tg.need[i] {
			return nil, fmt.Errorf("policy: backward: the gradient of %s was not computed (evaluate was told it is frozen)", gb.ps[i].Name)
		}
	}
	return tg.bufs, nil
}

// grads64 returns the gradients of the last evaluate as float64 (tests), nil for
// parameters that took none.
func (gb *graphBackend[T]) grads64() ([][]float64, error) {
	if gb.last == nil {
		return nil, fmt.Errorf("policy: grads64 without a successful evaluate")
	}
	out := make([][]float64, len(gb.last.grads))
	for i, m := range gb.last.grads {
		if m == nil {
			continue
		}
		out[i] = make([]float64, len(m.data))
		for j, v := range m.data {
			out[i][j] = float64(v)
		}
	}
	return out, nil
}

func (gb *graphBackend[T]) close() {
	for _, tg := range gb.train {
		tg.vm.Close()
	}
	gb.act, gb.train, gb.last = nil, nil, nil
}
