package policy

import (
	"errors"
	"math"
	"strings"
	"testing"

	"hybridtrain/internal/adapter"
	"hybridtrain/internal/device"
)

// TestPhase3EqualsPhase2AtInit: Transfer of a random Phase 2 policy gives a Phase 3 policy
// whose logits and value equal the Phase 2 ones on the same first 228 features, whatever
// the 33 context values (max abs difference <= 1e-6), on both backends.
func TestPhase3EqualsPhase2AtInit(t *testing.T) {
	for _, dev := range []device.Device{device.CPU, device.Test(0)} {
		t.Run(dev.String(), func(t *testing.T) {
			p2 := mustNew(t, Phase2Config(), 90)
			perturb(t, p2, newRNG(91), 0.05) // random biases too, not just the init
			p3, err := Transfer(p2, 261)
			if err != nil {
				t.Fatal(err)
			}
			if p3.Device() != device.CPU || p3.Adapter() == nil {
				t.Fatalf("Transfer: device %s, adapter %v; want a cpu policy with an adapter", p3.Device(), p3.Adapter())
			}
			for _, p := range []*Policy{p2, p3} {
				if err := p.To(dev); err != nil {
					t.Fatal(err)
				}
			}
			rng := newRNG(92)
			const rows = 16
			obs2 := randomObs(rng, rows, 228)
			obs3 := make([]float32, rows*261)
			for r := 0; r < rows; r++ {
				copy(obs3[r*261:], obs2[r*228:(r+1)*228])
				for k := 228; k < 261; k++ {
					obs3[r*261+k] = float32(100 * rng.NormFloat64()) // large context values
				}
			}
			f2 := forwardCopy(t, p2, obs2, rows)
			f3 := forwardCopy(t, p3, obs3, rows)
			maxDiff := 0.0
			for i := range f2.Logits {
				maxDiff = math.Max(maxDiff, math.Abs(float64(f2.Logits[i]-f3.Logits[i])))
			}
			for i := range f2.Values {
				maxDiff = math.Max(maxDiff, math.Abs(float64(f2.Values[i]-f3.Values[i])))
			}
			if maxDiff > 1e-6 {
				t.Fatalf("max |phase3 - phase2| over logits and values = %v, want <= 1e-6", maxDiff)
			}
		})
	}
}

// forwardCopy runs p's forward pass with every action legal and copies the result.
func forwardCopy(t *testing.T, p *Policy, obs []float32, rows int) fwdOut {
	t.Helper()
	be, _, err := p.ready()
	if err != nil {
		t.Fatal(err)
	}
	f, err := be.forward(obs, nil, rows)
	if err != nil {
		t.Fatal(err)
	}
	return fwdOut{Logits: append([]float32(nil), f.Logits...), Logp: append([]float32(nil), f.Logp...),
		Values: append([]float32(nil), f.Values...)}
}

func TestTransferCopiesAndChecks(t *testing.T) {
	p2 := mustNew(t, tinyPhase2(), 93)
	p3, err := Transfer(p2, 9)
	if err != nil {
		t.Fatal(err)
	}
	// A copy: changing the base afterwards leaves the transferred policy alone.
	h, _ := p2.base.Pi[0].W.Buf.HostData()
	old := h[0]
	h[0] += 1
	if got := hostValues(t, p3.base.Pi[0].W)[0]; got != old {
		t.Fatalf("transferred weight follows the base: got %v, want %v", got, old)
	}
	if got := p3.Config(); got.ObsDim != 9 || got.BaseDim != 5 || !equalInts(got.PiLayers, []int{6, 5}) {
		t.Fatalf("transferred config %+v", got)
	}
	if _, err := Transfer(p3, 12); err == nil || !strings.Contains(err.Error(), "Phase 2 policy") {
		t.Errorf("Transfer of a Phase 3 policy: got %v", err)
	}
	if _, err := Transfer(p2, 5); err == nil || !strings.Contains(err.Error(), "obs_dim must exceed") {
		t.Errorf("Transfer to obs_dim 5: got %v", err)
	}
}

