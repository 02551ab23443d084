//go:build cuda || cudaemu

package policy

// GPU/CPU parity of the whole policy: the CUDA kernel backend against the gorgonia graph
// on the CPU, from the same weights and minibatches. Built with -tags cuda these run
// on the GPU (scripts/gpu-check.sh runs the prebuilt test binary); with -tags
// cudaemu, on the device package's CPU emulator of the same kernels.

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"hybridtrain/internal/adapter"
	"hybridtrain/internal/device"
)

// cudaTestSetup prepares cuda:0 for a test (the emulator build registers its engine);
// nil on a GPU build, where cuda:0 is the real GPU.
var cudaTestSetup func(t testing.TB)

// cudaTestConfigs returns the Phase 3 and Phase 2 networks the parity tests use: the
// specification's on a GPU. The emulator build swaps in smaller ones (still wider than a
// GEMM tile, with remainders), since it runs every CUDA thread as a POSIX thread.
var cudaTestConfigs = func() (phase3, phase2 Config) { return DefaultConfig(), Phase2Config() }

func cudaUse(t testing.TB) device.Device {
	t.Helper()
	if cudaTestSetup != nil {
		cudaTestSetup(t)
	}
	if _, err := device.Open(device.CUDA(0)); err != nil {
		t.Fatalf("open cuda:0: %v", err)
	}
	return device.CUDA(0)
}

// cudaNear is DESIGN.md's GPU/CPU tolerance: |gpu - cpu| <= 1e-4 (1 + |cpu|).
func cudaNear(gpu, cpu float64) bool { return math.Abs(gpu-cpu) <= 1e-4*(1+math.Abs(cpu)) }

// cudaCompareParams checks every parameter of gpu against cpu's within the parity tolerance.
func cudaCompareParams(t *testing.T, gpu, cpu *Policy) {
	t.Helper()
	gp, cp := gpu.Params(), cpu.Params()
	if len(gp) != len(cp) {
		t.Fatalf("%d parameters on the GPU policy, %d on the CPU one", len(gp), len(cp))
	}
	for i := range cp {
		g, c := hostValues(t, gp[i]), hostValues(t, cp[i])
		bad := 0
		for j := range c {
			if !cudaNear(float64(g[j]), float64(c[j])) {
				if bad < 3 {
					t.Errorf("%s[%d] = %v on the GPU, want %v (cpu)", cp[i].Name, j, g[j], c[j])
				}
				bad++
			}
		}
		if bad > 3 {
			t.Errorf("%s: %d of %d values differ", cp[i].Name, bad, len(c))
		}
	}
}

// minReLUMargin is the smallest |pre-activation| of any hidden ReLU unit for one
// observation, in float64 over p's parameters (refNet's layer order: adapter, policy MLP,
// value MLP, then the heads, which it does not need).
func (r *refNet) minReLUMargin(x []float64) float64 {
	i, m := 0, math.Inf(1)
	lin := func(x []float64, act bool) []float64 {
		w, b, in, out := r.ps[i], r.ps[i+1], r.sh[i][0], r.sh[i][1]
		i += 2
		y := make([]float64, out)
		for o := range out {
			s := b[o]
			for k := range in {
				s += x[k] * w[k*out+o]
			}
			if act {
				m = math.Min(m, math.Abs(s))
				s = math.Max(s, 0)
			}
			y[o] = s
		}
		return y
	}
	feat := x
	if r.cfg.HasAdapter() {
		feat = lin(x, false)
	}
	h, v := feat, feat
	for range r.cfg.PiLayers {
		h = lin(h, true)
	}
	for range r.cfg.VfLayers {
		v = lin(v, true)
	}
	return m
}

// awayFromReLUKinks redraws the observation of every minibatch row that puts a hidden
// ReLU pre-activation within margin of zero. At the kink float32 rounding (different
// summation orders on the two devices) may switch the unit on one device and off on the
// other; that changes the gradient of the unit's weights by a whole sample's share, and
// Adam, which normalises each element, turns it into a step of about lr. Parity is only
// defined away from the kink, as a finite difference is (awayFromKinks). The row keeps its
// mask and action, so the minibatch stays valid.
func awayFromReLUKinks(t *testing.T, p *Policy, mb *Minibatch, rng *rand.Rand, margin float64) {
	t.Helper()
	r := newRefNet(t, p)
	d := p.cfg.ObsDim
	x := make([]float64, d)
	for row := range mb.Rows {
		for tries := 0; ; tries++ {
			o := mb.Obs[row*d : (row+1)*d]
			for k := range x {
				x[k] = float64(o[k])
			}
			if r.minReLUMargin(x) >= margin {
				break
			}
			if tries == 100 {
				t.Fatalf("row %d: no observation with every ReLU pre-activation %g from zero in 100 draws", row, margin)
			}
			for k := range o {
				o[k] = float32(rng.NormFloat64())
			}
		}
	}
}

