module hybridtrain/internal/gemm/asm

go 1.26.0

require github.com/mmcloughlin/avo v0.6.0

require (
	golang.org/x/mod v0.43.0 // indirect
	golang.org/x/sync v0.25.0 // indirect
	// avo v0.6.0 asks for x/tools v0.16.1, whose internal/tokeninternal does not build with
	// Go 1.22 and later; this newer x/tools does.
	golang.org/x/tools v0.53.0 // indirect
)
