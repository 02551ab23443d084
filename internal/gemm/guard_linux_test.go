package gemm

import (
	"math/rand/v2"
	"runtime/debug"
	"syscall"
	"testing"
	"unsafe"

	"gonum.org/v1/gonum/blas"
)

// guarded is a float32 region between two PROT_NONE pages: any access just before or just
// after it faults.
type guarded struct {
	mem  []byte
	data []float32
}

func newGuarded(t *testing.T, floats int) *guarded {
	page := syscall.Getpagesize()
	size := (floats*4 + page - 1) / page * page
	mem, err := syscall.Mmap(-1, 0, size+2*page, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Munmap(mem) })
	if err := syscall.Mprotect(mem[:page], syscall.PROT_NONE); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mprotect(mem[page+size:], syscall.PROT_NONE); err != nil {
		t.Fatal(err)
	}
	body := mem[page : page+size]
	return &guarded{mem: mem, data: unsafe.Slice((*float32)(unsafe.Pointer(&body[0])), size/4)}
}

// place copies x into the region, against its end (atEnd) or its start, and returns the
// copy.
func (g *guarded) place(x []float32, atEnd bool) []float32 {
	var s []float32
	if atEnd {
		s = g.data[len(g.data)-len(x):]
	} else {
		s = g.data[:len(x)]
	}
	copy(s, x)
	return s[:len(x):len(x)]
}

// TestGuardPages runs many shapes with A, B and C cut to the exact lengths Sgemm requires
// ((rows-1)*ld + cols) and placed against a PROT_NONE page, after them and before them:
// a read or write outside the matrices faults. On the test's goroutine SetPanicOnFault
// turns the fault into a failure that names the shape; in a pool worker (the last cases,
// which are split over threads) it crashes the test binary.
func TestGuardPages(t *testing.T) {
	const maxFloats = 1 << 20
	splitAlways(t)
	ga, gb, gc := newGuarded(t, maxFloats), newGuarded(t, maxFloats), newGuarded(t, maxFloats)
	forEachLevel(t, func(t *testing.T) {
		defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
		rng := rand.New(rand.NewPCG(17, 18))
		var cases []*gemmCase
		for i := range 3 * 67 {
			m, n, k := 1+rng.IntN(67), 1+rng.IntN(67), 1+rng.IntN(67)
			switch i / 67 {
			case 0:
				m = 1 + i
			case 1:
				n = 1 + i%67
			default:
				k = 1 + i%67
			}
			for _, tA := range transposes {
				for _, tB := range transposes {
					cases = append(cases, newCase(rng, tA, tB, m, n, k, 1, pick(rng, scalars), rng.IntN(2)*rng.IntN(9)))
				}
			}
		}
		cases = append(cases, parallelCases(rng)...)
		for _, tc := range cases {
			for _, atEnd := range []bool{true, false} {
				exact := func(x []float32, rows, cols, ld int) []float32 { return x[:(rows-1)*ld+cols] }
				ar, ac := tc.m, tc.k
				if tc.tA != blas.NoTrans {
					ar, ac = ac, ar
				}
				br, bc := tc.k, tc.n
				if tc.tB != blas.NoTrans {
					br, bc = bc, br
				}
				a := ga.place(exact(tc.a, ar, ac, tc.lda), atEnd)
				b := gb.place(exact(tc.b, br, bc, tc.ldb), atEnd)
				c := gc.place(exact(tc.c0, tc.m, tc.n, tc.ldc), atEnd)
				func() {
					defer func() {
						if r := recover(); r != nil {
							t.Fatalf("%v (matrices at the %s of their regions): %v", tc, map[bool]string{true: "end", false: "start"}[atEnd], r)
						}
					}()
					Sgemm(tc.tA, tc.tB, tc.m, tc.n, tc.k, tc.alpha, a, tc.lda, b, tc.ldb, tc.beta, c, tc.ldc)
				}()
				full := append(append([]float32(nil), c...), tc.c0[len(c):]...)
				tc.check(t, full, 500)
			}
		}
	})
}
