//go:build !cuda

package policy

// Tests of the gorgonia backend itself. A `cuda` build leaves gorgonia out (its own cuda
// tag needs cuDNN), so these run only in the default build; there the CPU is the gorgonia
// backend, elsewhere the kernel backend on the host engine.

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"hybridtrain/internal/device"
)

// graph64 builds a float64 gorgonia backend over p's (CPU) parameters.
func graph64(t testing.TB, p *Policy) *graphBackend[float64] {
	t.Helper()
	l := *p.base
	if p.ad != nil {
		l.Adapter = &linear{W: p.ad.Weight(), B: p.ad.Bias(), In: p.cfg.ObsDim, Out: p.cfg.BaseDim}
	}
	gb, err := newGraphBackend(kernels64, &l, p.cfg.ObsDim, p.cfg.NumActions)
	if err != nil {
		t.Fatal(err)
	}
	return gb
}

// TestGradientFiniteDifference checks the gradient of the full PPO loss (clipped surrogate
// with both branches active, value loss with and without clipping, masked entropy, masks
// present) with respect to every parameter tensor, adapter included, against central
// differences on a float64 graph: every bias entry and 8 sampled entries of each weight.
//
// Tolerance |fd - g| <= 1e-7 + 1e-6 |g|: at h = 1e-6 in float64 the central difference's
// truncation error is O(h^2) ~ 1e-12 and its rounding error about eps |L| / h ~ 1e-10, so
// anything above 1e-7 is a wrong gradient, not numerical noise. Samples whose ratio (or
// clipped value) lies within 1e-3 of a clip boundary are moved away from it first, since a
// finite difference across a kink measures neither side.
func TestGradientFiniteDifference(t *testing.T) {
	for _, vf := range []float64{0, 0.15} {
		t.Run(fmt.Sprintf("clip_range_vf=%v", vf), func(t *testing.T) {
			p := mustNew(t, tinyConfig(), 20)
			perturb(t, p, newRNG(21), 0.4)
			rng := newRNG(22)
			mb := randomMinibatch(t, p, rng, 24)
			lp := lossParams{ClipRange: 0.2, ClipRangeVF: vf, EntCoef: 0.05, VfCoef: 0.5}
			adv := append([]float32(nil), p.normalizeAdv(mb.Adv, true)...)
			awayFromKinks(t, p, mb, lp)

			gb := graph64(t, p)
			defer gb.close()
			base, err := gb.evaluate(mb, adv, lp, nil)
			if err != nil {
				t.Fatal(err)
			}
			if base.ClipFraction == 0 || base.ClipFraction == 1 {
				t.Fatalf("clip fraction %v: both clip branches must be exercised", base.ClipFraction)
			}
			g, err := gb.grads64()
			if err != nil {
				t.Fatal(err)
			}
			grads := make([][]float64, len(g))
			for i := range g {
				grads[i] = append([]float64(nil), g[i]...)
			}
			loss := func() float64 {
				tm, err := gb.evaluate(mb, adv, lp, nil)
				if err != nil {
					t.Fatal(err)
				}
				return tm.Loss
			}
			const h = 1e-6
			for i, x := range gb.ps {
				w := gb.params[i].data
				idx := make([]int, 0, 8)
				if len(x.Shape) == 1 {
					for k := range w {
						idx = append(idx, k)
					}
				} else {
					for range 8 {
						idx = append(idx, rng.IntN(len(w)))
					}
				}
				nonzero := false
				for _, k := range idx {
					orig := w[k]
					w[k] = orig + h
					lp1 := loss()
					w[k] = orig - h
					lm1 := loss()
					w[k] = orig
					fd := (lp1 - lm1) / (2 * h)
					if d := math.Abs(fd - grads[i][k]); d > 1e-7+1e-6*math.Abs(grads[i][k]) {
						t.Errorf("%s[%d]: gradient %.10g, finite difference %.10g (diff %.3g)", x.Name, k, grads[i][k], fd, d)
					}
					nonzero = nonzero || math.Abs(grads[i][k]) > 1e-6
				}
				if !nonzero {
					t.Errorf("%s: every sampled gradient is ~0; the check would not see a wrong one", x.Name)
				}
			}
		})
	}
}

