package gemm

import (
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"

	"gonum.org/v1/gonum/blas"
)

// parallelCases are products large enough to be split over threads, in every transpose
// pattern, with edges in both dimensions and more than one k block.
func parallelCases(rng *rand.Rand) []*gemmCase {
	return []*gemmCase{
		newCase(rng, blas.NoTrans, blas.NoTrans, 256, 512, 228, 1, 0, 0),
		newCase(rng, blas.NoTrans, blas.Trans, 203, 228, 517, -0.5, 2, 3),
		newCase(rng, blas.Trans, blas.NoTrans, 228, 261, 300, 2, 1, 1),
		newCase(rng, blas.Trans, blas.Trans, 97, 77, 600, 1, -0.5, 0),
		newCase(rng, blas.NoTrans, blas.NoTrans, 2048, 6, 128, 1, 0, 0),
		newCase(rng, blas.NoTrans, blas.NoTrans, 30, 1100, 128, 1, 0, 5),
	}
}

// splitAlways makes every product that can be split use the workers, parked or not, until
// the test ends.
func splitAlways(t *testing.T) {
	w := wakeThreshold
	wakeThreshold = 0
	t.Cleanup(func() { wakeThreshold = w })
}

// withThreads runs f with GOMAXPROCS = n.
func withThreads(n int, f func()) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(n))
	f()
}

// TestThreadsBitwise checks that the result does not depend on the number of threads:
// every element is computed by one thread, the same way, whatever the split.
func TestThreadsBitwise(t *testing.T) {
	splitAlways(t)
	forEachLevel(t, func(t *testing.T) {
		if active == levelGeneric {
			t.Skip("gonum's Sgemm")
		}
		rng := rand.New(rand.NewPCG(9, 10))
		for _, tc := range parallelCases(rng) {
			if n := len(split(&problem{m: tc.m, n: tc.n, k: tc.k, transB: tc.tB != blas.NoTrans, lv: active}, 2, make([]part, 2))); n != 2 {
				t.Fatalf("%v: split in %d parts, want 2 (the case does not test threading)", tc, n)
			}
			var one, two, three []float32
			withThreads(1, func() { one = tc.run(Sgemm) })
			calls := parallelCalls
			withThreads(2, func() { two = tc.run(Sgemm) })
			withThreads(3, func() { three = tc.run(Sgemm) })
			if parallelCalls != calls+2 {
				t.Fatalf("%v: %d of 2 calls were split over threads", tc, parallelCalls-calls)
			}
			if !bitsEqual(one, two) || !bitsEqual(one, three) {
				t.Errorf("%v: 1, 2 and 3 threads give different bits", tc)
			}
			tc.check(t, two, 2000)
		}
	})
}

// TestLevelsBitwise checks that the AVX2 and AVX-512 kernels give the same bits: both
// compute each element as the same FMA chain per k block followed by the same epilogue.
func TestLevelsBitwise(t *testing.T) {
	if ceiling() < levelAVX512 {
		t.Skip("needs AVX-512 to compare with AVX2")
	}
	rng := rand.New(rand.NewPCG(11, 12))
	cases := parallelCases(rng)
	for i := range 300 {
		cases = append(cases, newCase(rng, pick(rng, transposes), pick(rng, transposes),
			1+rng.IntN(67), 1+rng.IntN(67), 1+rng.IntN(67)+i%3*200, pick(rng, scalars), pick(rng, scalars), rng.IntN(4)))
	}
	for _, tc := range cases {
		restore := setLevel(levelAVX2)
		y := tc.run(Sgemm)
		restore()
		restore = setLevel(levelAVX512)
		z := tc.run(Sgemm)
		restore()
		if !bitsEqual(y, z) {
			t.Errorf("%v: AVX2 and AVX-512 differ", tc)
		}
	}
}

// TestConcurrentCallers runs Sgemm from several goroutines at once (one owns the worker
// pool, the others run alone) and requires every result to be bitwise the sequential one.
func TestConcurrentCallers(t *testing.T) {
	splitAlways(t)
	forEachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(13, 14))
		cases := parallelCases(rng)[:4]
		want := make([][]float32, len(cases))
		for i, tc := range cases {
			want[i] = tc.run(Sgemm)
		}
		var wg sync.WaitGroup
		errs := make(chan string, 64)
		for g := range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for r := range 3 {
					i := (g + r) % len(cases)
					if got := cases[i].run(Sgemm); !bitsEqual(got, want[i]) {
						errs <- cases[i].String()
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for e := range errs {
			t.Errorf("%s: concurrent result differs from the sequential one", e)
		}
	})
}

// TestNoAllocs checks that calls in a steady state allocate nothing, alone and with the
// worker pool, whatever the transposes (packing reuses its buffers).
func TestNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	splitAlways(t)
	forEachLevel(t, func(t *testing.T) {
		if active == levelGeneric {
			t.Skip("gonum's Sgemm allocates")
		}
		rng := rand.New(rand.NewPCG(15, 16))
		for _, tc := range append(parallelCases(rng)[:4],
			newCase(rng, blas.NoTrans, blas.NoTrans, 8, 512, 228, 1, 0, 0),
			newCase(rng, blas.NoTrans, blas.Trans, 20, 40, 60, 1, 0, 0)) {
			c := append([]float32(nil), tc.c0...)
			for _, threads := range []int{1, 2} {
				withThreads(threads, func() {
					allocs := testing.AllocsPerRun(20, func() {
						Sgemm(tc.tA, tc.tB, tc.m, tc.n, tc.k, tc.alpha, tc.a, tc.lda, tc.b, tc.ldb, tc.beta, c, tc.ldc)
					})
					if allocs != 0 {
						t.Errorf("%v, %d threads: %v allocations per call", tc, threads, allocs)
					}
				})
			}
		}
	})
}
