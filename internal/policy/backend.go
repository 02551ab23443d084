package policy

import (
	"hybridtrain/internal/device"
	"hybridtrain/internal/ppoloss"
)

// backend runs the layer list (net.go) on one device. The policy picks it from the
// parameters' device: the gorgonia graph on the CPU, the device kernels anywhere else. The
// policy keeps everything that is not the network's math (validation, masks, sampling,
// advantage normalisation, the KL early stop, the gradient-norm clip and Adam through the
// device engine), so a new device needs a backend and nothing else.
type backend interface {
	// forward runs the rollout pass on rows host observations and host masks (nil = every
	// action legal) and returns host logits, masked log-probs and values, valid until the
	// next call.
	forward(obs []float32, masks []bool, rows int) (*fwdOut, error)
	// evaluate computes the PPO loss terms of mb with the (already normalised) advantages.
	// need says which parameters (params() order) the following backward will be asked
	// for, nil meaning all of them; a backend may compute their gradients here already.
	evaluate(mb *Minibatch, adv []float32, lp lossParams, need []bool) (lossTerms, error)
	// backward returns the gradients of the last evaluate's total loss, one buffer per
	// parameter in params() order, on the parameters' device; entries whose need is false
	// may be stale (frozen parameters).
	backward(need []bool) ([]*device.Buffer, error)
	// close releases the backend's graphs and device memory.
	close()
}

// fwdOut is forward's host result: rows x NumActions logits (raw) and masked log-probs,
// and rows values.
type fwdOut struct {
	Logits, Logp, Values []float32
}

func (f *fwdOut) resize(rows, nA int) {
	f.Logits = grow(f.Logits, rows*nA)
	f.Logp = grow(f.Logp, rows*nA)
	f.Values = grow(f.Values, rows)
}

// grow returns s resized to n, reusing its memory when it is large enough.
func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

// lossParams are the loss coefficients of one update, and lossTerms a minibatch's loss terms
// (means over the rows), as internal/ppoloss, the loss's one definition, has them.
type (
	lossParams = ppoloss.Params
	lossTerms  = ppoloss.Means
)