// awayFromKinks moves each sample's old log-prob (and old value) so that its ratio (and
// value difference) is at least 1e-3 from the clip boundaries.
func awayFromKinks(t *testing.T, p *Policy, mb *Minibatch, lp lossParams) {
	t.Helper()
	logits, values := newRefNet(t, p).forward(mb.Obs, mb.Rows)
	nA := p.cfg.NumActions
	for i := 0; i < mb.Rows; i++ {
		logp, _ := refLogp(logits[i], mb.Masks[i*nA:(i+1)*nA])
		for {
			r := math.Exp(logp[mb.Actions[i]] - float64(mb.OldLogp[i]))
			if math.Abs(r-(1-lp.ClipRange)) > 1e-3 && math.Abs(r-(1+lp.ClipRange)) > 1e-3 {
				break
			}
			mb.OldLogp[i] += 0.01
		}
		for lp.ClipRangeVF > 0 {
			d := math.Abs(values[i] - float64(mb.OldValues[i]))
			if math.Abs(d-lp.ClipRangeVF) > 1e-3 {
				break
			}
			mb.OldValues[i] += 0.01
		}
	}
}

// TestTanhActivation: the gorgonia backend runs a tanh network (loss and gradients against
// the float64 reference and central differences); the device kernels have ReLU only, so
// moving such a policy off the CPU is refused up front.
func TestTanhActivation(t *testing.T) {
	cfg := tinyConfig()
	cfg.Activation = ActivationTanh
	p := mustNew(t, cfg, 190)
	perturb(t, p, newRNG(191), 0.3)
	mb := randomMinibatch(t, p, newRNG(192), 16)
	adv := append([]float32(nil), p.normalizeAdv(mb.Adv, true)...)
	lp := lossParams{ClipRange: 0.2, EntCoef: 0.01, VfCoef: 0.5}
	want := refLoss(newRefNet(t, p), mb, adv, lp)
	be, _, err := p.ready()
	if err != nil {
		t.Fatal(err)
	}
	got, err := be.evaluate(mb, adv, lp, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !closeTo(got.Loss, want.Loss, 1e-5) || !closeTo(got.EntropyLoss, want.EntropyLoss, 1e-5) {
		t.Fatalf("tanh: loss %v entropy %v, want %v %v", got.Loss, got.EntropyLoss, want.Loss, want.EntropyLoss)
	}
	// One weight of the first hidden layer by central differences on a float64 graph.
	gb := graph64(t, p)
	defer gb.close()
	if _, err := gb.evaluate(mb, adv, lp, nil); err != nil {
		t.Fatal(err)
	}
	g, _ := gb.grads64()
	const wi, k, h = 2, 7, 1e-6 // mlp_extractor.policy_net.0.weight[7]
	grad := g[wi][k]
	w := gb.params[wi].data
	orig := w[k]
	w[k] = orig + h
	lp1, _ := gb.evaluate(mb, adv, lp, nil)
	w[k] = orig - h
	lm1, _ := gb.evaluate(mb, adv, lp, nil)
	w[k] = orig
	if fd := (lp1.Loss - lm1.Loss) / (2 * h); math.Abs(fd-grad) > 1e-7+1e-6*math.Abs(grad) {
		t.Fatalf("tanh: gradient %v, finite difference %v", grad, fd)
	}
	if err := p.To(device.Test(0)); err == nil || !strings.Contains(err.Error(), `activation "tanh" runs only on the cpu`) {
		t.Fatalf("To(test:0) with tanh: got %v", err)
	}
	if p.Device() != device.CPU {
		t.Fatalf("a refused To moved the policy to %s", p.Device())
	}
}
