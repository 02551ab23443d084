package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// isa describes one micro-kernel family: mr rows of C by nv vectors of lanes floats.
type isa struct {
	name  string // AVX512 or AVX2, used in function names
	mr    int    // rows of the full tile
	lanes int    // float32 lanes per vector register
	wide  bool   // zmm registers and opmasks (AVX-512F) instead of ymm and VMASKMOVPS
}

// variant is one kernel function: how A is laid out, and the tile width: nv vectors per
// row of C, the last one partial (masked) or not.
type variant struct {
	transA bool // A[i][p] at a + p*lda + i (A transposed) instead of a + i*lda + p
	nv     int
	masked bool
}

// variants are the kernels the driver needs: both layouts of A, each with the full width
// NR = 2 vectors, 2 vectors with a partial second one (lanes < nr < 2*lanes), and 1
// partial-or-full vector (nr <= lanes).
func (x isa) variants() []variant {
	var vs []variant
	for _, t := range []bool{false, true} {
		vs = append(vs, variant{t, 2, false}, variant{t, 2, true}, variant{t, 1, true})
	}
	return vs
}

func (x isa) funcName(v variant) string {
	layout := "N"
	if v.transA {
		layout = "T"
	}
	s := fmt.Sprintf("kern%s%sx%d", x.name, layout, v.nv*x.lanes)
	if v.masked {
		s += "m"
	}
	return s
}

// vec returns vector register i of the family's width.
func (x isa) vec(i int) VecPhysical {
	if x.wide {
		return [...]VecPhysical{
			Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9, Z10, Z11, Z12, Z13, Z14, Z15,
			Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23, Z24, Z25, Z26, Z27, Z28, Z29, Z30, Z31,
		}[i]
	}
	return [...]VecPhysical{
		Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y8, Y9, Y10, Y11, Y12, Y13, Y14, Y15,
	}[i]
}

// Register plan. Accumulators take the low registers, acc(i, v) = vec(i*nv + v); after them
// come the B vectors, the broadcast A element and (AVX2 only) the tail mask:
//
//	AVX-512, 14x32: Z0-Z27 accumulators, Z28-Z29 B row, Z30 A element.
//	AVX2, 6x16:     Y0-Y11 accumulators, Y12-Y13 B row, Y14 A element, Y15 tail mask.
//
// In the epilogue the B registers hold alpha and beta and the A register a row of C.
func (x isa) acc(i, v, nv int) VecPhysical { return x.vec(i*nv + v) }
func (x isa) bvec(v int) VecPhysical       { return x.vec(2*x.mr + v) }
func (x isa) aelem() VecPhysical           { return x.vec(2*x.mr + 2) }
func (x isa) ymask() VecPhysical           { return x.vec(2*x.mr + 3) }

// kernel emits one TEXT block that computes, for a tile of mr (1..x.mr) rows and the
// variant's width,
//
//	C = alpha * A*B + beta * C   (beta == 0: C = alpha * A*B, C not read)
//
// where A[i][p] is at a + i*lda + p, or a + p*lda + i for transA, and B[p][j] at
// b + p*sb + j (strides in elements), with the sum over p = 0..kc-1 as a plain FMA chain
// per element. nlast is the number of columns of the last vector that are inside C (masked
// variants; 1..lanes). The function starts with a branch on mr to one straight-line copy
// of the loop per row count.
func (x isa) kernel(v variant) {
	name := x.funcName(v)
	TEXT(name, NOSPLIT, "func(mr, kc int, a *float32, lda int, b *float32, sb int, c *float32, ldc int, alpha, beta float32, nlast int)")
	Pragma("noescape")
	width := "full"
	if v.masked {
		width = "masked last vector"
	}
	layout := "A[i][p] at a[i*lda+p]"
	if v.transA {
		layout = "A[i][p] at a[p*lda+i]"
	}
	Doc(fmt.Sprintf("%s computes an mr x %d tile (mr = 1..%d, %s, %s) of C = alpha*A*B + beta*C.", name, v.nv*x.lanes, x.mr, width, layout))

	mr := Load(Param("mr"), GP64())
	for r := x.mr; r >= 1; r-- {
		CMPQ(mr, Imm(uint64(r)))
		JEQ(LabelRef(fmt.Sprintf("%s_mr%d", name, r)))
	}
	RET()
	for r := x.mr; r >= 1; r-- {
		Label(fmt.Sprintf("%s_mr%d", name, r))
		x.tile(name, v, r)
	}
}

// tile emits the code for exactly r rows.
func (x isa) tile(name string, v variant, r int) {
	lbl := func(s string) string { return fmt.Sprintf("%s_mr%d_%s", name, r, s) }
	nv := v.nv

	kc := Load(Param("kc"), GP64())
	a0 := Load(Param("a"), GP64())
	lda := Load(Param("lda"), GP64())
	b := Load(Param("b"), GP64())
	sb := Load(Param("sb"), GP64())
	SHLQ(Imm(2), lda)
	SHLQ(Imm(2), sb)

	// A element of row i. Not transposed: rows 0..6 from a0 and rows 7..13 from
	// a1 = a0 + 7*lda, with the index registers lda, lda3 = 3*lda and lda5 = 5*lda scaled by
	// 1, 2 or 4. Transposed: row i at displacement 4*i. Each k step adds 4 (not transposed)
	// or lda to the bases. Only the registers a tile of r rows needs are set up, and no
	// address outside the tile is formed.
	var lda3, lda5, a1 Register
	if !v.transA {
		if r > 3 {
			lda3 = GP64()
			LEAQ(Mem{Base: lda, Index: lda, Scale: 2}, lda3)
		}
		if r > 5 {
			lda5 = GP64()
			LEAQ(Mem{Base: lda, Index: lda, Scale: 4}, lda5)
		}
		if r > 7 {
			a1 = GP64()
			LEAQ(Mem{Base: a0, Index: lda3, Scale: 2}, a1)
			ADDQ(lda, a1)
		}
	}
	elem := func(i int) Mem {
		if v.transA {
			return Mem{Base: a0, Disp: 4 * i}
		}
		base := a0
		if i >= 7 {
			base = a1
		}
		m := Mem{Base: base}
		switch i % 7 {
		case 1:
			m.Index, m.Scale = lda, 1
		case 2:
			m.Index, m.Scale = lda, 2
		case 3:
			m.Index, m.Scale = lda3, 1
		case 4:
			m.Index, m.Scale = lda, 4
		case 5:
			m.Index, m.Scale = lda5, 1
		case 6:
			m.Index, m.Scale = lda3, 2
		}
		return m
	}

	if v.masked {
		x.loadMask()
	}
	last := nv - 1
	// load reads vector j of a B row (or of a C row) into dst; the masked part of the last
	// vector is never touched in memory, so a tile at the end of a slice cannot fault.
	load := func(m Mem, j int, dst VecPhysical) {
		switch {
		case !v.masked || j != last:
			VMOVUPS(m, dst)
		case x.wide:
			VMOVUPS_Z(m, K1, dst)
		default:
			VMASKMOVPS(m, x.ymask(), dst)
		}
	}
	store := func(src VecPhysical, m Mem, j int) {
		switch {
		case !v.masked || j != last:
			VMOVUPS(src, m)
		case x.wide:
			VMOVUPS(src, K1, m)
		default:
			VMASKMOVPS(src, x.ymask(), m)
		}
	}

	for i := 0; i < r; i++ {
		for j := 0; j < nv; j++ {
			acc := x.acc(i, j, nv)
			VXORPS(acc, acc, acc)
		}
	}

	// One k step per iteration: the B row, then per row of A one broadcast feeding nv FMAs.
	// (Unrolling by 2 or 4 measured no faster: the loop's 4 integer uops hide beside 16
	// loads and 28 FMAs.)
	TESTQ(kc, kc)
	JZ(LabelRef(lbl("epilogue")))
	Label(lbl("loop"))
	for j := 0; j < nv; j++ {
		load(Mem{Base: b, Disp: 4 * x.lanes * j}, j, x.bvec(j))
	}
	for i := 0; i < r; i++ {
		VBROADCASTSS(elem(i), x.aelem())
		for j := 0; j < nv; j++ {
			VFMADD231PS(x.bvec(j), x.aelem(), x.acc(i, j, nv))
		}
	}
	if v.transA {
		ADDQ(lda, a0)
	} else {
		ADDQ(Imm(4), a0)
		if r > 7 {
			ADDQ(Imm(4), a1)
		}
	}
	ADDQ(sb, b)
	DECQ(kc)
	JNZ(LabelRef(lbl("loop")))

	// Epilogue: acc = alpha*acc, then acc = beta*C + acc as one FMA unless beta is +-0, in
	// which case C is only written. Both kernel families do exactly these operations in this
	// order, so they round identically.
	Label(lbl("epilogue"))
	alpha, _ := Param("alpha").Resolve()
	beta, _ := Param("beta").Resolve()
	valpha, vbeta, tmp := x.bvec(0), x.bvec(1), x.aelem()
	VBROADCASTSS(alpha.Addr, valpha)
	c := Load(Param("c"), GP64())
	ldc := Load(Param("ldc"), GP64())
	SHLQ(Imm(2), ldc)
	bits := GP32()
	MOVL(beta.Addr, bits)
	SHLL(Imm(1), bits) // drop the sign: -0 counts as zero
	JZ(LabelRef(lbl("nobeta")))
	VBROADCASTSS(beta.Addr, vbeta)
	for i := 0; i < r; i++ {
		for j := 0; j < nv; j++ {
			acc := x.acc(i, j, nv)
			m := Mem{Base: c, Disp: 4 * x.lanes * j}
			VMULPS(valpha, acc, acc)
			if v.masked && j == last {
				load(m, j, tmp)
				VFMADD231PS(tmp, vbeta, acc)
			} else {
				VFMADD231PS(m, vbeta, acc)
			}
			store(acc, m, j)
		}
		if i < r-1 {
			ADDQ(ldc, c)
		}
	}
	VZEROUPPER()
	RET()

	Label(lbl("nobeta"))
	for i := 0; i < r; i++ {
		for j := 0; j < nv; j++ {
			acc := x.acc(i, j, nv)
			VMULPS(valpha, acc, acc)
			store(acc, Mem{Base: c, Disp: 4 * x.lanes * j}, j)
		}
		if i < r-1 {
			ADDQ(ldc, c)
		}
	}
	VZEROUPPER()
	RET()
}

