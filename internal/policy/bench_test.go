package policy

import (
	"fmt"
	"os"
	"syscall"
	"testing"
	"time"

	"hybridtrain/internal/device"
)

// The benchmarks use the default Phase 3 network (261 -> adapter 228 -> [512, 256, 128] x 2
// -> 6 + 1). scripts/bench.sh runs them beside scripts/bench_torch.py (the same network
// and update in PyTorch) and prints the ratios; docs/performance.md records the figures.
// Each runs on the CPU (the gorgonia backend), on the test device (the kernel backend on
// the host engine) and, when HYBRIDTRAIN_BENCH_DEVICE names one (e.g. cuda:0 in a cuda
// build), on that device.

// processCPU is the CPU time (user + system) this process has used so far.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU adds the process CPU time per op (cpu-ns/op, all threads together): on the
// shared development machine wall-clock ns/op includes time spent waiting for a core.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64((processCPU(b)-start).Nanoseconds())/float64(b.N), "cpu-ns/op")
}

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
				start := processCPU(b)
				for i := 0; i < b.N; i++ {
					if err := p.Act(obs, masks, rows, false, rng, out); err != nil {
						b.Fatal(err)
					}
				}
				reportCPU(b, start)
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
				start := processCPU(b)
				for i := 0; i < b.N; i++ {
					if _, err := p.Update(mb, hp); err != nil {
						b.Fatal(err)
					}
				}
				reportCPU(b, start)
			})
		}
	}
}

// backendName names the backend a device selects.
func backendName(dev device.Device) string {
	if dev == device.CPU {
		return cpuBackendName
	}
	return "kernels-" + dev.String()
}
