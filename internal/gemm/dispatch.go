package gemm

import "os"

// level is a kernel set, ordered by capability: a CPU that runs one level runs all lower ones.
type level int

const (
	levelGeneric level = iota // gonum's pure-Go Sgemm
	levelAVX2                 // 6x16 ymm FMA kernels
	levelAVX512               // 14x32 zmm FMA kernels
)

var levelNames = [...]string{levelGeneric: "generic", levelAVX2: "avx2", levelAVX512: "avx512"}

func (l level) String() string { return levelNames[l] }

// envLevel names the environment variable that can force a lower level (the same one as
// internal/vec's, so one setting lowers every CPU kernel), e.g. to compare
// kernels or to rule one out; it is read once, at init.
const envLevel = "HYBRIDTRAIN_SIMD"

var (
	detected level // the best level this CPU and OS support
	active   level // the level Sgemm uses
)

func init() {
	detected = detect()
	active = chooseLevel(detected, os.Getenv(envLevel))
}

// chooseLevel returns the level named by env if the CPU supports it, else best. An unknown
// or unsupported name is ignored: the package has no channel to report it on, and running
// with the best kernels is always correct.
func chooseLevel(best level, env string) level {
	for l, name := range levelNames {
		if env == name && level(l) <= best {
			return level(l)
		}
	}
	return best
}

// Level names the kernel set in use: "avx512", "avx2" or "generic" (gonum's pure-Go Sgemm).
func Level() string { return active.String() }

// setLevel makes Sgemm use l until restore is called; it is for tests, which run every
// level the machine has in one process, and must not run concurrently with Sgemm.
func setLevel(l level) (restore func()) {
	if l > detected {
		panic("gemm: level " + l.String() + " is not supported by this CPU")
	}
	old := active
	active = l
	return func() { active = old }
}

// geometry returns the full micro-tile of the level's kernels, mr rows by nr columns.
func (l level) geometry() (mr, nr int) {
	switch l {
	case levelAVX512:
		return 14, 32
	case levelAVX2:
		return 6, 16
	}
	panic("gemm: no kernels at level " + l.String())
}
