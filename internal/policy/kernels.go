package policy

import (
	"fmt"

	"hybridtrain/internal/adapter"
	"hybridtrain/internal/device"
	"hybridtrain/internal/ppoloss"
)

// kernelBackend runs the layer list with internal/device's kernels on one engine: the
// CUDA kernels on a GPU, the host kernels on the test device (or any host device). Buffers
// are allocated once per batch size and reused. Observations enter through the adapter's
// Input (Phase 3) or an upload into the first layer's input buffer (Phase 2); masks are
// uploaded at the distribution's entry and the minibatch at the loss's entry; only logits,
// log-probs, values and the loss's per-sample terms come back to the host.
//
// Activations are ReLU only (the engine has no tanh kernel); a tanh network stays on the
// CPU's gorgonia backend.
type kernelBackend struct {
	eng     *device.Engine
	l       *layers
	ad      *adapter.Adapter
	ps      []*device.Tensor
	obsDim  int
	nA      int
	batches map[int]*kbufs
	grads   []*device.Buffer // one per parameter, params() order
	last    *kbufs           // the batch of the last evaluate, for backward
	fwd     fwdOut
	host    []float32 // staging for masks and actions
}

// kbufs are one batch size's device buffers.
type kbufs struct {
	rows           int
	x              *device.Buffer   // Phase 2 input (rows x obsDim)
	xIn            *device.Buffer   // the input the last forward read (adapter input or x)
	feat           *device.Buffer   // adapter output (rows x baseDim), Phase 3 only
	hPi, hVf       []*device.Buffer // hidden activations (after the activation)
	logits, values *device.Buffer
	mask           *device.Buffer
	logp, entropy  *device.Buffer

	// Training only, allocated on the first evaluate of this size.
	train                               bool
	actions, oldLogp, oldValues, adv, r *device.Buffer
	dLogits, dValues, terms             *device.Buffer
	dPi, dVf                            []*device.Buffer // gradient w.r.t. each hidden activation
	dFeat                               *device.Buffer   // gradient w.r.t. the adapter's output
	termsHost                           []float32
}

func newKernelBackend(l *layers, ad *adapter.Adapter, eng *device.Engine, obsDim, numActions int) (*kernelBackend, error) {
	if l.Activation != ActivationReLU {
		return nil, fmt.Errorf("policy: activation %q runs only on the cpu (the %s kernels have ReLU only)", l.Activation, eng.Device())
	}
	kb := &kernelBackend{eng: eng, l: l, ad: ad, ps: l.params(), obsDim: obsDim, nA: numActions,
		batches: map[int]*kbufs{}}
	return kb, nil
}

// alloc allocates every buffer of sizes, stopping at the first error.
func (kb *kernelBackend) alloc(dst []**device.Buffer, sizes []int) error {
	for i, d := range dst {
		b, err := kb.eng.Alloc(sizes[i])
		if err != nil {
			return fmt.Errorf("policy: allocate on %s: %w", kb.eng.Device(), err)
		}
		*d = b
	}
	return nil
}

func (kb *kernelBackend) batch(rows int) (*kbufs, error) {
	if b, ok := kb.batches[rows]; ok {
		return b, nil
	}
	b := &kbufs{rows: rows}
	dst := []**device.Buffer{&b.logits, &b.values, &b.mask, &b.logp, &b.entropy}
	sizes := []int{rows * kb.nA, rows, rows * kb.nA, rows * kb.nA, rows}
	if kb.l.Adapter == nil {
		dst, sizes = append(dst, &b.x), append(sizes, rows*kb.obsDim)
	} else {
		dst, sizes = append(dst, &b.feat), append(sizes, rows*kb.l.Adapter.Out)
	}
	b.hPi = make([]*device.Buffer, len(kb.l.Pi))
	for i, h := range kb.l.Pi {
		dst, sizes = append(dst, &b.hPi[i]), append(sizes, rows*h.Out)
	}
	b.hVf = make([]*device.Buffer, len(kb.l.Vf))
	for i, h := range kb.l.Vf {
		dst, sizes = append(dst, &b.hVf[i]), append(sizes, rows*h.Out)
	}
	if err := kb.alloc(dst, sizes); err != nil {
		kb.freeBatch(b)
		return nil, err
	}
	kb.batches[rows] = b
	return b, nil
}

