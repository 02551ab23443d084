package gemm

import "testing"

// BenchmarkFMAPeak measures one core's peak float32 FMA throughput with zmm and ymm
// registers: the ceiling for the kernels.
func BenchmarkFMAPeak(b *testing.B) {
	for _, v := range []struct {
		name   string
		flops  float64 // per iteration: chains x lanes x 2
		loop   func(n int)
		minLvl level
	}{
		{"zmm", 24 * 16 * 2, fmaPeakZMM, levelAVX512},
		{"ymm", 12 * 8 * 2, fmaPeakYMM, levelAVX2},
	} {
		b.Run(v.name, func(b *testing.B) {
			if detected < v.minLvl {
				b.Skip("CPU lacks", v.minLvl)
			}
			const iters = 1 << 16
			for b.Loop() {
				v.loop(iters)
			}
			b.ReportMetric(v.flops*iters*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