// Tail-mask tables, shared by all kernels of a family. AVX-512 loads K1 from a table of
// 16-bit masks indexed by nlast; AVX2 loads Y15 from 8 consecutive int32s of
// {-1 x 8, 0 x 8} starting at 8-nlast, so that lanes 0..nlast-1 are set. They are declared
// before any function (avo ends the current function at a GLOBL).
var tailmask16, tailmask8 Mem

func maskTables() {
	tailmask16 = GLOBL("tailmask16", RODATA|NOPTR)
	for n := 0; n <= 16; n++ {
		DATA(2*n, U16(uint16(1<<n-1)))
	}
	tailmask8 = GLOBL("tailmask8", RODATA|NOPTR)
	for i := 0; i < 16; i++ {
		val := U32(0)
		if i < 8 {
			val = U32(0xffffffff)
		}
		DATA(4*i, val)
	}
}

// loadMask sets K1 (AVX-512) or Y15 (AVX2) to the lanes 0..nlast-1 of the last vector. The
// table's address is taken first: RIP-relative operands cannot have an index register.
func (x isa) loadMask() {
	n := Load(Param("nlast"), GP64())
	tbl := GP64()
	if x.wide {
		LEAQ(tailmask16, tbl)
		KMOVW(Mem{Base: tbl, Index: n, Scale: 2}, K1)
		return
	}
	LEAQ(tailmask8, tbl)
	NEGQ(n)
	ADDQ(Imm(8), n)
	VMOVDQU(Mem{Base: tbl, Index: n, Scale: 4}, x.ymask())
}
