package gemm

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	"gonum.org/v1/gonum/blas"
)

// benchShapes are the products of a 228 -> 512 layer (the default network's widest) at
// three batch sizes, plus the heads and the few-row rollout forward.
var benchShapes = func() []benchShape {
	var s []benchShape
	for _, rows := range []int{64, 256, 2048} {
		s = append(s,
			benchShape{fmt.Sprintf("NN_m%d_n512_k228", rows), blas.NoTrans, blas.NoTrans, rows, 512, 228},
			benchShape{fmt.Sprintf("NT_m%d_n228_k512", rows), blas.NoTrans, blas.Trans, rows, 228, 512},
			benchShape{fmt.Sprintf("TN_m228_n512_k%d", rows), blas.Trans, blas.NoTrans, 228, 512, rows},
		)
	}
	return append(s,
		benchShape{"NN_m8_n512_k228", blas.NoTrans, blas.NoTrans, 8, 512, 228},
		benchShape{"NN_m1_n512_k228", blas.NoTrans, blas.NoTrans, 1, 512, 228},
		benchShape{"NN_m2048_n6_k128", blas.NoTrans, blas.NoTrans, 2048, 6, 128},
		benchShape{"NN_m2048_n1_k128", blas.NoTrans, blas.NoTrans, 2048, 1, 128},
		benchShape{"NN_m256_n256_k512", blas.NoTrans, blas.NoTrans, 256, 256, 512},
	)
}()

type benchShape struct {
	name    string
	tA, tB  blas.Transpose
	m, n, k int
}

// BenchmarkSgemm reports GFLOP/s (2mnk per call) of this package's Sgemm at the dispatched
// level and of gonum's, with 1 and 2 threads (GOMAXPROCS).
func BenchmarkSgemm(b *testing.B) {
	for _, s := range benchShapes {
		rng := rand.New(rand.NewPCG(7, 8))
		tc := newCase(rng, s.tA, s.tB, s.m, s.n, s.k, 1, 0, 0)
		c := append([]float32(nil), tc.c0...)
		for _, impl := range []string{"gemm", "gonum"} {
			f := Sgemm
			if impl == "gonum" {
				f = gonumSgemm
			}
			for _, threads := range []int{1, 2} {
				b.Run(fmt.Sprintf("%s/%s/threads=%d", s.name, impl, threads), func(b *testing.B) {
					defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(threads))
					b.ReportAllocs()
					for b.Loop() {
						f(s.tA, s.tB, s.m, s.n, s.k, 1, tc.a, tc.lda, tc.b, tc.ldb, 0, c, tc.ldc)
					}
					flops := 2 * float64(s.m) * float64(s.n) * float64(s.k) * float64(b.N)
					b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			}
		}
	}
}