// cudaCloneTo copies p, its Adam state included, onto dev through the checkpoint tensors.
func cudaCloneTo(t *testing.T, p *Policy, dev device.Device) *Policy {
	t.Helper()
	model, opt, err := p.ExportTensors()
	if err != nil {
		t.Fatal(err)
	}
	c := &Checkpoint{Meta: p.Metadata(), Model: model, Optimizer: opt}
	q, err := FromCheckpoint(c)
	if err != nil {
		t.Fatal(err)
	}
	if err := q.LoadOptimizer(c); err != nil {
		t.Fatal(err)
	}
	q.SetBaseFrozen(p.BaseFrozen())
	if err := q.To(dev); err != nil {
		t.Fatalf("To(%v): %v", dev, err)
	}
	return q
}

// TestCUDAUpdateMatchesCPU runs three PPO minibatch updates (forward, loss, backward,
// grad-norm clip, Adam). Before each one the GPU policy is a fresh copy of the CPU policy,
// Adam state included, so that every update starts from the same state and minibatch: the
// loss terms, the gradient norm and every updated parameter are compared after each update.
// (Chaining updates independently on both devices would compare rounding histories: on an
// H200 a pre-activation of 1.5e-7 rounded to opposite signs after two updates, flipping one
// ReLU and a whole Adam step.) The minibatches are host memory; the GPU policy moves them
// to the device itself. Cases: Phase 3 with everything trainable; Phase 3 in the adapter
// warm-up (base frozen: its parameters must not move at all); Phase 2 with value clipping.
func TestCUDAUpdateMatchesCPU(t *testing.T) {
	dev := cudaUse(t)
	phase3, phase2 := cudaTestConfigs()
	cases := []struct {
		name       string
		cfg        Config
		baseFrozen bool
		clipVF     float64
	}{
		{"phase3", phase3, false, 0},
		{"phase3_base_frozen", phase3, true, 0},
		{"phase2_clip_vf", phase2, false, 0.2},
	}
	const rows, steps = 256, 3
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rng := newRNG(17)
			cpu := mustNew(t, tc.cfg, 5)
			perturb(t, cpu, rng, 0.02)
			cpu.SetBaseFrozen(tc.baseFrozen)
			gpu := cudaCloneTo(t, cpu, dev)
			if gpu.Device() != dev {
				t.Fatalf("policy on %v after To(%v)", gpu.Device(), dev)
			}
			if gpu.Adapter() != nil && gpu.Adapter().Device() != dev {
				t.Fatalf("adapter on %v after To(%v)", gpu.Adapter().Device(), dev)
			}
			before := map[string][]float32{}
			for _, p := range cpu.Params() {
				before[p.Name] = hostValues(t, p)
			}
			hp := defaultHP()
			hp.ClipRangeVF = tc.clipVF
			for step := range steps {
				if step > 0 {
					gpu = cudaCloneTo(t, cpu, dev)
				}
				mb := randomMinibatch(t, cpu, rng, rows)
				awayFromReLUKinks(t, cpu, mb, rng, 1e-5)
				sc, err := cpu.Update(mb, hp)
				if err != nil {
					t.Fatalf("step %d: cpu update: %v", step, err)
				}
				sg, err := gpu.Update(mb, hp)
				if err != nil {
					t.Fatalf("step %d: gpu update: %v", step, err)
				}
				if !sc.Applied || !sg.Applied {
					t.Fatalf("step %d: applied cpu %v gpu %v, want both (no target_kl set)", step, sc.Applied, sg.Applied)
				}
				for _, c := range []struct {
					name     string
					gpu, cpu float64
				}{
					{"loss", sg.Loss, sc.Loss}, {"policy loss", sg.PolicyLoss, sc.PolicyLoss},
					{"value loss", sg.ValueLoss, sc.ValueLoss}, {"entropy loss", sg.EntropyLoss, sc.EntropyLoss},
					{"approx_kl", sg.ApproxKL, sc.ApproxKL}, {"gradient norm", sg.GradNorm, sc.GradNorm},
				} {
					if !cudaNear(c.gpu, c.cpu) {
						t.Errorf("step %d: %s = %.8g on the GPU, want %.8g (cpu)", step, c.name, c.gpu, c.cpu)
					}
				}
				// A ratio within float rounding of the clip bound may fall on either side:
				// allow one sample of difference.
				if d := math.Abs(sg.ClipFraction - sc.ClipFraction); d > 1.0/rows+1e-12 {
					t.Errorf("step %d: clip fraction %v on the GPU, want %v (cpu)", step, sg.ClipFraction, sc.ClipFraction)
				}
				if sc.GradNorm <= hp.MaxGradNorm {
					t.Logf("step %d: gradient norm %v does not reach the clip (%v)", step, sc.GradNorm, hp.MaxGradNorm)
				}
				cudaCompareParams(t, gpu, cpu)
			}
			if tc.baseFrozen {
				for _, p := range gpu.Params() {
					if gpu.Adapter() != nil && (p == gpu.Adapter().Weight() || p == gpu.Adapter().Bias()) {
						continue
					}
					cudaAssertFrozen(t, p.Name, hostValues(t, p), before[p.Name])
				}
			}

			// Back on the CPU, the GPU-trained policy acts as the CPU-trained one.
			if err := gpu.To(device.CPU); err != nil {
				t.Fatalf("To(cpu): %v", err)
			}
			obs := randomObs(rng, 64, tc.cfg.ObsDim)
			masks := randomMasks(rng, 64, tc.cfg.NumActions)
			ag, ac := cudaActAll(t, gpu, obs, masks, 64), cudaActAll(t, cpu, obs, masks, 64)
			for i := range ac.Actions {
				if ag.Actions[i] != ac.Actions[i] {
					t.Errorf("row %d: deterministic action %d after the GPU updates, %d after the CPU ones", i, ag.Actions[i], ac.Actions[i])
				}
			}
		})
	}
}

