package policy

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"hybridtrain/internal/device"
)

// TestLossMatchesReference compares every loss term of both backends with the reference loss
// (internal/ppoloss) computed over refNet, an independent float64 forward pass, with value clipping
// off and on. Tolerance 1e-5 (1 + |want|): the backends compute in float32.
func TestLossMatchesReference(t *testing.T) {
	for _, vf := range []float64{0, 0.1} {
		t.Run(fmt.Sprintf("clip_range_vf=%v", vf), func(t *testing.T) {
			onDevices(t, tinyConfig(), 10, 0.4, func(t *testing.T, p *Policy) {
				mb := randomMinibatch(t, p, newRNG(11), 64)
				adv := append([]float32(nil), p.normalizeAdv(mb.Adv, true)...)
				lp := lossParams{ClipRange: 0.2, ClipRangeVF: vf, EntCoef: 0.01, VfCoef: 0.5}
				want := refLoss(newRefNet(t, p), mb, adv, lp)
				be, _, err := p.ready()
				if err != nil {
					t.Fatal(err)
				}
				got, err := be.evaluate(mb, adv, lp, nil)
				if err != nil {
					t.Fatal(err)
				}
				if want.ClipFraction == 0 || want.ClipFraction == 1 {
					t.Fatalf("clip fraction %v: the minibatch does not exercise both clip branches", want.ClipFraction)
				}
				for _, c := range []struct {
					name      string
					got, want float64
				}{{"loss", got.Loss, want.Loss}, {"policy loss", got.PolicyLoss, want.PolicyLoss},
					{"value loss", got.ValueLoss, want.ValueLoss}, {"entropy loss", got.EntropyLoss, want.EntropyLoss},
					{"approx_kl", got.ApproxKL, want.ApproxKL}, {"clip fraction", got.ClipFraction, want.ClipFraction}} {
					if !closeTo(c.got, c.want, 1e-5) {
						t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
					}
				}
			})
		})
	}
}

