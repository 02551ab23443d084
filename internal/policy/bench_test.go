package policy

import (
	"fmt"
	"os"
	"testing"

	"hybridtrain/internal/device"
)

// The benchmarks use the default Phase 3 network (261 -> adapter 228 -> [512, 256, 128] x 2
// -> 6 + 1). scripts/bench.sh runs them beside scripts/bench_torch.py (the same network
// and update in PyTorch) and prints the ratios; docs/performance.md records the figures.
// Each runs on the CPU (the gorgonia backend), on the test device (the kernel backend on
// the host engine) and, when HYBRIDTRAIN_BENCH_DEVICE names one (e.g. cuda:0 in a cuda
// build), on that device.

// benchDevices lists the devices the benchmarks run on.
func benchDevices(b *testing.B) []device.Device {
	devs := []device.Device{device.CPU, device.Test(0)}
	if s := os.Getenv("HYBRIDTRAIN_BENCH_DEVICE"); s != "" {
		d, err := device.Parse(s)
		if err != nil {
			b.Fatalf("HYBRIDTRAIN_BENCH_DEVICE: %v", err)
		}
		devs = append(devs, d)
	}
	return devs
}

func benchPolicy(b *testing.B, dev device.Device) *Policy {
	b.Helper()
	p := mustNew(b, DefaultConfig(), 1)
	perturb(b, p, newRNG(2), 0.01)
	if err := p.To(dev); err != nil {
		b.Fatal(err)
	}
	return p
}

// BenchmarkAct is the rollout forward pass (sampled actions) at n_envs-sized batches.
func BenchmarkAct(b *testing.B) {
	for _, dev := range benchDevices(b) {
		for _, rows := range []int{1, 8, 16} {
			b.Run(fmt.Sprintf("%s/batch=%d", backendName(dev), rows), func(b *testing.B) {
				p := benchPolicy(b, dev)
				rng := newRNG(3)
				obs := randomObs(rng, rows, p.cfg.ObsDim)
				masks := randomMasks(rng, rows, p.cfg.NumActions)
				out := &ActResult{Actions: make([]int32, rows), Values: make([]float32, rows), LogProbs: make([]float32, rows)}
				if err := p.Act(obs, masks, rows, false, rng, out); err != nil { // builds the graph
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
}

// BenchmarkUpdate is one full minibatch update: forward, backward, gradient-norm clip and
// Adam (SB3 settings; target_kl off so every step is applied).
func BenchmarkUpdate(b *testing.B) {
	for _, dev := range benchDevices(b) {
		for _, rows := range []int{64, 256, 2048} {
			b.Run(fmt.Sprintf("%s/minibatch=%d", backendName(dev), rows), func(b *testing.B) {
				p := benchPolicy(b, dev)
				mb := randomMinibatch(b, p, newRNG(4), rows)
				hp := defaultHP()
				if _, err := p.Update(mb, hp); err != nil { // builds the graph, Adam state
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
}

// backendName names the backend a device selects.
func backendName(dev device.Device) string {
	if dev == device.CPU {
		return "gorgonia"
	}
	return "kernels-" + dev.String()
}
