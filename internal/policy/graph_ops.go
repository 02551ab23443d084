//go:build !cuda

package policy

import (
	"fmt"
	"hash"
	"hash/fnv"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"hybridtrain/internal/ppoloss"
)

// The gorgonia ops of the CPU backend. gorgonia builds the graph from them, differentiates
// it symbolically (each op's SymDiff returns the nodes of its gradients, made of the
// backward ops below) and runs it on a TapeMachine. Every op writes into a matrix the
// backend allocated when it built the graph and returns that matrix's value, so a run of
// the graph allocates no tensors: gorgonia's own ops allocate their output on every run
// (TapeMachine.Reset drops its registers), which was most of the garbage of an update. An
// op is checked to receive exactly the values it was built over, so reading its operands
// from the backend's slices instead of the Values cannot go wrong silently.
//
// The ops do not overwrite their inputs and call nothing external, so gorgonia never
// writes into the backend's memory itself; each op hashes by a unique id, so gorgonia
// never merges two of them.

// opBase is what every op shares: identity, types and shape.
type opBase struct {
	id     int
	name   string
	dt     tensor.Dtype
	inDims []int        // 0 = scalar, 2 = matrix, per input
	shape  tensor.Shape // the output's; empty = scalar
	expect []G.Value    // the value of each input; nil = not checked (a constant)
}

func (o *opBase) Arity() int { return len(o.inDims) }

func typeOf(dims int, dt tensor.Dtype) hm.Type {
	if dims == 0 {
		return dt
	}
	return G.TensorType{Dims: dims, Of: dt}
}

func (o *opBase) Type() hm.Type {
	ts := make([]hm.Type, 0, len(o.inDims)+1)
	for _, d := range o.inDims {
		ts = append(ts, typeOf(d, o.dt))
	}
	return hm.NewFnType(append(ts, typeOf(len(o.shape), o.dt))...)
}

func (o *opBase) InferShape(...G.DimSizer) (tensor.Shape, error) {
	if len(o.shape) == 0 {
		return tensor.ScalarShape(), nil
	}
	return o.shape.Clone(), nil
}

func (o *opBase) ReturnsPtr() bool      { return true }
func (o *opBase) CallsExtern() bool     { return false }
func (o *opBase) OverwritesInput() int  { return -1 }
func (o *opBase) WriteHash(h hash.Hash) { fmt.Fprintf(h, "hybridtrain/policy.%s#%d", o.name, o.id) }
func (o *opBase) String() string        { return o.name }

func (o *opBase) Hashcode() uint32 {
	h := fnv.New32a()
	o.WriteHash(h)
	return h.Sum32()
}

// check verifies that the op runs on the values it was built over.
func (o *opBase) check(vals []G.Value) error {
	if len(vals) != len(o.expect) {
		return fmt.Errorf("policy: op %s: %d inputs, want %d", o.name, len(vals), len(o.expect))
	}
	for i, v := range vals {
		if o.expect[i] != nil && v != o.expect[i] {
			return fmt.Errorf("policy: op %s: input %d is not the value the graph was built over", o.name, i)
		}
	}
	return nil
}

// producer is an op that writes a matrix: the builder finds the matrix behind a node
// through it.
type producer[T num] interface {
	output() *dense[T]
}

// layerOp is one layer of the chain: inputs (h, then w and b of each side with a layer).
type layerOp[T num] struct {
	opBase
	l *layer[T]
	b *graphBuilder[T]
}

func (o *layerOp[T]) output() *dense[T] { return o.l.out }

func (o *layerOp[T]) Do(vals ...G.Value) (G.Value, error) {
	if err := o.check(vals); err != nil {
		return nil, err
	}
	o.l.forward()
	return o.l.out.val, nil
}

func (o *layerOp[T]) DiffWRT(n int) []bool {
	d := make([]bool, 0, n)
	d = append(d, o.l.inputGrad)
	for _, s := range o.l.sides {
		if s.w != nil {
			d = append(d, s.train, s.train)
		}
	}
	return d
}