func cudaAssertFrozen(t *testing.T, name string, got, want []float32) {
	t.Helper()
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s[%d] = %v, want it unchanged at %v (frozen)", name, i, got[i], want[i])
		}
	}
}

// cudaActAll runs a deterministic Act.
func cudaActAll(t *testing.T, p *Policy, obs []float32, masks []bool, rows int) *ActResult {
	t.Helper()
	out := &ActResult{Actions: make([]int32, rows), Values: make([]float32, rows), LogProbs: make([]float32, rows)}
	if err := p.Act(obs, masks, rows, true, nil, out); err != nil {
		t.Fatalf("Act on %v: %v", p.Device(), err)
	}
	return out
}

// TestCUDAActMatchesCPU: the rollout pass on the GPU, fed host observations and masks,
// gives the CPU's deterministic actions, values and log-probs (batch 1, as a single env
// steps, and batch 16, as the vectorised envs do), and Values agrees too.
func TestCUDAActMatchesCPU(t *testing.T) {
	dev := cudaUse(t)
	rng := newRNG(23)
	phase3, _ := cudaTestConfigs()
	cpu := mustNew(t, phase3, 9)
	perturb(t, cpu, rng, 0.02)
	gpu := clonePolicy(t, cpu)
	if err := gpu.To(dev); err != nil {
		t.Fatal(err)
	}
	for _, rows := range []int{1, 16} {
		t.Run(fmt.Sprint(rows), func(t *testing.T) {
			obs := randomObs(rng, rows, cpu.cfg.ObsDim)
			masks := randomMasks(rng, rows, cpu.cfg.NumActions)
			ag, ac := cudaActAll(t, gpu, obs, masks, rows), cudaActAll(t, cpu, obs, masks, rows)
			for i := range rows {
				if ag.Actions[i] != ac.Actions[i] {
					t.Errorf("row %d: action %d on the GPU, %d on the CPU", i, ag.Actions[i], ac.Actions[i])
				}
				if !cudaNear(float64(ag.Values[i]), float64(ac.Values[i])) {
					t.Errorf("row %d: value %v on the GPU, %v on the CPU", i, ag.Values[i], ac.Values[i])
				}
				if !cudaNear(float64(ag.LogProbs[i]), float64(ac.LogProbs[i])) {
					t.Errorf("row %d: log-prob %v on the GPU, %v on the CPU", i, ag.LogProbs[i], ac.LogProbs[i])
				}
			}
			vg, vc := make([]float32, rows), make([]float32, rows)
			if err := gpu.Values(obs, rows, vg); err != nil {
				t.Fatalf("Values on the GPU: %v", err)
			}
			if err := cpu.Values(obs, rows, vc); err != nil {
				t.Fatal(err)
			}
			for i := range rows {
				if !cudaNear(float64(vg[i]), float64(vc[i])) {
					t.Errorf("row %d: Values %v on the GPU, %v on the CPU", i, vg[i], vc[i])
				}
			}
		})
	}
}

