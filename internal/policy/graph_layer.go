//go:build !cuda

package policy

import "gorgonia.org/tensor"

// The network as the CPU backend computes it: a chain of layers over matrices the backend
// owns, each layer running both branches (policy and value) side by side:
//
//	x -> [adapter] -> hidden 0 -> ... -> hidden D-1 -> heads -> [logits | value]
//
// A layer's output holds the two branches' activations next to each other, [pi | vf]. The
// first layer after the input (or the adapter) reads all of its input in both branches
// ("shared"); later layers read their branch's columns. A branch shallower than the other
// passes its columns through unchanged at the depths it has no layer. Running the branches
// as one chain means no node of the gorgonia graph has two consumers, so gorgonia never
// inserts its own gradient sums (ReduceAdd allocates a tensor per run); the gradient
// reaching the shared features is summed by the first layer's input gradient (GEMM with
// beta = 1).

// actKind is a layer side's activation.
type actKind uint8

const (
	actNone actKind = iota
	actReLU
	actTanh
)

// dense is a row-major matrix in memory the backend owns, with the gorgonia value over that
// memory (the ops hand these values to gorgonia and read and write the slices directly).
type dense[T num] struct {
	rows, cols int
	data       []T
	val        *tensor.Dense
}

// side is one branch's part of a layer.
type side[T num] struct {
	name        string    // the weight's parameter name, or the branch for a pass-through
	w, b        *dense[T] // nil w: no layer at this depth, the columns pass through
	wIdx        int       // index of w in params() order (b is wIdx+1); -1 for a pass-through
	inOff, in   int       // the columns of the layer's input the side reads
	outOff, out int       // the columns of the layer's output it writes
	act         actKind
	train       bool // w and b get gradients
}

// layer is one step of the chain.
type layer[T num] struct {
	k       *kernels[T]
	name    string
	rows    int
	in, out *dense[T]
	sides   []side[T]
	shared  bool // every side reads all of in
	// inputGrad: the input needs a gradient (some trainable parameter lies below it).
	inputGrad bool
}

// hasAct reports whether some side has an activation (otherwise the gradient reaching the
// output is the gradient of the pre-activation, and no activation backward is needed).
func (l *layer[T]) hasAct() bool {
	for _, s := range l.sides {
		if s.act != actNone {
			return true
		}
	}
	return false
}

// rowOf returns columns [off, off+n) of row r of m.
func rowOf[T num](m *dense[T], r, off, n int) []T {
	i := r*m.cols + off
	return m.data[i : i+n]
}

// forward computes out from in: per side, out = act(in W + b), or a copy for a
// pass-through.
func (l *layer[T]) forward() {
	in, out := l.in, l.out
	for i := range l.sides {
		s := &l.sides[i]
		if s.w == nil {
			for r := range l.rows {
				copy(rowOf(out, r, s.outOff, s.out), rowOf(in, r, s.inOff, s.in))
			}
			continue
		}
		l.k.gemm(false, false, l.rows, s.out, s.in, in.data[s.inOff:], in.cols, s.w.data, s.out, 0, out.data[s.outOff:], out.cols)
		for r := range l.rows {
			y := rowOf(out, r, s.outOff, s.out)
			switch s.act {
			case actReLU:
				l.k.addBiasReLU(y, s.b.data)
			case actTanh:
				addBiasTanh(y, s.b.data)
			default:
				l.k.addBias(y, s.b.data)
			}
		}
	}
}

// actBackward sets dz, the gradient with respect to each side's pre-activation, from g, the
// gradient with respect to the output (a copy where a side has no activation).
func (l *layer[T]) actBackward(dz, g *dense[T]) {
	for i := range l.sides {
		s := &l.sides[i]
		for r := range l.rows {
			d, gr, y := rowOf(dz, r, s.outOff, s.out), rowOf(g, r, s.outOff, s.out), rowOf(l.out, r, s.outOff, s.out)
			switch s.act {
			case actReLU:
				l.k.reluGrad(d, gr, y)
			case actTanh:
				tanhGrad(d, gr, y)
			default:
				copy(d, gr)
			}
		}
	}
}

// inputBackward sets dh, the gradient with respect to the layer's input, from dz: dz W^T per
// side into the side's input columns; with a shared input the sides' contributions add up.
func (l *layer[T]) inputBackward(dh, dz *dense[T]) {
	for i := range l.sides {
		s := &l.sides[i]
		first := i == 0 || !l.shared
		if s.w == nil {
			for r := range l.rows {
				d, g := rowOf(dh, r, s.inOff, s.in), rowOf(dz, r, s.outOff, s.out)
				if first {
					copy(d, g)
				} else {
					addBiasLoop(d, g)
				}
			}
			continue
		}
		var beta T
		if !first {
			beta = 1
		}
		l.k.gemm(false, true, l.rows, s.in, s.out, dz.data[s.outOff:], dz.cols, s.w.data, s.out, beta, dh.data[s.inOff:], dh.cols)
	}
}

// weightBackward sets dw = in^T dz over side i's columns.
func (l *layer[T]) weightBackward(i int, dw, dz *dense[T]) {
	s := &l.sides[i]
	l.k.gemm(true, false, s.in, s.out, l.rows, l.in.data[s.inOff:], l.in.cols, dz.data[s.outOff:], dz.cols, 0, dw.data, s.out)
}

// biasBackward sets db to the column sums of dz over side i's columns, accumulated in float64
// (acc is scratch of the side's width) in row order.
func (l *layer[T]) biasBackward(i int, db, dz *dense[T], acc []float64) {
	s := &l.sides[i]
	clear(acc)
	for r := range l.rows {
		l.k.addTo64(acc, rowOf(dz, r, s.outOff, s.out))
	}
	for j, v := range acc {
		db.data[j] = T(v)
	}
}