// TestDevicesMovedPolicyActs: the policy moved to the test device and fed host
// observations and masks acts exactly like the CPU one (same deterministic and sampled
// actions, values and log-probs within the parity tolerance).
func TestDevicesMovedPolicyActs(t *testing.T) {
	cpu := mustNew(t, tinyConfig(), 100)
	perturb(t, cpu, newRNG(101), 0.5)
	dev := clonePolicy(t, cpu)
	if err := dev.To(device.Test(0)); err != nil {
		t.Fatal(err)
	}
	if dev.Device() != device.Test(0) {
		t.Fatalf("Device() = %s, want test:0", dev.Device())
	}
	rng := newRNG(102)
	const rows = 64
	obs := randomObs(rng, rows, cpu.cfg.ObsDim)
	masks := randomMasks(rng, rows, cpu.cfg.NumActions)
	for _, det := range []bool{true, false} {
		var res [2]*ActResult
		for i, p := range []*Policy{cpu, dev} {
			res[i] = &ActResult{Actions: make([]int32, rows), Values: make([]float32, rows), LogProbs: make([]float32, rows)}
			if err := p.Act(obs, masks, rows, det, newRNG(103), res[i]); err != nil {
				t.Fatal(err)
			}
		}
		for r := 0; r < rows; r++ {
			a, b := res[0], res[1]
			if a.Actions[r] != b.Actions[r] || !closeTo(float64(b.Values[r]), float64(a.Values[r]), 1e-4) ||
				!closeTo(float64(b.LogProbs[r]), float64(a.LogProbs[r]), 1e-4) {
				t.Fatalf("deterministic=%v row %d: cpu (%d, %v, %v), test device (%d, %v, %v)", det, r,
					a.Actions[r], a.Values[r], a.LogProbs[r], b.Actions[r], b.Values[r], b.LogProbs[r])
			}
		}
	}
	vs := make([]float32, rows)
	if err := dev.Values(obs, rows, vs); err != nil {
		t.Fatal(err)
	}
	_, want := newRefNet(t, cpu).forward(obs, rows)
	for r := range vs {
		if !closeTo(float64(vs[r]), want[r], 1e-5) {
			t.Fatalf("Values row %d: got %v, want %v", r, vs[r], want[r])
		}
	}
}

// TestToMovesLateAdapter: an adapter set after construction is moved by To with everything
// else; while it sits on another device the next forward pass fails with a device mismatch
// naming both devices (never a silent copy).
func TestToMovesLateAdapter(t *testing.T) {
	p := mustNew(t, tinyConfig(), 110)
	a, err := adapter.New(adapter.Config{InDim: 7, OutDim: 5})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.To(device.Test(1)); err != nil {
		t.Fatal(err)
	}
	if err := p.SetAdapter(a); err != nil {
		t.Fatal(err)
	}
	rng := newRNG(111)
	obs, masks := randomObs(rng, 2, 7), randomMasks(rng, 2, 4)
	out := &ActResult{Actions: make([]int32, 2), Values: make([]float32, 2), LogProbs: make([]float32, 2)}
	err = p.Act(obs, masks, 2, true, nil, out)
	var mm *device.MismatchError
	if !errors.As(err, &mm) || !strings.Contains(err.Error(), "test:1") || !strings.Contains(err.Error(), "cpu") {
		t.Fatalf("Act with a split policy: got %v, want a *device.MismatchError naming test:1 and cpu", err)
	}
	if err := p.To(device.Test(0)); err != nil {
		t.Fatal(err)
	}
	for _, x := range p.Params() {
		if x.Device() != device.Test(0) {
			t.Fatalf("%s is on %s after To(test:0)", x.Name, x.Device())
		}
	}
	if p.Adapter() != a || a.Device() != device.Test(0) {
		t.Fatalf("the late adapter was not moved: %s", a.Device())
	}
	if err := p.Act(obs, masks, 2, true, nil, out); err != nil {
		t.Fatalf("Act after To: %v", err)
	}
	// An Update creates Adam state on the device; To moves it too.
	mb := randomMinibatch(t, p, rng, 4)
	if _, err := p.Update(mb, defaultHP()); err != nil {
		t.Fatal(err)
	}
	if err := p.To(device.CPU); err != nil {
		t.Fatal(err)
	}
	for _, x := range p.Params() {
		st := p.opt[x.Name]
		if x.Device() != device.CPU || st == nil || st.m.Device() != device.CPU || st.v.Device() != device.CPU {
			t.Fatalf("%s after To(cpu): param on %s, adam state %v", x.Name, x.Device(), st)
		}
	}
	if _, err := p.Update(mb, defaultHP()); err != nil {
		t.Fatalf("Update back on the cpu: %v", err)
	}
	if err := p.SetAdapter(nil); err == nil {
		t.Error("SetAdapter(nil) accepted")
	}
	wrong, _ := adapter.New(adapter.Config{InDim: 8, OutDim: 5})
	if err := p.SetAdapter(wrong); err == nil || !strings.Contains(err.Error(), "want obs_dim 7") {
		t.Errorf("SetAdapter with wrong dims: got %v", err)
	}
}

