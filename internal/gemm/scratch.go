package gemm

import (
	"sync"
	"unsafe"
)

// scratch is one thread's packing buffer, grown as needed and then reused, so that calls
// in a steady state allocate nothing.
type scratch struct{ buf []float32 }

// panels returns n floats starting on a 64-byte boundary (whole cache lines per panel row
// for the zmm loads).
func (s *scratch) panels(n int) []float32 {
	const align = 16 // floats
	if len(s.buf) < n+align {
		s.buf = make([]float32, n+align)
	}
	off := int(-uintptr(unsafe.Pointer(&s.buf[0])) % 64 / 4)
	return s.buf[off : off+n]
}

// scratchList holds the packing buffers of callers that run alone, one per caller at a
// time. Unlike a sync.Pool it never drops them at a GC, which would make a steady state
// reallocate 512 KiB after every collection.
type scratchList struct {
	mu   sync.Mutex
	free []*scratch
}

func (l *scratchList) get() *scratch {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n := len(l.free); n > 0 {
		s := l.free[n-1]
		l.free = l.free[:n-1]
		return s
	}
	return new(scratch)
}

func (l *scratchList) put(s *scratch) {
	l.mu.Lock()
	l.free = append(l.free, s)
	l.mu.Unlock()
}
