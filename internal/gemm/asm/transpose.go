package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// transpose8 emits transpose8(n, src, lds, dst, ldd), which transposes an 8 x 8n block:
// dst[c*ldd + r] = src[r*lds + c] for r < 8, c < 8n (strides in elements). It packs a
// transposed B: scalar Go moves one float per ~2 cycles, this 64 per ~16 (AVX only, so
// both kernel families use it).
//
// Per 8x8 block: rows r and r+4 are loaded into the two 128-bit lanes of one register
// (low half of the 8 columns first, then the high half), after which the classic 4x4
// unpack/shuffle transpose inside each lane yields whole columns.
func transpose8() {
	TEXT("transpose8", NOSPLIT, "func(n int, src *float32, lds int, dst *float32, ldd int)")
	Pragma("noescape")
	Doc("transpose8 sets dst[c*ldd + r] = src[r*lds + c] for r < 8, c < 8*n.")
	n := Load(Param("n"), GP64())
	src := Load(Param("src"), GP64())
	lds := Load(Param("lds"), GP64())
	dst := Load(Param("dst"), GP64())
	ldd := Load(Param("ldd"), GP64())
	SHLQ(Imm(2), lds)
	SHLQ(Imm(2), ldd)
	lds3 := GP64()
	LEAQ(Mem{Base: lds, Index: lds, Scale: 2}, lds3)
	src4 := GP64() // row 4
	LEAQ(Mem{Base: src, Index: lds, Scale: 4}, src4)
	ldd3 := GP64()
	LEAQ(Mem{Base: ldd, Index: ldd, Scale: 2}, ldd3)

	// Row r of the block, columns off..off+3, from src (r < 4) or src4.
	row := func(r, off int) Mem {
		base := src
		if r >= 4 {
			base = src4
		}
		m := Mem{Base: base, Disp: 4 * off}
		switch r % 4 {
		case 1:
			m.Index, m.Scale = lds, 1
		case 2:
			m.Index, m.Scale = lds, 2
		case 3:
			m.Index, m.Scale = lds3, 1
		}
		return m
	}
	// Column c of the block goes to dst row c: from dst for c < 4, dst + 4*ldd after.
	dst4 := GP64()
	out := func(c int) Mem {
		base := dst
		if c >= 4 {
			base = dst4
		}
		m := Mem{Base: base}
		switch c % 4 {
		case 1:
			m.Index, m.Scale = ldd, 1
		case 2:
			m.Index, m.Scale = ldd, 2
		case 3:
			m.Index, m.Scale = ldd3, 1
		}
		return m
	}

	t := []VecPhysical{Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7}
	u := []VecPhysical{Y8, Y9, Y10, Y11}

	TESTQ(n, n)
	JZ(LabelRef("transpose8_done"))
	Label("transpose8_loop")
	LEAQ(Mem{Base: dst, Index: ldd, Scale: 4}, dst4)
	for half := 0; half < 2; half++ {
		// t[4*half + r] = row r | row r+4, columns 4*half..4*half+3.
		for r := 0; r < 4; r++ {
			x := t[4*half+r]
			VMOVUPS(row(r, 4*half), x.AsX())
			VINSERTF128(Imm(1), row(r+4, 4*half), x, x)
		}
	}
	for half := 0; half < 2; half++ {
		t0, t1, t2, t3 := t[4*half], t[4*half+1], t[4*half+2], t[4*half+3]
		VUNPCKLPS(t1, t0, u[0]) // r0c0 r1c0 r0c1 r1c1 | r4.. r5..
		VUNPCKHPS(t1, t0, u[1]) // r0c2 r1c2 r0c3 r1c3 | ...
		VUNPCKLPS(t3, t2, u[2])
		VUNPCKHPS(t3, t2, u[3])
		VSHUFPS(Imm(0x44), u[2], u[0], t0) // column 0: r0 r1 r2 r3 | r4 r5 r6 r7
		VSHUFPS(Imm(0xee), u[2], u[0], t1) // column 1
		VSHUFPS(Imm(0x44), u[3], u[1], t2) // column 2
		VSHUFPS(Imm(0xee), u[3], u[1], t3) // column 3
		for c := 0; c < 4; c++ {
			VMOVUPS(t[4*half+c], out(4*half+c))
		}
	}
	ADDQ(Imm(32), src)
	ADDQ(Imm(32), src4)
	LEAQ(Mem{Base: dst, Index: ldd, Scale: 8}, dst)
	DECQ(n)
	JNZ(LabelRef("transpose8_loop"))
	Label("transpose8_done")
	VZEROUPPER()
	RET()
}