// TestCUDAAdapterTakesHostObservations: an adapter on the GPU takes host observations (it
// uploads them itself, the one crossing) and returns its output on the GPU, equal to the
// CPU adapter's output for the same weights.
func TestCUDAAdapterTakesHostObservations(t *testing.T) {
	dev := cudaUse(t)
	rng := newRNG(29)
	phase3, _ := cudaTestConfigs()
	cfg := adapter.Config{InDim: phase3.ObsDim, OutDim: phase3.BaseDim}
	mk := func() *adapter.Adapter {
		a, err := adapter.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	ac, ag := mk(), mk()
	for i, p := range ac.Params() {
		hc, _ := p.Buf.HostData()
		hg, _ := ag.Params()[i].Buf.HostData()
		for j := range hc {
			hc[j] += float32(0.05 * rng.NormFloat64())
			hg[j] = hc[j]
		}
	}
	if err := ag.To(dev); err != nil {
		t.Fatal(err)
	}
	const rows = 33
	obs := randomObs(rng, rows, cfg.InDim)
	yc, err := ac.Forward(obs, rows)
	if err != nil {
		t.Fatal(err)
	}
	yg, err := ag.Forward(obs, rows)
	if err != nil {
		t.Fatalf("GPU adapter with host observations: %v", err)
	}
	if yg.Device() != dev {
		t.Fatalf("GPU adapter output on %v, want %v", yg.Device(), dev)
	}
	g, err := hostCopy(yg)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := yc.HostData()
	for i := range c {
		if !cudaNear(float64(g[i]), float64(c[i])) {
			t.Fatalf("output[%d] = %v on the GPU, want %v (cpu)", i, g[i], c[i])
		}
	}
}

// BenchmarkCUDAUpdate is BenchmarkUpdate on cuda:0: one full minibatch update of the
// default network (forward, loss, backward, gradient-norm clip, Adam), the minibatch
// copied from host memory each time, the gradient norm read back (which waits for the GPU).
func BenchmarkCUDAUpdate(b *testing.B) {
	dev := cudaUse(b)
	for _, rows := range []int{64, 256, 2048} {
		b.Run(fmt.Sprintf("%s/minibatch=%d", backendName(dev), rows), func(b *testing.B) {
			p := benchPolicy(b, dev)
			mb := randomMinibatch(b, p, newRNG(4), rows)
			hp := defaultHP()
			if _, err := p.Update(mb, hp); err != nil { // buffers, Adam state
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := p.Update(mb, hp); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCUDAAct is BenchmarkAct on cuda:0: the rollout pass at n_envs-sized batches,
// observations up and logits, log-probs and values down on every call.
func BenchmarkCUDAAct(b *testing.B) {
	dev := cudaUse(b)
	for _, rows := range []int{1, 8, 16} {
		b.Run(fmt.Sprintf("%s/batch=%d", backendName(dev), rows), func(b *testing.B) {
			p := benchPolicy(b, dev)
			rng := newRNG(3)
			obs := randomObs(rng, rows, p.cfg.ObsDim)
			masks := randomMasks(rng, rows, p.cfg.NumActions)
			out := &ActResult{Actions: make([]int32, rows), Values: make([]float32, rows), LogProbs: make([]float32, rows)}
			if err := p.Act(obs, masks, rows, false, rng, out); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := p.Act(obs, masks, rows, false, rng, out); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
