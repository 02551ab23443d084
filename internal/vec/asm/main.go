// Command asm generates internal/vec's AVX-512 and AVX2 kernels (../vec_amd64.s) and their Go
// declarations (../stubs_amd64.go) with avo. It is a module of its own so that the main module
// does not require avo. Run it through `go generate ./internal/vec` (the //go:generate line
// in internal/vec/doc.go), which runs, from internal/vec:
//
//	go run -C asm . -out ../vec_amd64.s -stubs ../stubs_amd64.go -pkg vec
//
// The output depends on nothing but this source, so running it twice gives the same files.
//
// Every kernel walks its slices with one index i: blocks of u vectors, then single vectors,
// then one masked vector for the last len%lanes elements (AVX-512 opmask loads and stores,
// AVX2 VMASKMOVPS/VMASKMOVPD), so no kernel reads or writes outside its slices and none
// needs a scalar loop. The zmm kernels use AVX-512F instructions only, the ymm kernels AVX2
// and FMA.
package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// isa is one instruction set: the vector width and its masked loads and stores.
type isa struct {
	suffix string // function name suffix
	lanes  int    // float32 lanes per vector
	vec    func() VecVirtual
}

var (
	avx512 = isa{suffix: "AVX512", lanes: 16, vec: ZMM}
	avx2   = isa{suffix: "AVX2", lanes: 8, vec: YMM}
)

// laneNums holds the int32 lane numbers 0..15: a tail mask of r lanes is laneNums < r.
var laneNums Mem

// mask is the tail mask of a vector of float32: an opmask (AVX-512) or a vector of
// all-ones/zero int32 lanes (AVX2).
type mask struct {
	k Op
	y VecVirtual
}

// tailMask returns the mask of the first r (0 < r < lanes) float32 lanes.
func (l isa) tailMask(r GPVirtual) *mask {
	if l.lanes == 16 {
		t := ZMM()
		VPBROADCASTD(r.As32(), t)
		k := K()
		VPCMPGTD(laneNums, t, k) // k = r > laneNums
		return &mask{k: k}
	}
	x := XMM()
	VMOVD(r.As32(), x)
	y := YMM()
	VPBROADCASTD(x, y)
	VPCMPGTD(laneNums, y, y)
	return &mask{y: y}
}

// load loads float32 lanes from m into dst; with a mask, lanes outside it are not read and
// read as +0.
func (l isa) load(m Mem, dst VecVirtual, mk *mask) {
	switch {
	case mk == nil:
		VMOVUPS(m, dst)
	case mk.k != nil:
		VMOVUPS_Z(m, mk.k, dst)
	default:
		VMASKMOVPS(m, mk.y, dst)
	}
}

// store stores the float32 lanes of src to m; with a mask, only the lanes inside it.
func (l isa) store(src VecVirtual, m Mem, mk *mask) {
	switch {
	case mk == nil:
		VMOVUPS(src, m)
	case mk.k != nil:
		VMOVUPS(src, mk.k, m)
	default:
		VMASKMOVPS(src, mk.y, m)
	}
}

// halves splits a float32 mask into the masks of the float64 vectors that hold the low and
// the high half of its lanes.
func (l isa) halves(mk *mask) (lo, hi *mask) {
	if mk.k != nil {
		k := K()
		KSHIFTRW(U8(8), mk.k, k)
		return mk, &mask{k: k}
	}
	a, b, x := YMM(), YMM(), XMM()
	VPMOVSXDQ(mk.y.AsX(), a)
	VEXTRACTI128(U8(1), mk.y, x)
	VPMOVSXDQ(x, b)
	return &mask{y: a}, &mask{y: b}
}

// load64 and store64 are load and store for float64 lanes.
func (l isa) load64(m Mem, dst VecVirtual, mk *mask) {
	switch {
	case mk == nil:
		VMOVUPD(m, dst)
	case mk.k != nil:
		VMOVUPD_Z(m, mk.k, dst)
	default:
		VMASKMOVPD(m, mk.y, dst)
	}
}

func (l isa) store64(src VecVirtual, m Mem, mk *mask) {
	switch {
	case mk == nil:
		VMOVUPD(src, m)
	case mk.k != nil:
		VMOVUPD(src, mk.k, m)
	default:
		VMASKMOVPD(src, mk.y, m)
	}
}

