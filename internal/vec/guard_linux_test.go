//go:build linux

package vec

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime/debug"
	"syscall"
	"testing"
	"unsafe"
)

// guarded is one read-write page between two PROT_NONE pages: a slice that ends at the end
// of the page, or starts at its start, faults on any access past its end or before its
// start.
type guarded struct {
	mem  []byte
	page int
}

func newGuarded(t *testing.T) guarded {
	page := syscall.Getpagesize()
	mem, err := syscall.Mmap(-1, 0, 3*page, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Fatalf("mmap: %v", err)
	}
	t.Cleanup(func() { syscall.Munmap(mem) })
	if err := syscall.Mprotect(mem[:page], syscall.PROT_NONE); err != nil {
		t.Fatalf("mprotect: %v", err)
	}
	if err := syscall.Mprotect(mem[2*page:], syscall.PROT_NONE); err != nil {
		t.Fatalf("mprotect: %v", err)
	}
	return guarded{mem, page}
}

// at returns the address of size*n bytes at the end (atEnd) or the start of the page. For
// n = 0 at the end it is the first byte of the guard page.
func (g guarded) at(size, n int, atEnd bool) unsafe.Pointer {
	if atEnd {
		return unsafe.Pointer(&g.mem[2*g.page-size*n])
	}
	return unsafe.Pointer(&g.mem[g.page])
}

func (g guarded) f32(n int, atEnd bool) []float32 {
	return unsafe.Slice((*float32)(g.at(4, n, atEnd)), n)
}

func (g guarded) f64(n int, atEnd bool) []float64 {
	return unsafe.Slice((*float64)(g.at(8, n, atEnd)), n)
}

// TestNoAccessOutside runs every kernel at every level on slices of every length 0..67 (up
// to four zmm vectors and a tail) placed against a PROT_NONE page after their end and
// before their start: an access outside a slice faults, which the test reports as an error
// instead of a crash. It also checks the results against the Go kernels.
func TestNoAccessOutside(t *testing.T) {
	var gs [4]guarded
	for k := range gs {
		gs[k] = newGuarded(t)
	}
	r := rand.New(rand.NewPCG(3, 4))
	// run calls f and turns a fault into a test error. (SetPanicOnFault is per goroutine.)
	run := func(t *testing.T, what string, f func()) (ok bool) {
		defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
		defer func() {
			if e := recover(); e != nil {
				t.Errorf("%s: %v", what, e)
				ok = false
			}
		}()
		f()
		return true
	}
	fill := func(s []float32, scale float64) []float32 {
		for i := range s {
			s[i] = float32(r.NormFloat64() * scale)
		}
		return append([]float32(nil), s...)
	}
	atLevels(t, func(t *testing.T) {
		for n := 0; n <= 67; n++ {
			for _, atEnd := range []bool{true, false} {
				what := func(k string) string { return fmt.Sprintf("%s n=%d atEnd=%v", k, n, atEnd) }
				a, b, c, d := gs[0].f32(n, atEnd), gs[1].f32(n, atEnd), gs[2].f32(n, atEnd), gs[3].f32(n, atEnd)

				a0, b0 := fill(a, 1), fill(b, 1)
				addBiasGo(a0, b0)
				if run(t, what("AddBias"), func() { AddBias(a, b) }) && !equal32(a, a0) {
					t.Errorf("%s: wrong result", what("AddBias"))
				}
				a0, b0 = fill(a, 1), fill(b, 1)
				addBiasReLUGo(a0, b0)
				if run(t, what("AddBiasReLU"), func() { AddBiasReLU(a, b) }) && !equal32(a, a0) {
					t.Errorf("%s: wrong result", what("AddBiasReLU"))
				}
				a0, b0, c0 := fill(a, 1), fill(b, 1), fill(c, 1)
				reluGradGo(a0, b0, c0)
				if run(t, what("ReLUGrad"), func() { ReLUGrad(a, b, c) }) && !equal32(a, a0) {
					t.Errorf("%s: wrong result", what("ReLUGrad"))
				}
				b0 = fill(b, 1)
				reluGradGo(b0, b0, c0)
				if run(t, what("ReLUGrad in place"), func() { ReLUGrad(b, b, c) }) && !equal32(b, b0) {
					t.Errorf("%s: wrong result", what("ReLUGrad in place"))
				}

				acc := gs[0].f64(n, atEnd)
				for i := range acc {
					acc[i] = r.NormFloat64()
				}
				acc0 := append([]float64(nil), acc...)
				b0 = fill(b, 1)
				addTo64Go(acc0, b0)
				if run(t, what("AddTo64"), func() { AddTo64(acc, b) }) {
					for i := range acc {
						if acc[i] != acc0[i] {
							t.Errorf("%s: wrong result", what("AddTo64"))
							break
						}
					}
				}

				b0 = fill(b, 1)
				var sum float64
				if run(t, what("SumSquares"), func() { sum = SumSquares(b) }) {
					if want := sumSquaresGo(b0); math.Abs(sum-want) > 1e-12*want {
						t.Errorf("%s = %v, want %v", what("SumSquares"), sum, want)
					}
				}

				s := adamCases[n%len(adamCases)]
				p0, g0, m0, v0 := fill(a, 1), fill(b, 0.1), fill(c, 0.01), fill(d, 1e-3)
				for i := range d {
					d[i] = float32(math.Abs(float64(d[i])))
					v0[i] = d[i]
				}
				adamGo(p0, g0, m0, v0, s)
				if run(t, what("Adam"), func() { Adam(a, b, c, d, s) }) && !goFusesFMA &&
					(!equal32(a, p0) || !equal32(c, m0) || !equal32(d, v0)) {
					t.Errorf("%s: wrong result", what("Adam"))
				}
			}
		}
	})
}

func equal32(a, b []float32) bool {
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return len(a) == len(b)
}
