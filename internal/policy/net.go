package policy

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"

	"hybridtrain/internal/device"
)

// The network, written down once as a list of Linear layers that both backends walk:
//
//	x -> [adapter] -> feat
//	feat -> pi[0] -> act -> ... -> pi[n-1] -> act -> action   (logits, NumActions)
//	feat -> vf[0] -> act -> ... -> vf[n-1] -> act -> value    (V, 1)
//
// feat is the adapter's output in Phase 3 and the raw observation in Phase 2; the adapter
// has no activation after it. Weights are stored [in, out] (y = x W + b), named with
// SB3's state-dict names, in PyTorch's module order: the policy MLP's Linear layers sit at
// sequential indices 0, 2, 4, ... (an activation between each).

// linear is one Linear layer of the list.
type linear struct {
	W, B *device.Tensor // W [In, Out], B [Out]
	In   int
	Out  int
}

// layers is the list: the adapter (nil in Phase 2), the two MLPs and the two heads.
type layers struct {
	Adapter    *linear
	Pi, Vf     []linear
	Action     linear
	Value      linear
	Activation string
}

// params returns every parameter in the package's canonical order: adapter.weight,
// adapter.bias, the policy MLP, the value MLP, action_net, value_net (each weight before
// its bias). Backends return gradients in this order.
func (l *layers) params() []*device.Tensor {
	var ps []*device.Tensor
	if l.Adapter != nil {
		ps = append(ps, l.Adapter.W, l.Adapter.B)
	}
	for _, h := range l.Pi {
		ps = append(ps, h.W, h.B)
	}
	for _, h := range l.Vf {
		ps = append(ps, h.W, h.B)
	}
	return append(ps, l.Action.W, l.Action.B, l.Value.W, l.Value.B)
}

// Parameter names (SB3 state-dict names).
const (
	nameAdapter = "adapter"
	nameAction  = "action_net"
	nameValue   = "value_net"
)

func piName(i int) string { return fmt.Sprintf("mlp_extractor.policy_net.%d", 2*i) }
func vfName(i int) string { return fmt.Sprintf("mlp_extractor.value_net.%d", 2*i) }

// Orthogonal-init gains, as SB3's ActorCriticPolicy: sqrt(2) for the MLPs, 0.01 for the
// action head (near-uniform initial policy), 1 for the value head.
var (
	gainHidden = math.Sqrt2
	gainAction = 0.01
	gainValue  = 1.0
)

// newBaseLayers allocates the base network of cfg on the CPU. With rng it is initialised
// as SB3 does (orthogonal weights, zero biases), drawing the layers in parameter order;
// with a nil rng every weight is zero (for callers that overwrite them all).
func newBaseLayers(cfg Config, rng *rand.Rand) (*layers, error) {
	l := &layers{Activation: cfg.Activation}
	in := cfg.BaseDim
	for i, h := range cfg.PiLayers {
		lin, err := newLinear(piName(i), in, h, gainHidden, rng)
		if err != nil {
			return nil, err
		}
		l.Pi = append(l.Pi, lin)
		in = h
	}
	piOut := in
	in = cfg.BaseDim
	for i, h := range cfg.VfLayers {
		lin, err := newLinear(vfName(i), in, h, gainHidden, rng)
		if err != nil {
			return nil, err
		}
		l.Vf = append(l.Vf, lin)
		in = h
	}
	var err error
	if l.Action, err = newLinear(nameAction, piOut, cfg.NumActions, gainAction, rng); err != nil {
		return nil, err
	}
	if l.Value, err = newLinear(nameValue, in, 1, gainValue, rng); err != nil {
		return nil, err
	}
	return l, nil
}

// newLinear makes a CPU Linear layer named prefix.weight / prefix.bias.
func newLinear(prefix string, in, out int, gain float64, rng *rand.Rand) (linear, error) {
	w := make([]float32, in*out)
	if rng != nil {
		if err := orthogonal(w, in, out, gain, rng); err != nil {
			return linear{}, fmt.Errorf("policy: init %s.weight: %w", prefix, err)
		}
	}
	return linear{
		W:   &device.Tensor{Name: prefix + ".weight", Shape: []int{in, out}, Buf: device.NewHost(device.CPU, w)},
		B:   &device.Tensor{Name: prefix + ".bias", Shape: []int{out}, Buf: device.NewHost(device.CPU, make([]float32, out))},
		In:  in,
		Out: out,
	}, nil
}

// orthogonal fills w ([in, out] row-major) with PyTorch's orthogonal_ init of the [out, in]
// weight: a Gaussian matrix (drawn row by row from rng, in the [out, in] orientation), QR
// of it (of its transpose when out < in), Q's columns multiplied by the signs of R's
// diagonal so the result is unique, times gain. The [out, in] matrix then has orthonormal
// rows (out <= in) or columns (out > in), scaled by gain.
func orthogonal(w []float32, in, out int, gain float64, rng *rand.Rand) error {
	rows, cols := out, in
	g := mat.NewDense(rows, cols, nil)
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			g.Set(r, c, rng.NormFloat64())
		}
	}
	var a mat.Matrix = g
	m, n := rows, cols
	if rows < cols {
		a = g.T()
		m, n = cols, rows
	}
	var qr mat.QR
	qr.Factorize(a)
	var q, r mat.Dense
	qr.QTo(&q)
	qr.RTo(&r)
	// q is m x m; its first n columns span a's columns. sign(0) is taken as +1.
	for j := 0; j < n; j++ {
		s := 1.0
		if r.At(j, j) < 0 {
			s = -1
		}
		for i := 0; i < m; i++ {
			v := q.At(i, j) * s * gain
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("non-finite value from the QR")
			}
			// Element (i, j) of the m x n factor is element [o][k] of the [out, in] weight,
			// with (o, k) = (i, j) when out >= in and (j, i) after the transpose.
			o, k := i, j
			if rows < cols {
				o, k = j, i
			}
			w[k*out+o] = float32(v)
		}
	}
	return nil
}