// TestWarmupFrozenBase: with SetBaseFrozen(true), several updates leave every base
// parameter bitwise unchanged (and without Adam state) while the adapter's weights change;
// the reported gradient norm is the adapter's alone. Unfreezing trains everything.
func TestWarmupFrozenBase(t *testing.T) {
	onDevices(t, tinyConfig(), 120, 0.3, func(t *testing.T, p *Policy) {
		p.SetBaseFrozen(true)
		if !p.BaseFrozen() {
			t.Fatal("BaseFrozen() = false after SetBaseFrozen(true)")
		}
		before := map[string][]float32{}
		for _, x := range p.Params() {
			before[x.Name] = hostValues(t, x)
		}
		rng := newRNG(121)
		hp := defaultHP()
		for i := 0; i < 5; i++ {
			mb := randomMinibatch(t, p, rng, 16)
			g := gradsOf(t, p, mb, hp)
			st, err := p.Update(mb, hp)
			if err != nil || !st.Applied {
				t.Fatalf("update %d: %+v %v", i, st, err)
			}
			norm := 0.0
			for _, gi := range g[:2] { // adapter.weight, adapter.bias
				for _, x := range gi {
					norm += x * x
				}
			}
			if !closeTo(st.GradNorm, math.Sqrt(norm), 1e-4) {
				t.Fatalf("update %d: GradNorm %v, want the adapter's %v", i, st.GradNorm, math.Sqrt(norm))
			}
		}
		for _, x := range p.Params() {
			after := hostValues(t, x)
			changed := false
			for k := range after {
				changed = changed || math.Float32bits(after[k]) != math.Float32bits(before[x.Name][k])
			}
			isAdapter := strings.HasPrefix(x.Name, "adapter.")
			if isAdapter && !changed {
				t.Errorf("%s did not change during the warm-up", x.Name)
			}
			if !isAdapter && changed {
				t.Errorf("frozen %s changed", x.Name)
			}
			if !isAdapter && p.opt[x.Name] != nil {
				t.Errorf("frozen %s has Adam state", x.Name)
			}
		}
		p.SetBaseFrozen(false)
		mb := randomMinibatch(t, p, rng, 16)
		if _, err := p.Update(mb, hp); err != nil {
			t.Fatal(err)
		}
		if st := p.opt["action_net.weight"]; st == nil || st.step != 1 {
			t.Errorf("after unfreezing: action_net.weight Adam state %+v, want step 1", st)
		}
		if st := p.opt["adapter.weight"]; st == nil || st.step != 6 {
			t.Errorf("adapter.weight Adam state %+v, want step 6", st)
		}
	})
}