func (kb *kernelBackend) trainBuffers(b *kbufs) error {
	if b.train {
		return nil
	}
	rows := b.rows
	dst := []**device.Buffer{&b.actions, &b.oldLogp, &b.oldValues, &b.adv, &b.r, &b.dLogits, &b.dValues, &b.terms}
	sizes := []int{rows, rows, rows, rows, rows, rows * kb.nA, rows, rows * device.PPOTerms}
	if kb.l.Adapter != nil {
		dst, sizes = append(dst, &b.dFeat), append(sizes, rows*kb.l.Adapter.Out)
	}
	b.dPi = make([]*device.Buffer, len(kb.l.Pi))
	for i, h := range kb.l.Pi {
		dst, sizes = append(dst, &b.dPi[i]), append(sizes, rows*h.Out)
	}
	b.dVf = make([]*device.Buffer, len(kb.l.Vf))
	for i, h := range kb.l.Vf {
		dst, sizes = append(dst, &b.dVf[i]), append(sizes, rows*h.Out)
	}
	if err := kb.alloc(dst, sizes); err != nil {
		return err
	}
	b.termsHost = make([]float32, rows*device.PPOTerms)
	b.train = true
	return nil
}

// linear computes y = act(x W + b) for rows rows.
func (kb *kernelBackend) linear(lin linear, x, y *device.Buffer, rows int, act bool) error {
	if err := kb.eng.Gemm(false, false, rows, lin.Out, lin.In, 1, x, lin.W.Buf, 0, y); err != nil {
		return fmt.Errorf("policy: %s: %w", lin.W.Name, err)
	}
	if err := kb.eng.AddRowVector(y, lin.B.Buf, rows, lin.Out); err != nil {
		return fmt.Errorf("policy: %s: %w", lin.B.Name, err)
	}
	if act {
		if err := kb.eng.ReLU(y, rows*lin.Out); err != nil {
			return fmt.Errorf("policy: %s activation: %w", lin.W.Name, err)
		}
	}
	return nil
}

// run is the forward pass of the layer list into b, from host observations.
func (kb *kernelBackend) run(b *kbufs, obs []float32) error {
	rows := b.rows
	x := b.x
	if kb.ad != nil {
		in, err := kb.ad.Input(obs[:rows*kb.obsDim], rows)
		if err != nil {
			return fmt.Errorf("policy: adapter input: %w", err)
		}
		x = in
	} else if err := kb.eng.Upload(b.x, obs[:rows*kb.obsDim]); err != nil {
		return fmt.Errorf("policy: upload observations: %w", err)
	}
	b.xIn = x
	feat := x
	if kb.l.Adapter != nil {
		if err := kb.linear(*kb.l.Adapter, x, b.feat, rows, false); err != nil {
			return err
		}
		feat = b.feat
	}
	h := feat
	for i, lin := range kb.l.Pi {
		if err := kb.linear(lin, h, b.hPi[i], rows, true); err != nil {
			return err
		}
		h = b.hPi[i]
	}
	if err := kb.linear(kb.l.Action, h, b.logits, rows, false); err != nil {
		return err
	}
	h = feat
	for i, lin := range kb.l.Vf {
		if err := kb.linear(lin, h, b.hVf[i], rows, true); err != nil {
			return err
		}
		h = b.hVf[i]
	}
	return kb.linear(kb.l.Value, h, b.values, rows, false)
}

// uploadMask moves host masks (nil = all legal) to b.mask as 1/0.
func (kb *kernelBackend) uploadMask(b *kbufs, masks []bool) error {
	n := b.rows * kb.nA
	if masks == nil {
		return kb.eng.Fill(b.mask, n, 1)
	}
	kb.host = grow(kb.host, n)
	for i, m := range masks[:n] {
		kb.host[i] = 0
		if m {
			kb.host[i] = 1
		}
	}
	if err := kb.eng.Upload(b.mask, kb.host[:n]); err != nil {
		return fmt.Errorf("policy: upload masks: %w", err)
	}
	return nil
}

func (kb *kernelBackend) forward(obs []float32, masks []bool, rows int) (*fwdOut, error) {
	b, err := kb.batch(rows)
	if err != nil {
		return nil, err
	}
	if err := kb.run(b, obs); err != nil {
		return nil, err
	}
	if err := kb.uploadMask(b, masks); err != nil {
		return nil, err
	}
	if err := kb.eng.MaskedLogSoftmax(b.logp, b.entropy, b.logits, b.mask, rows, kb.nA); err != nil {
		return nil, fmt.Errorf("policy: masked log-softmax: %w", err)
	}
	kb.fwd.resize(rows, kb.nA)
	for _, d := range []struct {
		dst []float32
		src *device.Buffer
	}{{kb.fwd.Logits, b.logits}, {kb.fwd.Logp, b.logp}, {kb.fwd.Values, b.values}} {
		if err := kb.eng.Download(d.dst, d.src); err != nil {
			return nil, fmt.Errorf("policy: download outputs: %w", err)
		}
	}
	return &kb.fwd, nil
}