// SymDiff returns the gradient nodes of the layer's inputs: through the activation (when
// some side has one), the input gradient when the input needs one, and each trainable
// side's weight and bias gradients.
func (o *layerOp[T]) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	b, l := o.b, o.l
	g, err := b.matOf(grad)
	if err != nil {
		return nil, err
	}
	dzNode, dz := grad, g
	if l.hasAct() {
		op := &actGradOp[T]{l: l, g: g, out: b.newMat(l.rows, l.out.cols)}
		op.opBase = b.base(l.name+" activation backward", []int{2, 2}, op.out, g.val, l.out.val)
		if dzNode, err = G.ApplyOp(op, grad, output); err != nil {
			return nil, err
		}
		dz = op.out
	}
	ret := make(G.Nodes, len(inputs))
	if l.inputGrad {
		op := &inputGradOp[T]{l: l, dz: dz, out: b.newMat(l.rows, l.in.cols)}
		ins, dims, vals := G.Nodes{dzNode}, []int{2}, []G.Value{dz.val}
		for i, s := range l.sides {
			if s.w != nil {
				ins, dims, vals = append(ins, inputs[1+2*b.linearIndex(l, i)]), append(dims, 2), append(vals, s.w.val)
			}
		}
		op.opBase = b.base(l.name+" input gradient", dims, op.out, vals...)
		if ret[0], err = G.ApplyOp(op, ins...); err != nil {
			return nil, err
		}
	}
	for i, s := range l.sides {
		if s.w == nil || !s.train {
			continue
		}
		at := 1 + 2*b.linearIndex(l, i)
		wop := &weightGradOp[T]{l: l, side: i, dz: dz, out: b.newMat(s.in, s.out)}
		wop.opBase = b.base(s.name+" weight gradient", []int{2, 2}, wop.out, l.in.val, dz.val)
		if ret[at], err = G.ApplyOp(wop, inputs[0], dzNode); err != nil {
			return nil, err
		}
		bop := &biasGradOp[T]{l: l, side: i, dz: dz, out: b.newMat(1, s.out), acc: make([]float64, s.out)}
		bop.opBase = b.base(s.name+" bias gradient", []int{2}, bop.out, dz.val)
		if ret[at+1], err = G.ApplyOp(bop, dzNode); err != nil {
			return nil, err
		}
	}
	return ret, nil
}

// actGradOp: (g, y) -> dz, the gradient through the layer's activations.
type actGradOp[T num] struct {
	opBase
	l      *layer[T]
	g, out *dense[T]
}

func (o *actGradOp[T]) output() *dense[T] { return o.out }

func (o *actGradOp[T]) Do(vals ...G.Value) (G.Value, error) {
	if err := o.check(vals); err != nil {
		return nil, err
	}
	o.l.actBackward(o.out, o.g)
	return o.out.val, nil
}

// inputGradOp: (dz, w...) -> dh, the gradient with respect to the layer's input.
type inputGradOp[T num] struct {
	opBase
	l       *layer[T]
	dz, out *dense[T]
}

func (o *inputGradOp[T]) output() *dense[T] { return o.out }

func (o *inputGradOp[T]) Do(vals ...G.Value) (G.Value, error) {
	if err := o.check(vals); err != nil {
		return nil, err
	}
	o.l.inputBackward(o.out, o.dz)
	return o.out.val, nil
}

// weightGradOp: (h, dz) -> dw of one side.
type weightGradOp[T num] struct {
	opBase
	l       *layer[T]
	side    int
	dz, out *dense[T]
}

func (o *weightGradOp[T]) output() *dense[T] { return o.out }

func (o *weightGradOp[T]) Do(vals ...G.Value) (G.Value, error) {
	if err := o.check(vals); err != nil {
		return nil, err
	}
	o.l.weightBackward(o.side, o.out, o.dz)
	return o.out.val, nil
}

// biasGradOp: dz -> db of one side.
type biasGradOp[T num] struct {
	opBase
	l       *layer[T]
	side    int
	dz, out *dense[T]
	acc     []float64
}

func (o *biasGradOp[T]) output() *dense[T] { return o.out }

