package gemm

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

const (
	// parallelMinFlops is the smallest product (2*m*n*k) that is split over threads: below
	// it, waking a worker costs more than it saves.
	parallelMinFlops = 2 << 20
	// maxThreads bounds the worker pool.
	maxThreads = 64
	// packCostFlops weighs one packed element of B against the 2 flops of one
	// multiply-add, for choosing how to split C (splitting along M packs all of B per part).
	packCostFlops = 32
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

// part is a block of C that one thread computes: rows [i0, i1), columns [j0, j1).
type part struct{ i0, i1, j0, j1 int }

// pool is the persistent set of workers. One call at a time owns it (mu); a call that finds
// it taken runs on its own goroutine alone, which keeps concurrent callers safe and never
// makes one wait for another's product.
//
// Hand-off is by spinning, not by channels: waking a parked goroutine on another CPU takes
// 50-70 µs on the development VM (the caller's P keeps the woken worker in its run queue
// while it computes its own part in assembly, until an idle P's thread wakes up and steals
// it), a third of a 256x512x228 product. So a worker that has finished polls for the next
// call for spinFor, yielding its P with runtime.Gosched, and only then parks on its wake
// channel; the owner likewise polls for the workers to finish. Products come in bursts
// (a forward and backward pass), so the spinning is mostly paid for.
type pool struct {
	mu      sync.Mutex
	workers []*worker
	own     scratch // the owner's packing buffer

	// Written by the owner before gen changes, read by the workers the call needs after
	// they see the change.
	prob  problem
	parts [maxThreads]part

	// gen is call number<<8 | number of parts: a change tells spinning workers to look,
	// and a worker the call does not need learns so without reading anything the next
	// call may be writing.
	gen     atomic.Uint64
	pending atomic.Int64 // parts handed out and not yet finished
}

type worker struct {
	id       int // computes parts[id+1]
	sc       scratch
	sleeping atomic.Bool   // parked (or about to park) on wake
	wake     chan struct{} // one token per wake-up, sent by whoever clears sleeping
}

// spinFor is how long an idle worker polls for work before parking.
const spinFor = 200 * time.Microsecond

var (
	workers pool
	// spare holds the scratch of callers that run alone.
	spare = sync.Pool{New: func() any { return new(scratch) }}
)

func (w *worker) loop(wp *pool) {
	seen := uint64(0)
	for {
		seen = w.wait(wp, seen)
		if w.id+1 >= int(seen&0xff) {
			continue // not needed for this call
		}
		pt := wp.parts[w.id+1]
		wp.prob.run(&w.sc, pt.i0, pt.i1, pt.j0, pt.j1)
		wp.pending.Add(-1)
	}
}

// wait returns the first call number other than seen: spinning, then parked.
func (w *worker) wait(wp *pool, seen uint64) uint64 {
	start := time.Now()
	for i := 0; ; i++ {
		if g := wp.gen.Load(); g != seen {
			return g
		}
		if i%64 == 63 {
			if time.Since(start) > spinFor {
				break
			}
			runtime.Gosched()
		}
	}
	w.sleeping.Store(true)
	if g := wp.gen.Load(); g != seen && w.sleeping.CompareAndSwap(true, false) {
		return g // a call came in before the owner could see us asleep
	}
	<-w.wake // the owner cleared sleeping and sent (or is sending) a token
	return wp.gen.Load()
}

// compute runs p, split over as many threads as pay (at most GOMAXPROCS). The split never
// changes a result: each element of C is computed by one thread, the same way.
func compute(p *problem) {
	threads := min(runtime.GOMAXPROCS(0), maxThreads)
	if threads > 1 && 2*float64(p.m)*float64(p.n)*float64(p.k) >= parallelMinFlops && workers.mu.TryLock() {
		defer workers.mu.Unlock()
		if parts := split(p, threads, workers.parts[:]); len(parts) > 1 {
			workers.runParallel(p, len(parts))
			return
		}
		p.run(&workers.own, 0, p.m, 0, p.n)
		return
	}
	sc := spare.Get().(*scratch)
	p.run(sc, 0, p.m, 0, p.n)
	spare.Put(sc)
}

// runParallel hands parts[1:n] to workers, computes parts[0] itself and waits for the rest.
func (wp *pool) runParallel(p *problem, n int) {
	for len(wp.workers) < n-1 {
		w := &worker{id: len(wp.workers), wake: make(chan struct{}, 1)}
		wp.workers = append(wp.workers, w)
		go w.loop(wp)
	}
	wp.prob = *p
	wp.pending.Store(int64(n - 1))
	wp.gen.Store((wp.gen.Load()>>8+1)<<8 | uint64(n))
	for _, w := range wp.workers[:n-1] {
		if w.sleeping.CompareAndSwap(true, false) {
			w.wake <- struct{}{}
		}
	}
	pt := wp.parts[0]
	wp.prob.run(&wp.own, pt.i0, pt.i1, pt.j0, pt.j1)
	for i := 0; wp.pending.Load() != 0; i++ {
		if i%64 == 63 {
			runtime.Gosched()
		}
	}
	wp.prob = problem{} // do not keep the caller's matrices alive
}

// split divides C into at most threads parts of whole tiles, along N or along M,
// whichever finishes sooner by a simple cost model: the largest part's multiply-adds plus
// the B elements it packs (a split along M packs all of B in every part). It returns the
// parts in buf.
func split(p *problem, threads int, buf []part) []part {
	mr, nr := p.lv.geometry()
	k := float64(p.k)
	packCost := func(cols int) float64 {
		if !p.transB {
			return 0
		}
		return packCostFlops * float64(cols) * k
	}
	tn, widthN := even(p.n, nr, threads)
	costN := 2*float64(p.m)*float64(widthN)*k + packCost(widthN)
	tm, heightM := even(p.m, mr, threads)
	costM := 2*float64(heightM)*float64(p.n)*k + packCost(p.n)
	parts := buf[:0]
	if tn > 1 && costN <= costM || tm <= 1 {
		for j0 := 0; j0 < p.n; {
			j1 := min(p.n, j0+widthN)
			parts = append(parts, part{0, p.m, j0, j1})
			j0 = j1
		}
		return parts
	}
	for i0 := 0; i0 < p.m; {
		i1 := min(p.m, i0+heightM)
		parts = append(parts, part{i0, i1, 0, p.n})
		i0 = i1
	}
	return parts
}

// even splits size into at most t runs of whole units (the last may be partial) and
// returns the number of runs and the longest run's length.
func even(size, unit, t int) (runs, longest int) {
	units := ceilDiv(size, unit)
	runs = min(t, units)
	longest = min(size, ceilDiv(units, runs)*unit)
	return ceilDiv(size, longest), longest
}