func TestAdvantageNormalisation(t *testing.T) {
	p := mustNew(t, tinyConfig(), 1)
	// mean 2.5, sum of squared deviations 5, unbiased std sqrt(5/3) = 1.2909944487.
	std := math.Sqrt(5.0 / 3)
	tests := []struct {
		name      string
		adv       []float32
		normalize bool
		want      []float64
	}{
		{"four", []float32{1, 2, 3, 4}, true, []float64{-1.5 / std, -0.5 / std, 0.5 / std, 1.5 / std}},
		{"off", []float32{1, 2, 3, 4}, false, []float64{1, 2, 3, 4}},
		{"single sample skipped", []float32{3.5}, true, []float64{3.5}},
		{"constant", []float32{2, 2, 2}, true, []float64{0, 0, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := p.normalizeAdv(tc.adv, tc.normalize)
			for i := range tc.want {
				if math.Abs(float64(got[i])-tc.want[i]) > 1e-6 {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			}
		})
	}
}

// gradsOf returns the host gradients of p's loss on mb (normalised advantages) computed on
// a CPU clone, so that p itself is untouched.
func gradsOf(t *testing.T, p *Policy, mb *Minibatch, hp UpdateParams) [][]float64 {
	t.Helper()
	q := clonePolicy(t, p)
	be, _, err := q.ready()
	if err != nil {
		t.Fatal(err)
	}
	adv := q.normalizeAdv(mb.Adv[:mb.Rows], hp.NormalizeAdvantage)
	if _, err := be.evaluate(mb, adv, lossParams{ClipRange: hp.ClipRange, ClipRangeVF: hp.ClipRangeVF,
		EntCoef: hp.EntCoef, VfCoef: hp.VfCoef}, nil); err != nil {
		t.Fatal(err)
	}
	gs, err := be.backward(allTrue(len(q.Params())))
	if err != nil {
		t.Fatal(err)
	}
	out := make([][]float64, len(gs))
	for i, g := range gs {
		h, _ := g.HostData()
		out[i] = make([]float64, len(h))
		for k, v := range h {
			out[i][k] = float64(v)
		}
	}
	return out
}

// TestAdamTwoSteps checks two Adam steps against PyTorch's formula computed here in
// float64 from the gradients of each step: m = b1 m + (1-b1) g, v = b2 v + (1-b2) g^2,
// p -= lr/(1-b1^t) m / (sqrt(v)/sqrt(1-b2^t) + 1e-5), with no clipping.
func TestAdamTwoSteps(t *testing.T) {
	onDevices(t, tinyConfig(), 30, 0.3, func(t *testing.T, p *Policy) {
		hp := defaultHP()
		hp.LR = 1e-2 // steps well above float32 rounding of the parameters
		hp.MaxGradNorm = 0
		rng := newRNG(31)
		n := len(p.Params())
		m := make([][]float64, n)
		v := make([][]float64, n)
		for step := 1; step <= 2; step++ {
			mb := randomMinibatch(t, p, rng, 16)
			g := gradsOf(t, p, mb, hp)
			before := make([][]float32, n)
			for i, x := range p.Params() {
				before[i] = hostValues(t, x)
			}
			st, err := p.Update(mb, hp)
			if err != nil || !st.Applied {
				t.Fatalf("step %d: %+v, %v", step, st, err)
			}
			bc1 := 1 - math.Pow(adamBeta1, float64(step))
			bc2 := 1 - math.Pow(adamBeta2, float64(step))
			for i, x := range p.Params() {
				after := hostValues(t, x)
				if m[i] == nil {
					m[i], v[i] = make([]float64, len(after)), make([]float64, len(after))
				}
				for k := range after {
					gk := g[i][k]
					m[i][k] = adamBeta1*m[i][k] + (1-adamBeta1)*gk
					v[i][k] = adamBeta2*v[i][k] + (1-adamBeta2)*gk*gk
					want := float64(before[i][k]) - hp.LR/bc1*m[i][k]/(math.Sqrt(v[i][k])/math.Sqrt(bc2)+adamEps)
					if d := math.Abs(float64(after[k]) - want); d > 1e-6*(1+math.Abs(want)) {
						t.Fatalf("step %d %s[%d]: got %v, want %v", step, x.Name, k, after[k], want)
					}
				}
				if got := p.opt[x.Name].step; got != step {
					t.Fatalf("%s: step count %d, want %d", x.Name, got, step)
				}
			}
		}
	})
}

// TestGradClip: the reported GradNorm is the global L2 norm of all gradients; with
// max_grad_norm below it, Adam sees g * max/(norm + 1e-6) (PyTorch's clip_grad_norm_),
// visible in the first moment m = (1 - b1) g scale after one step; above it, scale is 1.
func TestGradClip(t *testing.T) {
	onDevices(t, tinyConfig(), 40, 0.3, func(t *testing.T, p *Policy) {
		for _, maxNorm := range []float64{1e-3, 1e6} {
			q := clonePolicy(t, p)
			if err := q.To(p.Device()); err != nil {
				t.Fatal(err)
			}
			hp := defaultHP()
			hp.MaxGradNorm = maxNorm
			mb := randomMinibatch(t, q, newRNG(41), 16)
			g := gradsOf(t, q, mb, hp)
			norm := 0.0
			for _, gi := range g {
				for _, x := range gi {
					norm += x * x
				}
			}
			norm = math.Sqrt(norm)
			st, err := q.Update(mb, hp)
			if err != nil {
				t.Fatal(err)
			}
			if !closeTo(st.GradNorm, norm, 1e-5) {
				t.Fatalf("GradNorm %v, want %v", st.GradNorm, norm)
			}
			scale := math.Min(1, maxNorm/(norm+1e-6))
			// The reference gradients come from the CPU backend: allow parity-sized
			// differences, relative to each entry plus a floor at the largest gradient.
			gmax := 0.0
			for _, gi := range g {
				for _, x := range gi {
					gmax = math.Max(gmax, math.Abs(x))
				}
			}
			floor := 1e-6 * (1 - adamBeta1) * scale * gmax
			for i, x := range q.Params() {
				mh, err := hostCopy(q.opt[x.Name].m)
				if err != nil {
					t.Fatal(err)
				}
				for k := range mh {
					want := (1 - adamBeta1) * g[i][k] * scale
					if math.Abs(float64(mh[k])-want) > 1e-5*math.Abs(want)+floor {
						t.Fatalf("max_grad_norm %v: %s.exp_avg[%d] = %v, want %v", maxNorm, x.Name, k, mh[k], want)
					}
				}
			}
		}
	})
}

// TestTargetKLSkipsStep: with approx_kl above 1.5 x target_kl the step is not applied,
// every parameter stays bitwise unchanged (through rollout passes and the loss's forward
// and backward) and no Adam state is created; approx_kl is still reported (from the same
// forward pass). Below the threshold the step is applied.
func TestTargetKLSkipsStep(t *testing.T) {
	onDevices(t, tinyConfig(), 50, 0.3, func(t *testing.T, p *Policy) {
		mb := randomMinibatch(t, p, newRNG(51), 32)
		adv := p.normalizeAdv(mb.Adv, true)
		want := refLoss(newRefNet(t, p), mb, append([]float32(nil), adv...), lossParams{ClipRange: 0.2, EntCoef: 0.01, VfCoef: 0.5})
		before := make([][]float32, 0)
		for _, x := range p.Params() {
			before = append(before, hostValues(t, x))
		}
		// Rollout passes must not touch the parameters either (gorgonia reuses registers;
		// a parameter's register written by a later op would show here).
		out := &ActResult{Actions: make([]int32, 32), Values: make([]float32, 32), LogProbs: make([]float32, 32)}
		for _, det := range []bool{false, true} {
			if err := p.Act(mb.Obs, mb.Masks, 32, det, newRNG(52), out); err != nil {
				t.Fatal(err)
			}
		}
		if err := p.Values(mb.Obs, 32, out.Values); err != nil {
			t.Fatal(err)
		}
		hp := defaultHP()
		hp.TargetKL = want.ApproxKL / 1.5 * 0.99
		st, err := p.Update(mb, hp)
		if err != nil {
			t.Fatal(err)
		}
		if st.Applied || st.GradNorm != 0 || !closeTo(st.ApproxKL, want.ApproxKL, 1e-5) {
			t.Fatalf("got %+v, want Applied=false, GradNorm 0, ApproxKL %v", st, want.ApproxKL)
		}
		for i, x := range p.Params() {
			after := hostValues(t, x)
			for k := range after {
				if math.Float32bits(after[k]) != math.Float32bits(before[i][k]) {
					t.Fatalf("%s[%d] changed on a skipped step", x.Name, k)
				}
			}
		}
		if len(p.opt) != 0 {
			t.Fatalf("a skipped step created Adam state for %d tensors", len(p.opt))
		}
		hp.TargetKL = want.ApproxKL / 1.5 * 1.01
		if st, err := p.Update(mb, hp); err != nil || !st.Applied {
			t.Fatalf("below the threshold: %+v, %v; want applied", st, err)
		}
	})
}

func TestNonFinite(t *testing.T) {
	onDevices(t, tinyConfig(), 60, 0.3, func(t *testing.T, p *Policy) {
		rng := newRNG(61)
		t.Run("return", func(t *testing.T) {
			mb := randomMinibatch(t, p, rng, 8)
			mb.Returns[2] = float32(math.NaN())
			_, err := p.Update(mb, defaultHP())
			if !errors.Is(err, ErrNonFinite) || !strings.Contains(err.Error(), "returns[2]") {
				t.Fatalf("got %v, want ErrNonFinite naming returns[2]", err)
			}
		})
		t.Run("huge step", func(t *testing.T) {
			q := clonePolicy(t, p)
			if err := q.To(p.Device()); err != nil {
				t.Fatal(err)
			}
			mb := randomMinibatch(t, q, rng, 8)
			hp := defaultHP()
			hp.LR = 1e30 // every parameter moves by ~1e30: its square overflows float32
			_, err := q.Update(mb, hp)
			if !errors.Is(err, ErrNonFinite) || !strings.Contains(err.Error(), "after the step") {
				t.Fatalf("got %v, want ErrNonFinite naming a parameter after the step", err)
			}
		})
		t.Run("weight", func(t *testing.T) {
			q := clonePolicy(t, p)
			h, _ := q.base.Pi[0].W.Buf.HostData()
			h[3] = float32(math.Inf(1))
			if err := q.To(p.Device()); err != nil {
				t.Fatal(err)
			}
			mb := randomMinibatch(t, p, rng, 8)
			_, err := q.Update(mb, defaultHP())
			if !errors.Is(err, ErrNonFinite) || !strings.Contains(err.Error(), "loss") {
				t.Fatalf("Update: got %v, want ErrNonFinite naming the loss", err)
			}
			out := &ActResult{Actions: make([]int32, 8), Values: make([]float32, 8), LogProbs: make([]float32, 8)}
			err = q.Act(mb.Obs, mb.Masks, 8, true, nil, out)
			if !errors.Is(err, ErrNonFinite) {
				t.Fatalf("Act: got %v, want ErrNonFinite", err)
			}
		})
	})
}

func TestUpdateValidation(t *testing.T) {
	p := mustNew(t, tinyConfig(), 70)
	rng := newRNG(71)
	mod := func(f func(*UpdateParams)) UpdateParams {
		hp := defaultHP()
		f(&hp)
		return hp
	}
	hps := []struct {
		name string
		hp   UpdateParams
		want string
	}{
		{"lr", mod(func(h *UpdateParams) { h.LR = 0 }), "learning rate must be > 0"},
		{"clip", mod(func(h *UpdateParams) { h.ClipRange = math.NaN() }), "clip_range must be > 0"},
		{"clip vf", mod(func(h *UpdateParams) { h.ClipRangeVF = -1 }), "clip_range_vf must be >= 0"},
		{"ent", mod(func(h *UpdateParams) { h.EntCoef = math.Inf(1) }), "ent_coef must be finite"},
		{"max grad norm", mod(func(h *UpdateParams) { h.MaxGradNorm = -0.5 }), "max_grad_norm must be >= 0"},
		{"target kl", mod(func(h *UpdateParams) { h.TargetKL = -1 }), "target_kl must be >= 0"},
	}
	for _, tc := range hps {
		t.Run(tc.name, func(t *testing.T) {
			mb := randomMinibatch(t, p, rng, 4)
			if _, err := p.Update(mb, tc.hp); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
	mbs := []struct {
		name string
		f    func(*Minibatch)
		want string
	}{
		{"rows", func(m *Minibatch) { m.Rows = 0 }, "rows must be >= 1"},
		{"short obs", func(m *Minibatch) { m.Obs = m.Obs[:5] }, "obs has 5 values, want 28"},
		{"short returns", func(m *Minibatch) { m.Returns = m.Returns[:3] }, "returns has 3 values, want 4"},
		{"action range", func(m *Minibatch) { m.Actions[1] = 9 }, "row 1: action 9 out of range [0, 4)"},
		{"masked action", func(m *Minibatch) {
			m.Masks[2*4+int(m.Actions[2])] = false
			m.Masks[2*4+(int(m.Actions[2])+1)%4] = true
		},
			"row 2: action"},
	}
	for _, tc := range mbs {
		t.Run(tc.name, func(t *testing.T) {
			mb := randomMinibatch(t, p, rng, 4)
			tc.f(mb)
			if _, err := p.Update(mb, defaultHP()); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
	t.Run("old values needed", func(t *testing.T) {
		mb := randomMinibatch(t, p, rng, 4)
		mb.OldValues = nil
		hp := defaultHP()
		if _, err := p.Update(mb, hp); err != nil {
			t.Fatalf("clip_range_vf off: old values are not needed, got %v", err)
		}
		hp.ClipRangeVF = 0.2
		if _, err := p.Update(mb, hp); err == nil || !strings.Contains(err.Error(), "old values") {
			t.Fatalf("clip_range_vf on: got %v, want an error about old values", err)
		}
	})
	t.Run("nothing trainable", func(t *testing.T) {
		q := mustNew(t, tinyConfig(), 72)
		q.SetBaseFrozen(true)
		q.Adapter().Freeze()
		mb := randomMinibatch(t, q, rng, 4)
		if _, err := q.Update(mb, defaultHP()); err == nil || !strings.Contains(err.Error(), "no trainable parameter") {
			t.Fatalf("got %v", err)
		}
	})
	_ = device.CPU
}

// TestDeterministic: two policies built from the same seed and driven by generators with
// the same seeds sample the same actions and end bitwise equal after three updates, on
// each backend.
func TestDeterministic(t *testing.T) {
	for _, dev := range []device.Device{device.CPU, device.Test(0)} {
		t.Run(dev.String(), func(t *testing.T) {
			var params [2][][]float32
			var acts [2][]int32
			for run := 0; run < 2; run++ {
				p := mustNew(t, tinyConfig(), 200)
				perturb(t, p, newRNG(201), 0.3)
				if err := p.To(dev); err != nil {
					t.Fatal(err)
				}
				rng := newRNG(202)
				for step := 0; step < 3; step++ {
					mb := randomMinibatch(t, p, rng, 32)
					acts[run] = append(acts[run], mb.Actions...)
					if _, err := p.Update(mb, defaultHP()); err != nil {
						t.Fatal(err)
					}
				}
				for _, x := range p.Params() {
					params[run] = append(params[run], hostValues(t, x))
				}
			}
			for i := range acts[0] {
				if acts[0][i] != acts[1][i] {
					t.Fatalf("sampled action %d: %d then %d", i, acts[0][i], acts[1][i])
				}
			}
			for i := range params[0] {
				for k := range params[0][i] {
					if math.Float32bits(params[0][i][k]) != math.Float32bits(params[1][i][k]) {
						t.Fatalf("param %d[%d]: %v then %v", i, k, params[0][i][k], params[1][i][k])
					}
				}
			}
		})
	}
}
