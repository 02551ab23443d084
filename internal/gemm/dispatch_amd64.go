package gemm

import "golang.org/x/sys/cpu"

// detect picks the kernels from CPUID. The zmm kernels use only AVX-512F instructions (the
// opmask loads and stores included); x/sys/cpu reports AVX-512F only where the OS saves the
// zmm and opmask state. The ymm kernels need AVX2 for nothing but the implied AVX, and FMA.
func detect() level {
	switch {
	case cpu.X86.HasAVX512F && cpu.X86.HasFMA:
		return levelAVX512
	case cpu.X86.HasAVX2 && cpu.X86.HasFMA:
		return levelAVX2
	}
	return levelGeneric
}

// kernel computes the mr x nr tile (mr <= MR, nr <= NR of l) at c of C = alpha*A*B + beta*C
// over kc steps, with A[i][p] at a + i*rs + p*ks and B[p][j] at b + p*sb + j, choosing the
// generated kernel by tile width. Every kernel computes each element as the same FMA chain
// over p followed by the same epilogue, so the choice never changes a result.
func kernel(l level, mr, nr, kc int, a *float32, rs, ks int, b *float32, sb int, c *float32, ldc int, alpha, beta float32) {
	switch l {
	case levelAVX512:
		switch {
		case nr == 32:
			kernAVX512x32(mr, kc, a, rs, ks, b, sb, c, ldc, alpha, beta, 0)
		case nr > 16:
			kernAVX512x32m(mr, kc, a, rs, ks, b, sb, c, ldc, alpha, beta, nr-16)
		default:
			kernAVX512x16m(mr, kc, a, rs, ks, b, sb, c, ldc, alpha, beta, nr)
		}
	case levelAVX2:
		switch {
		case nr == 16:
			kernAVX2x16(mr, kc, a, rs, ks, b, sb, c, ldc, alpha, beta, 0)
		case nr > 8:
			kernAVX2x16m(mr, kc, a, rs, ks, b, sb, c, ldc, alpha, beta, nr-8)
		default:
			kernAVX2x8m(mr, kc, a, rs, ks, b, sb, c, ldc, alpha, beta, nr)
		}
	default:
		panic("gemm: no kernels at level " + l.String())
	}
}
