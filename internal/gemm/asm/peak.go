package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// fmaPeak emits fmaPeakZMM and fmaPeakYMM, loops of independent VFMADD231PS chains (24 zmm,
// 12 ymm: more than FMA latency times FMA ports, so only throughput limits them). They exist
// for BenchmarkFMAPeak, which reports the core's peak float32 GFLOP/s to compare the GEMM with.
func fmaPeak() {
	z := []VecPhysical{Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9, Z10, Z11, Z12, Z13, Z14, Z15,
		Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23}
	y := []VecPhysical{Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y8, Y9, Y10, Y11}
	peak("fmaPeakZMM", z, Z24, Z25)
	peak("fmaPeakYMM", y, Y12, Y13)
}

func peak(name string, chains []VecPhysical, x, y VecPhysical) {
	TEXT(name, NOSPLIT, "func(n int)")
	Doc(name + " runs n iterations of independent FMA chains (see BenchmarkFMAPeak).")
	n := Load(Param("n"), GP64())
	for _, r := range append(chains, x, y) {
		VXORPS(r, r, r)
	}
	TESTQ(n, n)
	JZ(LabelRef(name + "_done"))
	Label(name + "_loop")
	for _, r := range chains {
		VFMADD231PS(x, y, r)
	}
	DECQ(n)
	JNZ(LabelRef(name + "_loop"))
	Label(name + "_done")
	VZEROUPPER()
	RET()
}
