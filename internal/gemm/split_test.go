package gemm

import (
	"math/rand/v2"
	"testing"
)

// TestSplit checks that split covers C exactly once with at most threads parts whose
// boundaries fall on whole tiles, and uses more than one part when there is room.
func TestSplit(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 20))
	for _, lv := range []level{levelAVX2, levelAVX512} {
		mr, nr := lv.geometry()
		for range 2000 {
			p := &problem{m: 1 + rng.IntN(300), n: 1 + rng.IntN(300), k: 1 + rng.IntN(300), transB: rng.IntN(2) == 0, lv: lv}
			threads := 1 + rng.IntN(5)
			parts := split(p, threads, make([]part, maxThreads))
			if len(parts) < 1 || len(parts) > threads {
				t.Fatalf("%+v, %d threads: %d parts", p, threads, len(parts))
			}
			if threads > 1 && len(parts) == 1 && (p.m > mr || p.n > nr) {
				t.Errorf("%+v, %d threads: not split", p, threads)
			}
			covered := make([]int, p.m*p.n)
			for _, pt := range parts {
				if pt.i0%mr != 0 || pt.j0%nr != 0 || pt.i0 >= pt.i1 || pt.j0 >= pt.j1 || pt.i1 > p.m || pt.j1 > p.n {
					t.Fatalf("%+v, %d threads: bad part %+v", p, threads, pt)
				}
				for i := pt.i0; i < pt.i1; i++ {
					for j := pt.j0; j < pt.j1; j++ {
						covered[i*p.n+j]++
					}
				}
			}
			for e, n := range covered {
				if n != 1 {
					t.Fatalf("%+v, %d threads: element %d in %d parts", p, threads, e, n)
				}
			}
		}
	}
}
