package policy

import (
	"fmt"
	"math"
	"os"
	"testing"

	"hybridtrain/internal/device"
)

// parityDevices are the devices the kernel backend is held to the CPU on: the test device,
// and the one HYBRIDTRAIN_PARITY_DEVICE names (e.g. cuda:0 in a cuda build on a GPU).
func parityDevices(t *testing.T) []device.Device {
	devs := []device.Device{device.Test(0)}
	if s := os.Getenv("HYBRIDTRAIN_PARITY_DEVICE"); s != "" {
		d, err := device.Parse(s)
		if err != nil {
			t.Fatalf("HYBRIDTRAIN_PARITY_DEVICE: %v", err)
		}
		devs = append(devs, d)
	}
	return devs
}

// TestBackendParity holds the kernel backend (on the test device, the same code path a GPU
// takes) to the gorgonia backend on the CPU: from the same weights and minibatches, the loss
// terms, every gradient, the gradient norm and the parameters after each of three updates
// agree within |a - b| <= 1e-4 (1 + |b|), b the CPU value (DESIGN.md's GPU/CPU tolerance).
// A parameter that differs is reported with its gradients at every step (an Adam step
// turns a near-zero gradient of either sign into a full +-lr move).
func TestBackendParity(t *testing.T) {
	for _, dev := range parityDevices(t) {
		t.Run(dev.String(), func(t *testing.T) { testBackendParity(t, dev) })
	}
}

func testBackendParity(t *testing.T, kdev device.Device) {
	medium := Config{ObsDim: 40, BaseDim: 30, NumActions: 6, PiLayers: []int{64, 32}, VfLayers: []int{48},
		Activation: ActivationReLU}
	cases := []struct {
		name   string
		cfg    Config
		rows   int
		vf     float64
		frozen bool
	}{
		{"phase3 tiny", tinyConfig(), 16, 0, false},
		{"phase2 tiny", tinyPhase2(), 16, 0, false},
		{"phase3 medium vf-clip", medium, 48, 0.2, false},
		{"phase3 medium frozen base", medium, 48, 0, true},
		{"phase3 default", DefaultConfig(), 256, 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cpu := mustNew(t, tc.cfg, 80)
			perturb(t, cpu, newRNG(81), 0.05)
			cpu.SetBaseFrozen(tc.frozen)
			dev := clonePolicy(t, cpu)
			if err := dev.To(kdev); err != nil {
				t.Fatal(err)
			}
			hp := defaultHP()
			hp.ClipRangeVF = tc.vf
			rng := newRNG(82)
			var history [][2][][]float32
			for step := 0; step < 3; step++ {
				mb := randomMinibatch(t, cpu, rng, tc.rows)
				history = append(history, compareEvaluate(t, fmt.Sprintf("step %d", step), cpu, dev, mb, hp))
				a, err := cpu.Update(mb, hp)
				if err != nil {
					t.Fatal(err)
				}
				b, err := dev.Update(mb, hp)
				if err != nil {
					t.Fatal(err)
				}
				if a.Applied != b.Applied || !closeTo(b.GradNorm, a.GradNorm, 1e-4) || !closeTo(b.Loss, a.Loss, 1e-4) {
					t.Fatalf("step %d: cpu %+v, test device %+v", step, a, b)
				}
				compareParams(t, fmt.Sprintf("after step %d", step), cpu, dev, history)
			}
		})
	}
}

// compareEvaluate compares both backends' loss terms and gradients on mb and returns the
// gradients (cpu, device).
func compareEvaluate(t *testing.T, what string, cpu, dev *Policy, mb *Minibatch, hp UpdateParams) [2][][]float32 {
	t.Helper()
	lp := lossParams{ClipRange: hp.ClipRange, ClipRangeVF: hp.ClipRangeVF, EntCoef: hp.EntCoef, VfCoef: hp.VfCoef}
	adv := append([]float32(nil), cpu.normalizeAdv(mb.Adv, true)...)
	var terms [2]lossTerms
	var grads [2][][]float32
	for i, p := range []*Policy{cpu, dev} {
		be, _, err := p.ready()
		if err != nil {
			t.Fatal(err)
		}
		if terms[i], err = be.evaluate(mb, adv, lp, nil); err != nil {
			t.Fatal(err)
		}
		gs, err := be.backward(allTrue(len(p.Params())))
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range gs {
			h, err := hostCopy(g)
			if err != nil {
				t.Fatal(err)
			}
			grads[i] = append(grads[i], append([]float32(nil), h...))
		}
	}
	a, b := terms[0], terms[1]
	for _, c := range []struct {
		name string
		a, b float64
	}{{"loss", a.Loss, b.Loss}, {"policy loss", a.PolicyLoss, b.PolicyLoss}, {"value loss", a.ValueLoss, b.ValueLoss},
		{"entropy loss", a.EntropyLoss, b.EntropyLoss}, {"approx_kl", a.ApproxKL, b.ApproxKL},
		{"clip fraction", a.ClipFraction, b.ClipFraction}} {
		if !closeTo(c.b, c.a, 1e-4) {
			t.Errorf("%s: %s: cpu %v, test device %v", what, c.name, c.a, c.b)
		}
	}
	for i, x := range cpu.Params() {
		maxG, maxD := 0.0, 0.0
		for k := range grads[0][i] {
			g0, g1 := float64(grads[0][i][k]), float64(grads[1][i][k])
			if !closeTo(g1, g0, 1e-4) {
				t.Fatalf("%s: gradient of %s[%d]: cpu %v, %s %v", what, x.Name, k, g0, dev.Device(), g1)
			}
			maxG, maxD = math.Max(maxG, math.Abs(g0)), math.Max(maxD, math.Abs(g1-g0))
		}
		t.Logf("%s: %s: max |gradient| %.3g, max |difference| %.3g", what, x.Name, maxG, maxD)
	}
	return grads
}

// compareParams compares every parameter of two policies; a mismatch is reported with the
// element's gradients at each step so far.
func compareParams(t *testing.T, what string, cpu, dev *Policy, history [][2][][]float32) {
	t.Helper()
	for i, x := range cpu.Params() {
		a, b := hostValues(t, x), hostValues(t, dev.Params()[i])
		for k := range a {
			if !closeTo(float64(b[k]), float64(a[k]), 1e-4) {
				gs := ""
				for s, h := range history {
					gs += fmt.Sprintf(" step %d: cpu %.4g, device %.4g;", s, h[0][i][k], h[1][i][k])
				}
				t.Fatalf("%s: %s[%d]: cpu %v, %s %v; its gradients:%s", what, x.Name, k, a[k], dev.Device(), b[k], gs)
			}
		}
	}
}
