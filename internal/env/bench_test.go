package env

import (
	"math/rand/v2"
	"testing"
	"time"
)

// benchPolicy cycles through the actions and falls back to HOLD when one is masked, so that
// the benchmark opens, manages and closes positions without a generator in the loop.
func benchPolicy(i int, mask []bool) Action {
	a := Action(i % NumActions)
	if !mask[a] {
		return Hold
	}
	return a
}

// BenchmarkStep measures one env: one op is one Step (auto-reset included when an episode
// ends), the Phase 3 observation written.
func BenchmarkStep(b *testing.B) {
	ds := randomWalkDays(b, 20, 41)
	cfg := DefaultConfig()
	cfg.WarmupBars = 60
	e, err := New(ds, cfg, Options{Mode: ModeRandom}, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		b.Fatal(err)
	}
	obs := make([]float32, ObsDim)
	mask := make([]bool, NumActions)
	if err := e.Reset(obs, mask); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	cpu := processCPU(b)
	for i := 0; b.Loop(); i++ {
		if r := e.Step(benchPolicy(i, mask), obs, mask); r.Terminated || r.Truncated {
			_ = e.Reset(obs, mask)
		}
	}
	reportStepCPU(b, cpu)
}

// reportStepCPU adds the process CPU time per op since start (cpu-ns/op): on the shared
// development machine the wall-clock ns/op includes time spent waiting for a core, the CPU
// time does not.
func reportStepCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64((processCPU(b)-start).Nanoseconds())/float64(b.N), "cpu-ns/op")
}

// BenchmarkVecStep measures 8 envs in a VecEnv: one op is one VecEnv.Step (8 env steps).
func BenchmarkVecStep(b *testing.B) {
	ds := randomWalkDays(b, 20, 42)
	cfg := DefaultConfig()
	cfg.WarmupBars = 60
	v, err := NewVec(ds, cfg, Options{Mode: ModeRandom}, 8, 1)
	if err != nil {
		b.Fatal(err)
	}
	defer v.Close()
	batch := NewBatch(8, ObsDim, NumActions)
	if err := v.Reset(batch); err != nil {
		b.Fatal(err)
	}
	actions := make([]int32, 8)
	b.ReportAllocs()
	cpu := processCPU(b)
	for i := 0; b.Loop(); i++ {
		for k := range actions {
			actions[k] = int32(benchPolicy(i+k, batch.Masks[k*NumActions:(k+1)*NumActions]))
		}
		if err := v.Step(actions, batch); err != nil {
			b.Fatal(err)
		}
	}
	reportStepCPU(b, cpu) // all workers' CPU: with -cpu 2 it exceeds the wall-clock ns/op
}

// BenchmarkMarketFeatures measures the per-dataset precomputation, per bar.
func BenchmarkMarketFeatures(b *testing.B) {
	ds := randomWalkDays(b, 20, 43)
	b.ReportAllocs()
	for b.Loop() {
		marketFeatures(ds)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(ds.Bars.Len()), "ns/bar")
}