func (kb *kernelBackend) evaluate(mb *Minibatch, adv []float32, lp lossParams, _ []bool) (lossTerms, error) {
	kb.last = nil
	rows := mb.Rows
	b, err := kb.batch(rows)
	if err != nil {
		return lossTerms{}, err
	}
	if err := kb.trainBuffers(b); err != nil {
		return lossTerms{}, err
	}
	if err := kb.run(b, mb.Obs); err != nil {
		return lossTerms{}, err
	}
	if err := kb.uploadMask(b, mb.Masks); err != nil {
		return lossTerms{}, err
	}
	kb.host = grow(kb.host, rows)
	for i, a := range mb.Actions[:rows] {
		kb.host[i] = float32(a)
	}
	ups := []struct {
		name string
		dst  *device.Buffer
		src  []float32
	}{{"actions", b.actions, kb.host[:rows]}, {"old log-probs", b.oldLogp, mb.OldLogp[:rows]},
		{"advantages", b.adv, adv[:rows]}, {"returns", b.r, mb.Returns[:rows]}}
	if lp.ClipRangeVF > 0 {
		ups = append(ups, struct {
			name string
			dst  *device.Buffer
			src  []float32
		}{"old values", b.oldValues, mb.OldValues[:rows]})
	} else if err := kb.eng.Fill(b.oldValues, rows, 0); err != nil {
		return lossTerms{}, err
	}
	for _, u := range ups {
		if err := kb.eng.Upload(u.dst, u.src); err != nil {
			return lossTerms{}, fmt.Errorf("policy: upload minibatch %s: %w", u.name, err)
		}
	}
	err = kb.eng.PPOLoss(device.PPOLossOut{DLogits: b.dLogits, DValues: b.dValues, Terms: b.terms},
		device.PPOLossIn{Logits: b.logits, Mask: b.mask, Values: b.values, Actions: b.actions,
			OldLogp: b.oldLogp, OldValues: b.oldValues, Adv: b.adv, Returns: b.r},
		rows, kb.nA, device.PPOParams{ClipRange: float32(lp.ClipRange), ClipRangeVF: float32(lp.ClipRangeVF),
			EntCoef: float32(lp.EntCoef), VfCoef: float32(lp.VfCoef)})
	if err != nil {
		return lossTerms{}, fmt.Errorf("policy: ppo loss: %w", err)
	}
	if err := kb.eng.Download(b.termsHost, b.terms); err != nil {
		return lossTerms{}, fmt.Errorf("policy: download loss terms: %w", err)
	}
	var sums ppoloss.Sums
	for i := 0; i < rows; i++ {
		t := b.termsHost[i*device.PPOTerms : (i+1)*device.PPOTerms]
		sums.Add(ppoloss.Terms{Policy: float64(t[device.TermPolicy]), Value: float64(t[device.TermValue]),
			Entropy: float64(t[device.TermEntropy]), ApproxKL: float64(t[device.TermApproxKL]),
			Clipped: t[device.TermClipped] != 0})
	}
	kb.last = b
	return sums.Means(lp), nil
}

// backward back-propagates the last evaluate's dLogits and dValues through the list.
// Weight and bias gradients are computed only where need says so; activation gradients
// only as deep as some needed parameter lies.
func (kb *kernelBackend) backward(need []bool) ([]*device.Buffer, error) {
	b := kb.last
	if b == nil {
		return nil, fmt.Errorf("policy: backward without a successful evaluate")
	}
	if kb.grads == nil {
		kb.grads = make([]*device.Buffer, len(kb.ps))
		dst := make([]**device.Buffer, len(kb.ps))
		sizes := make([]int, len(kb.ps))
		for i, t := range kb.ps {
			dst[i], sizes[i] = &kb.grads[i], t.Numel()
		}
		if err := kb.alloc(dst, sizes); err != nil {
			kb.grads = nil
			return nil, err
		}
	}
	rows := b.rows
	// Parameter indices in params() order.
	idx := 0
	adIdx := -1
	if kb.l.Adapter != nil {
		adIdx, idx = 0, 2
	}
	piIdx := idx
	vfIdx := piIdx + 2*len(kb.l.Pi)
	actIdx := vfIdx + 2*len(kb.l.Vf)
	valIdx := actIdx + 2
	adNeed := adIdx >= 0 && (need[adIdx] || need[adIdx+1])

	feat := b.xIn
	if kb.l.Adapter != nil {
		feat = b.feat
	}
	// The policy branch: head, then hidden layers from the top; first is the gradient
	// w.r.t. feat written with beta 0, the value branch then adds with beta 1.
	err := kb.branch(kb.l.Pi, kb.l.Action, b.hPi, b.dPi, b.dLogits, feat, b.dFeat, 0, piIdx, actIdx, need, adNeed, rows)
	if err != nil {
		return nil, err
	}
	err = kb.branch(kb.l.Vf, kb.l.Value, b.hVf, b.dVf, b.dValues, feat, b.dFeat, 1, vfIdx, valIdx, need, adNeed, rows)
	if err != nil {
		return nil, err
	}
	if adNeed {
		if err := kb.paramGrads(*kb.l.Adapter, b.xIn, b.dFeat, adIdx, need, rows); err != nil {
			return nil, err
		}
	}
	return kb.grads, nil
}

