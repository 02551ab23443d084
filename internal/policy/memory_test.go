package policy

import (
	"os"
	"runtime"
	"testing"

	"hybridtrain/internal/device"
)

// heapAfterGC is the live heap after a full collection (finalizers get a second GC to
// run, since a finalized object is freed by the cycle after its finalizer).
func heapAfterGC() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// flatHeap runs step n times and checks that the live heap, sampled every n/8 steps after
// a warm-up eighth, grows by less than slack bytes.
func flatHeap(t *testing.T, n int, slack uint64, step func(i int)) {
	t.Helper()
	var first, maxHeap uint64
	for i := 0; i < n; i++ {
		step(i)
		if (i+1)%(n/8) == 0 {
			h := heapAfterGC()
			if first == 0 {
				first = h
			}
			maxHeap = max(maxHeap, h)
			t.Logf("after %d: heap %d kB", i+1, h/1024)
		}
	}
	if maxHeap > first+slack {
		t.Fatalf("live heap grew from %d kB to %d kB over %d steps (slack %d kB)", first/1024, maxHeap/1024, n, slack/1024)
	}
}

// TestMemoryFlat runs 2,000 updates (with rollout forwards between them) on a small
// network on both backends: the live heap must stay flat (within 512 kB of its level after
// the first 250), i.e. graphs, VMs, gradients and device buffers are reused, not leaked.
func TestMemoryFlat(t *testing.T) {
	onDevices(t, tinyConfig(), 160, 0.3, func(t *testing.T, p *Policy) {
		rng := newRNG(161)
		mb := randomMinibatch(t, p, rng, 64)
		out := &ActResult{Actions: make([]int32, 8), Values: make([]float32, 8), LogProbs: make([]float32, 8)}
		hp := defaultHP()
		flatHeap(t, 2000, 512<<10, func(i int) {
			if err := p.Act(mb.Obs[:8*p.cfg.ObsDim], mb.Masks[:8*p.cfg.NumActions], 8, false, rng, out); err != nil {
				t.Fatal(err)
			}
			if _, err := p.Update(mb, hp); err != nil {
				t.Fatal(err)
			}
		})
	})
}

// TestGraphRebuildsDoNotLeak moves the policy back and forth between the CPU and the test
// device 200 times, which drops and rebuilds the gorgonia graphs and VMs each time: a
// G.Read target kept next to its VM would leak every graph (deps-gorgonia.md).
func TestGraphRebuildsDoNotLeak(t *testing.T) {
	p := mustNew(t, tinyConfig(), 170)
	rng := newRNG(171)
	mb := randomMinibatch(t, p, rng, 32)
	flatHeap(t, 200, 512<<10, func(i int) {
		for _, dev := range []device.Device{device.Test(0), device.CPU} {
			if err := p.To(dev); err != nil {
				t.Fatal(err)
			}
			if _, err := p.Update(mb, defaultHP()); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// TestMemoryFlatDefaultNetwork is TestMemoryFlat on the default Phase 3 network at the
// default minibatch size (256) on the CPU; about a minute, so it is gated.
func TestMemoryFlatDefaultNetwork(t *testing.T) {
	if os.Getenv("HYBRIDTRAIN_SLOW") == "" {
		t.Skip("set HYBRIDTRAIN_SLOW=1 to run 2,000 default-network updates")
	}
	p := mustNew(t, DefaultConfig(), 180)
	rng := newRNG(181)
	mb := randomMinibatch(t, p, rng, 256)
	flatHeap(t, 2000, 2<<20, func(i int) {
		if _, err := p.Update(mb, defaultHP()); err != nil {
			t.Fatal(err)
		}
	})
}
