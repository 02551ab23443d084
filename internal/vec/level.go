package vec

import (
	"os"
	"strings"
)

// simdLevel names a kernel set. The levels are ordered: a CPU that runs one runs every
// level below it.
type simdLevel uint8

const (
	levelGeneric simdLevel = iota // the Go kernels of generic.go
	levelAVX2                     // ymm assembly: AVX2 and FMA
	levelAVX512                   // zmm assembly: AVX-512F
)

func (l simdLevel) String() string {
	switch l {
	case levelAVX512:
		return "avx512"
	case levelAVX2:
		return "avx2"
	}
	return "generic"
}

// simdEnv is the environment variable that lowers the level.
const simdEnv = "HYBRIDTRAIN_SIMD"

// level is the kernel set in use: the best the CPU runs (cpuLevel, from dispatch_*.go),
// lowered by HYBRIDTRAIN_SIMD, read once here. Only tests change it (setLevel).
var level = capLevel(cpuLevel, os.Getenv(simdEnv))

// capLevel returns the level to use on a CPU whose best is best, given the value env of
// HYBRIDTRAIN_SIMD: the level env names if that is lower than best, else best. An empty or
// unknown value changes nothing: the package never fails, prints or exits over it.
func capLevel(best simdLevel, env string) simdLevel {
	for l := levelGeneric; l < best; l++ {
		if strings.EqualFold(strings.TrimSpace(env), l.String()) {
			return l
		}
	}
	return best
}

// Level names the kernel set in use: "avx512", "avx2" or "generic".
func Level() string { return level.String() }

// setLevel makes the package use level l, which the CPU must run, until restore is called.
// It is for tests, which must not run in parallel while they change the level.
func setLevel(l simdLevel) (restore func()) {
	if l > cpuLevel {
		panic("vec: setLevel(" + l.String() + ") above the CPU's " + cpuLevel.String())
	}
	old := level
	level = l
	return func() { level = old }
}