// branch back-propagates one MLP and its head. dOut is the gradient w.r.t. the head's
// output; when featGrad, dFeat receives (beta: 0 = overwrite, 1 = add) the gradient
// w.r.t. the branch's input.
func (kb *kernelBackend) branch(hidden []linear, head linear, h, dh []*device.Buffer, dOut, feat, dFeat *device.Buffer,
	beta float32, firstIdx, headIdx int, need []bool, featGrad bool, rows int) error {
	n := len(hidden)
	// deepest[i]: some parameter at or below hidden layer i (or the adapter) needs a gradient.
	deepest := make([]bool, n+1)
	deepest[0] = featGrad
	for i := 0; i < n; i++ {
		deepest[i+1] = deepest[i] || need[firstIdx+2*i] || need[firstIdx+2*i+1]
	}
	if err := kb.paramGrads(head, h[n-1], dOut, headIdx, need, rows); err != nil {
		return err
	}
	if !deepest[n] {
		return nil
	}
	// dh[n-1] = dOut head.W^T, through the activation.
	if err := kb.inputGrad(head, dOut, dh[n-1], 0, rows); err != nil {
		return err
	}
	if err := kb.eng.ReLUBackward(dh[n-1], h[n-1], rows*head.In); err != nil {
		return fmt.Errorf("policy: backward activation: %w", err)
	}
	for i := n - 1; i >= 0; i-- {
		in := feat
		if i > 0 {
			in = h[i-1]
		}
		if err := kb.paramGrads(hidden[i], in, dh[i], firstIdx+2*i, need, rows); err != nil {
			return err
		}
		if !deepest[i] {
			break
		}
		if i == 0 {
			if err := kb.inputGrad(hidden[0], dh[0], dFeat, beta, rows); err != nil {
				return err
			}
			break
		}
		if err := kb.inputGrad(hidden[i], dh[i], dh[i-1], 0, rows); err != nil {
			return err
		}
		if err := kb.eng.ReLUBackward(dh[i-1], h[i-1], rows*hidden[i].In); err != nil {
			return fmt.Errorf("policy: backward activation: %w", err)
		}
	}
	return nil
}

// paramGrads writes dW = x^T dy and db = sum over rows of dy for the layer at index wi.
func (kb *kernelBackend) paramGrads(lin linear, x, dy *device.Buffer, wi int, need []bool, rows int) error {
	if need[wi] {
		if err := kb.eng.Gemm(true, false, lin.In, lin.Out, rows, 1, x, dy, 0, kb.grads[wi]); err != nil {
			return fmt.Errorf("policy: gradient of %s: %w", lin.W.Name, err)
		}
	}
	if need[wi+1] {
		if err := kb.eng.SumRows(kb.grads[wi+1], dy, rows, lin.Out, 0); err != nil {
			return fmt.Errorf("policy: gradient of %s: %w", lin.B.Name, err)
		}
	}
	return nil
}

// inputGrad writes dx = dy W^T (+ beta dx).
func (kb *kernelBackend) inputGrad(lin linear, dy, dx *device.Buffer, beta float32, rows int) error {
	if err := kb.eng.Gemm(false, true, rows, lin.In, lin.Out, 1, dy, lin.W.Buf, beta, dx); err != nil {
		return fmt.Errorf("policy: backward through %s: %w", lin.W.Name, err)
	}
	return nil
}

func (kb *kernelBackend) freeBatch(b *kbufs) {
	all := []*device.Buffer{b.x, b.feat, b.logits, b.values, b.mask, b.logp, b.entropy,
		b.actions, b.oldLogp, b.oldValues, b.adv, b.r, b.dLogits, b.dValues, b.terms, b.dFeat}
	all = append(all, b.hPi...)
	all = append(all, b.hVf...)
	all = append(all, b.dPi...)
	all = append(all, b.dVf...)
	for _, x := range all {
		if x != nil {
			kb.eng.Free(x)
		}
	}
}

func (kb *kernelBackend) close() {
	for _, b := range kb.batches {
		kb.freeBatch(b)
	}
	for _, g := range kb.grads {
		if g != nil {
			kb.eng.Free(g)
		}
	}
	kb.batches, kb.grads, kb.last = nil, nil, nil
}