// cvtHalves converts the float32 lanes of f to float64: the low half into lo, the high
// half into hi.
func (l isa) cvtHalves(f VecVirtual, lo, hi VecVirtual) {
	if l.lanes == 16 {
		VCVTPS2PD(f.AsY(), lo)
		t := YMM()
		VEXTRACTF64X4(U8(1), f, t)
		VCVTPS2PD(t, hi)
		return
	}
	VCVTPS2PD(f.AsX(), lo)
	t := XMM()
	VEXTRACTF128(U8(1), f, t)
	VCVTPS2PD(t, hi)
}

// elems addresses the vector at element index i plus j vectors of a []float32 (size 4) or
// []float64 (size 8) slice at base.
type elems struct {
	base GPVirtual
	size int
}

func (e elems) at(i GPVirtual, lanes, j int) Mem {
	return Mem{Base: e.base, Index: i, Scale: uint8(e.size), Disp: e.size * lanes * j}
}

func slice(name string, size int) elems {
	return elems{base: Load(Param(name).Base(), GP64()).(GPVirtual), size: size}
}

// loop emits the walk over n elements: blocks of u vectors (body called for j = 0..u-1
// with no mask), then single vectors (j = 0), then, if elements remain, one masked
// vector (j = 0). body must do all loads of a vector before its stores.
func (l isa) loop(n GPVirtual, u int, body func(i GPVirtual, j int, mk *mask)) {
	i := GP64()
	XORQ(i, i)
	if u > 1 {
		lim := GP64()
		MOVQ(n, lim)
		SUBQ(U32(u*l.lanes), lim)
		Label("blocks")
		CMPQ(i, lim)
		JG(LabelRef("single"))
		for j := 0; j < u; j++ {
			body(i, j, nil)
		}
		ADDQ(U32(u*l.lanes), i)
		JMP(LabelRef("blocks"))
	}
	Label("single")
	r := GP64()
	MOVQ(n, r)
	SUBQ(i, r)
	CMPQ(r, U32(l.lanes))
	JL(LabelRef("tail"))
	body(i, 0, nil)
	ADDQ(U32(l.lanes), i)
	JMP(LabelRef("single"))
	Label("tail")
	TESTQ(r, r)
	JZ(LabelRef("done"))
	body(i, 0, l.tailMask(r))
	Label("done")
}

func (l isa) text(name, sig string, doc ...string) {
	TEXT(name+l.suffix, NOSPLIT, sig)
	Pragma("noescape")
	Doc(doc...)
}

func ret() {
	VZEROUPPER()
	RET()
}

// zero returns a vector of +0. For zmm it uses VPXORD: the EVEX VXORPS is AVX512DQ.
func zero(l isa) VecVirtual {
	z := l.vec()
	if l.lanes == 16 {
		VPXORD(z, z, z)
	} else {
		VXORPS(z, z, z)
	}
	return z
}

func addBias(l isa, relu bool) {
	name, what := "addBias", "y[i] += b[i] for i < len(y)"
	if relu {
		name, what = "addBiasReLU", "y[i] = max(y[i]+b[i], 0) for i < len(y), keeping a NaN or -0 sum as addBiasReLUGo does"
	}
	l.text(name, "func(y, b []float32)", fmt.Sprintf("%s%s sets %s.", name, l.suffix, what))
	y, b := slice("y", 4), slice("b", 4)
	n := Load(Param("y").Len(), GP64()).(GPVirtual)
	var z VecVirtual
	if relu {
		z = zero(l)
	}
	l.loop(n, 4, func(i GPVirtual, j int, mk *mask) {
		s := l.vec()
		l.load(y.at(i, l.lanes, j), s, mk)
		if mk == nil {
			VADDPS(b.at(i, l.lanes, j), s, s)
		} else {
			t := l.vec()
			l.load(b.at(i, l.lanes, j), t, mk)
			VADDPS(t, s, s)
		}
		if relu {
			// MAXPS returns its second source (here s) unless the first (0) is greater:
			// s < 0 gives +0; NaN, -0 and +0 give s, as Go's `if s < 0 { s = 0 }`.
			VMAXPS(s, z, s)
		}
		l.store(s, y.at(i, l.lanes, j), mk)
	})
	ret()
}

// cmpLTOQ is the VCMPPS predicate "less than, ordered, quiet": 0 < y is false for NaN y.
const cmpLTOQ = 0x11