func (o *biasGradOp[T]) Do(vals ...G.Value) (G.Value, error) {
	if err := o.check(vals); err != nil {
		return nil, err
	}
	o.l.biasBackward(o.side, o.out, o.dz, o.acc)
	return o.out.val, nil
}

// lossCtx is the minibatch the loss op reads on its next run. It is context rather than
// graph input: none of it is differentiated, and masks and actions are bool and int data
// that gorgonia's float graph has no use for.
type lossCtx struct {
	mb  *Minibatch
	adv []float32
	p   lossParams
}

// lossOp: heads [logits | value] -> the minibatch's total loss (internal/ppoloss). It also keeps
// the loss terms and the gradient with respect to the heads (already divided by the
// number of rows), which lossGradOp hands back to gorgonia.
type lossOp[T num] struct {
	opBase
	b             *graphBuilder[T]
	heads, dHeads *dense[T]
	nA            int
	ctx           lossCtx
	terms         lossTerms
	val           G.Value // the scalar output
	set           func(float64)
	// per-row float64 scratch
	logits, logp, prob, dLogits []float64
}

func (o *lossOp[T]) Do(vals ...G.Value) (G.Value, error) {
	if err := o.check(vals); err != nil {
		return nil, err
	}
	c := o.ctx
	if c.mb == nil {
		return nil, fmt.Errorf("policy: op %s: no minibatch", o.name)
	}
	nA, rows := o.nA, o.heads.rows
	inv := 1 / float64(rows)
	var sums ppoloss.Sums
	for i := range rows {
		h := o.heads.data[i*(nA+1) : (i+1)*(nA+1)]
		for j := range nA {
			o.logits[j] = float64(h[j])
		}
		r := ppoloss.Row{Logits: o.logits, Legal: c.mb.Masks[i*nA : (i+1)*nA], Action: int(c.mb.Actions[i]),
			Value: float64(h[nA]), OldLogp: float64(c.mb.OldLogp[i]), Adv: float64(c.adv[i]),
			Return: float64(c.mb.Returns[i])}
		if c.p.ClipRangeVF > 0 {
			r.OldValue = float64(c.mb.OldValues[i])
		}
		t, dv := ppoloss.Sample(&r, c.p, o.logp, o.prob, o.dLogits)
		sums.Add(t)
		d := o.dHeads.data[i*(nA+1) : (i+1)*(nA+1)]
		for j, g := range o.dLogits {
			d[j] = T(g * inv)
		}
		d[nA] = T(dv * inv)
	}
	o.terms = sums.Means(c.p)
	o.set(o.terms.Loss)
	return o.val, nil
}

func (o *lossOp[T]) DiffWRT(int) []bool { return []bool{true} }

func (o *lossOp[T]) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	op := &lossGradOp[T]{loss: o, out: o.b.newMat(o.heads.rows, o.heads.cols)}
	// The loss's output is an input only to order the two: the gradient seed is a constant
	// that does not depend on the loss node (so it is not checked either).
	op.opBase = o.b.base("loss gradient", []int{0, 0}, op.out, o.val, nil)
	n, err := G.ApplyOp(op, output, grad)
	if err != nil {
		return nil, err
	}
	return G.Nodes{n}, nil
}

// lossGradOp: (loss, seed) -> seed * d loss / d heads.
type lossGradOp[T num] struct {
	opBase
	loss *lossOp[T]
	out  *dense[T]
}

func (o *lossGradOp[T]) output() *dense[T] { return o.out }

func (o *lossGradOp[T]) Do(vals ...G.Value) (G.Value, error) {
	if err := o.check(vals); err != nil {
		return nil, err
	}
	s, ok := scalarOf(vals[1])
	if !ok {
		return nil, fmt.Errorf("policy: op %s: the gradient seed is a %T, want a scalar", o.name, vals[1])
	}
	seed := T(s)
	for i, d := range o.loss.dHeads.data {
		o.out.data[i] = seed * d
	}
	return o.out.val, nil
}

// scalarOf reads a scalar value (the gradient seed).
func scalarOf(v G.Value) (float64, bool) {
	switch s := v.(type) {
	case *G.F32:
		return float64(*s), true
	case *G.F64:
		return float64(*s), true
	}
	return 0, false
}
