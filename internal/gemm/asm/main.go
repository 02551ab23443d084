// Command asm generates the amd64 assembly of package hybridtrain/internal/gemm with avo.
//
// It is its own module so that the main module does not depend on avo. Run it through
// `go generate ./internal/gemm` (see the //go:generate line in internal/gemm/doc.go), which
// writes internal/gemm/sgemm_amd64.s and internal/gemm/stubs_amd64.go;
// scripts/check-generated.sh verifies that the committed files match.
package main

import (
	. "github.com/mmcloughlin/avo/build"
)

func main() {

	avx512 := isa{
		name:  "AVX512",
		mr:    14,
		lanes: 16,
		wide:  true,
	}
	avx2 := isa{
		name:  "AVX2",
		mr:    6,
		lanes: 8,
	}
	maskTables()
	for _, x := range []isa{avx512, avx2} {
		for _, v := range x.variants() {
			x.kernel(v)
		}
	}
	transpose8()
	fmaPeak()
	Generate()
}