func reluGrad(l isa) {
	l.text("reluGrad", "func(dst, g, y []float32)",
		fmt.Sprintf("reluGrad%s sets dst[i] = g[i] where y[i] > 0 and +0 elsewhere for i < len(dst); dst may be g.", l.suffix))
	dst, g, y := slice("dst", 4), slice("g", 4), slice("y", 4)
	n := Load(Param("dst").Len(), GP64()).(GPVirtual)
	z := zero(l)
	l.loop(n, 4, func(i GPVirtual, j int, mk *mask) {
		var yv Op = y.at(i, l.lanes, j)
		if mk != nil {
			t := l.vec()
			l.load(yv.(Mem), t, mk)
			yv = t
		}
		l.reluGradStep(dst.at(i, l.lanes, j), g.at(i, l.lanes, j), yv, z, mk)
	})
	ret()
}

// reluGradStep writes g where 0 < y to dst; y is a register (tail) or memory.
func (l isa) reluGradStep(dst, g Mem, y Op, z VecVirtual, mk *mask) {
	d := l.vec()
	if l.lanes == 16 {
		k := K()
		VCMPPS(U8(cmpLTOQ), y, z, k) // k = 0 < y
		// k lies inside the tail mask, so this load reads nothing outside g.
		VMOVUPS_Z(g, k, d)
	} else {
		m := l.vec()
		VCMPPS(U8(cmpLTOQ), y, z, m)
		if mk == nil {
			VANDPS(g, m, d)
		} else {
			l.load(g, d, mk)
			VANDPS(d, m, d)
		}
	}
	l.store(d, dst, mk)
}

func addTo64(l isa) {
	l.text("addTo64", "func(acc []float64, x []float32)",
		fmt.Sprintf("addTo64%s sets acc[i] += float64(x[i]) for i < len(acc).", l.suffix))
	acc, x := slice("acc", 8), slice("x", 4)
	n := Load(Param("acc").Len(), GP64()).(GPVirtual)
	half := l.lanes / 2 // float64 lanes per vector
	l.loop(n, 4, func(i GPVirtual, j int, mk *mask) {
		lo, hi := l.vec(), l.vec()
		a, b := l.vec(), l.vec()
		alo := acc.at(i, half, 2*j)
		ahi := acc.at(i, half, 2*j+1)
		if mk == nil {
			// VCVTPS2PD from memory reads half a vector of float32.
			VCVTPS2PD(x.at(i, half, 2*j), lo)
			VCVTPS2PD(x.at(i, half, 2*j+1), hi)
			VADDPD(alo, lo, lo)
			VADDPD(ahi, hi, hi)
			VMOVUPD(lo, alo)
			VMOVUPD(hi, ahi)
			return
		}
		f := l.vec()
		l.load(x.at(i, l.lanes, j), f, mk)
		l.cvtHalves(f, lo, hi)
		mlo, mhi := l.halves(mk)
		l.load64(alo, a, mlo)
		l.load64(ahi, b, mhi)
		VADDPD(lo, a, a)
		VADDPD(hi, b, b)
		l.store64(a, alo, mlo)
		l.store64(b, ahi, mhi)
	})
	ret()
}

func sumSquares(l isa) {
	l.text("sumSquares", "func(x []float32) float64",
		fmt.Sprintf("sumSquares%s returns the sum of float64(x[i])^2 in eight float64 vector accumulators,", l.suffix),
		"added pairwise at the end: a fixed order for a given len(x).")
	x := slice("x", 4)
	n := Load(Param("x").Len(), GP64()).(GPVirtual)
	const u = 4
	half := l.lanes / 2
	var acc [2 * u]VecVirtual
	for k := range acc {
		acc[k] = zero(l)
	}
	l.loop(n, u, func(i GPVirtual, j int, mk *mask) {
		lo, hi := l.vec(), l.vec()
		if mk == nil {
			VCVTPS2PD(x.at(i, half, 2*j), lo)
			VCVTPS2PD(x.at(i, half, 2*j+1), hi)
		} else {
			// Lanes outside the mask load as +0 and add +0*+0 to a sum that is never -0.
			f := l.vec()
			l.load(x.at(i, l.lanes, j), f, mk)
			l.cvtHalves(f, lo, hi)
		}
		// A float32 squared is exact in float64, so the FMA rounds as mul+add would.
		VFMADD231PD(lo, lo, acc[2*j])
		VFMADD231PD(hi, hi, acc[2*j+1])
	})
	for w := 1; w < len(acc); w *= 2 {
		for k := 0; k+w < len(acc); k += 2 * w {
			VADDPD(acc[k+w], acc[k], acc[k])
		}
	}
	s := acc[0]
	if l.lanes == 16 {
		t := YMM()
		VEXTRACTF64X4(U8(1), s, t)
		VADDPD(t, s.AsY(), s.AsY())
	}
	t := XMM()
	VEXTRACTF128(U8(1), s.AsY(), t)
	VADDPD(t, s.AsX(), s.AsX())
	VUNPCKHPD(s.AsX(), s.AsX(), t)
	VADDSD(t, s.AsX(), s.AsX())
	Store(s.AsX(), ReturnIndex(0))
	ret()
}

// The order of the coefficients in adam's c, that of the fields of vec.AdamStep.
const (
	cBeta1 = iota
	cBeta2
	cOneMinusBeta1
	cOneMinusBeta2
	cStepSize
	cBC2Sqrt
	cEps
	cGradScale
	nCoef
)

func adam(l isa) {
	l.text("adam", "func(p, g, m, v []float32, c *[8]float32)",
		fmt.Sprintf("adam%s applies adamGo's step to p, m and v for i < len(p), with c the fields of", l.suffix),
		"AdamStep in their order, operation by operation as adamGo (no FMA).")
	p, g, m, v := slice("p", 4), slice("g", 4), slice("m", 4), slice("v", 4)
	n := Load(Param("p").Len(), GP64()).(GPVirtual)
	cp := Load(Param("c"), GP64())
	var c [nCoef]VecVirtual
	for k := range c {
		c[k] = l.vec()
		VBROADCASTSS(Mem{Base: cp, Disp: 4 * k}, c[k])
	}
	u := 2 // zmm: 32 registers
	if l.lanes == 8 {
		u = 1 // ymm: 8 coefficient and 5 working registers of 16
	}
	l.loop(n, u, func(i GPVirtual, j int, mk *mask) {
		gi, mi, vi, t, pi := l.vec(), l.vec(), l.vec(), l.vec(), l.vec()
		l.load(g.at(i, l.lanes, j), gi, mk)
		l.load(m.at(i, l.lanes, j), mi, mk)
		l.load(v.at(i, l.lanes, j), vi, mk)
		l.load(p.at(i, l.lanes, j), pi, mk)
		VMULPS(c[cGradScale], gi, gi)    // g*GradScale
		VMULPS(mi, c[cBeta1], mi)        // Beta1*m
		VMULPS(gi, c[cOneMinusBeta1], t) // OneMinusBeta1*g
		VADDPS(t, mi, mi)
		VMULPS(vi, c[cBeta2], vi)        // Beta2*v
		VMULPS(gi, c[cOneMinusBeta2], t) // OneMinusBeta2*g*g
		VMULPS(gi, t, t)
		VADDPS(t, vi, vi)
		l.store(mi, m.at(i, l.lanes, j), mk)
		l.store(vi, v.at(i, l.lanes, j), mk)
		VSQRTPS(vi, t) // sqrt(v)/BC2Sqrt + Eps
		VDIVPS(c[cBC2Sqrt], t, t)
		VADDPS(c[cEps], t, t)
		VDIVPS(t, mi, t) // p -= StepSize*(m/denom)
		VMULPS(t, c[cStepSize], t)
		VSUBPS(t, pi, pi)
		l.store(pi, p.at(i, l.lanes, j), mk)
	})
	ret()
}

func main() {
	laneNums = GLOBL("lanenums", RODATA|NOPTR)
	for k := 0; k < 16; k++ {
		DATA(4*k, U32(k))
	}
	for _, l := range []isa{avx512, avx2} {
		addBias(l, false)
		addBias(l, true)
		reluGrad(l)
		addTo64(l)
		sumSquares(l)
	}
	// Adam is bound by the divider: two VDIVPS and a VSQRTPS per vector. The zmm forms
	// take twice the lanes at half the rate, so no more per cycle, and are 3 uops each on
	// Intel (the ymm forms 1): adam(avx512) was 4-8% slower than adam(avx2) on a Xeon with
	// AVX-512, so it is not generated and the avx512 level runs adamAVX2.
	adam(avx2)
	Generate()
}
