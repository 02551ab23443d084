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
// over kc steps, with A[i][p] at a + i*lda + p (a + p*lda + i if transA) and B[p][j] at
// b + p*sb + j, choosing the generated kernel by layout and tile width. Every kernel
// computes each element as the same FMA chain over p followed by the same epilogue, so the
// choice never changes a result.
func kernel(l level, transA bool, mr, nr, kc int, a *float32, lda int, b *float32, sb int, c *float32, ldc int, alpha, beta float32) {
	switch {
	case l == levelAVX512 && !transA:
		switch {
		case nr == 32:
			kernAVX512Nx32(mr, kc, a, lda, b, sb, c, ldc, alpha, beta, 0)
		case nr > 16:
			kernAVX512Nx32m(mr, kc, a, lda, b, sb, c, ldc, alpha, beta, nr-16)
		default:
			kernAVX512Nx16m(mr, kc, a, lda, b, sb, c, ldc, alpha, beta, nr)
		}
	case l == levelAVX512:
		switch {
		case nr == 32:
			kernAVX512Tx32(mr, kc, a, lda, b, sb, c, ldc, alpha, beta, 0)
		case nr > 16:
			kernAVX512Tx32m(mr, kc, a, lda, b, sb, c, ldc, alpha, beta, nr-16)
		default:
			kernAVX512Tx16m(mr, kc, a, lda, b, sb, c, ldc, alpha, beta, nr)
		}
	case l == levelAVX2 && !transA:
		switch {
		case nr == 16:
			kernAVX2Nx16(mr, kc, a, lda, b, sb, c, ldc, alpha, beta, 0)
		case nr > 8:
			kernAVX2Nx16m(mr, kc, a, lda, b, sb, c, ldc, alpha, beta, nr-8)
		default:
			kernAVX2Nx8m(mr, kc, a, lda, b, sb, c, ldc, alpha, beta, nr)
		}
	case l == levelAVX2:
		switch {
		case nr == 16:
			kernAVX2Tx16(mr, kc, a, lda, b, sb, c, ldc, alpha, beta, 0)
		case nr > 8:
			kernAVX2Tx16m(mr, kc, a, lda, b, sb, c, ldc, alpha, beta, nr-8)
		default:
			kernAVX2Tx8m(mr, kc, a, lda, b, sb, c, ldc, alpha, beta, nr)
		}
	default:
		panic("gemm: no kernels at level " + l.String())
	}
}
