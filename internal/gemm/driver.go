package gemm

// Blocking. The loop nest is BLIS's (jc, pc, ic, jr, ir) without packing A: the kernels
// read A in place, either as MR rows lda apart (A not transposed) or as MR consecutive
// floats per k step (A transposed). B is read in place too, NR consecutive floats per k
// step, unless it is transposed: then it is packed into KC x NR panels (see packB).
const (
	// kcBlock is the k block: one kernel call sums kcBlock products per element. It is
	// fixed (independent of threads, level and shape) because it fixes the arithmetic:
	// each element of C is one FMA chain per k block, added to C block after block. A
	// KC x 32 panel of B (32 KiB) stays in the 48 KiB L1 while the kernels stream A.
	kcBlock = 256
	// ncBlock is the column block whose B (KC x NC, 512 KiB) stays in L2.
	ncBlock = 512
	// mcRows bounds the rows of A (MC x KC, under 256 KiB) that stay in L2 while the
	// kernels sweep the column block.
	mcRows = 256
)

// problem is one Sgemm call after its arguments have been checked.
type problem struct {
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	a, b, c        []float32
	lda, ldb, ldc  int
	lv             level
}

// run computes rows [i0, i1) and columns [j0, j1) of C, using sc for packing.
func (p *problem) run(sc *scratch, i0, i1, j0, j1 int) {
	mr, nr := p.lv.geometry()
	mc := max(mr, mcRows/mr*mr)
	pack := p.transB
	for jc := j0; jc < j1; jc += ncBlock {
		nc := min(ncBlock, j1-jc)
		for pc := 0; pc < p.k; pc += kcBlock {
			kc := min(kcBlock, p.k-pc)
			// Blocks after the first add to what the first wrote.
			beta := p.beta
			if pc > 0 {
				beta = 1
			}
			var bp []float32
			if pack {
				bp = sc.panels(kc * ceilDiv(nc, nr) * nr)
				p.packB(bp, pc, kc, jc, nc, nr)
			}
			for ic := i0; ic < i1; ic += mc {
				mb := min(mc, i1-ic)
				for jr := 0; jr < nc; jr += nr {
					nrr := min(nr, nc-jr)
					var b *float32
					sb := p.ldb
					if pack {
						b, sb = &bp[jr*kc], nr
					} else {
						b = &p.b[pc*p.ldb+jc+jr]
					}
					c := p.c[jc+jr:]
					for ir := 0; ir < mb; ir += mr {
						i := ic + ir
						var a *float32
						if p.transA {
							a = &p.a[pc*p.lda+i]
						} else {
							a = &p.a[i*p.lda+pc]
						}
						kernel(p.lv, p.transA, min(mr, mb-ir), nrr, kc, a, p.lda, b, sb, &c[i*p.ldc], p.ldc, p.alpha, beta)
					}
				}
			}
		}
	}
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }
