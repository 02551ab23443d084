//go:build !amd64

package gemm

// detect: only amd64 has kernels; elsewhere Sgemm is gonum's.
func detect() level { return levelGeneric }

// kernel is never reached: the driver runs only at a level with kernels.
func kernel(l level, transA bool, mr, nr, kc int, a *float32, lda int, b *float32, sb int, c *float32, ldc int, alpha, beta float32) {
	panic("gemm: no kernels at level " + l.String())
}

// transpose8 is never reached: only the driver packs, at a level with kernels.
func transpose8(n int, src *float32, lds int, dst *float32, ldd int) {
	panic("gemm: no kernels")
}
