package gemm

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// parallelMinFlops is the smallest product (2*m*n*k) that is split over threads whose
	// workers are awake (polling after a recent call): a 2 MFLOP product takes about 12 µs
	// on one core and 7 µs on two.
	parallelMinFlops = 2e6
	// wakeMinFlops is the smallest product for which parked workers are woken. Waking one
	// costs 50-70 µs before it starts (and slowed the caller too on the development VM),
	// so smaller products run on the caller alone, and the few-row products of a rollout
	// (one forward pass per environment step) never pay for a wake-up; a 32 MFLOP product
	// takes about 190 µs on one core.
	wakeMinFlops = 32e6
	// maxThreads bounds the worker pool.
	maxThreads = 64
	// spinFor is how long an idle worker polls for work before parking.
	spinFor = 200 * time.Microsecond
)

var (
	// wakeThreshold is wakeMinFlops; tests lower it to make every split product use the
	// workers.
	wakeThreshold float64 = wakeMinFlops
	// parallelCalls counts calls split over threads (under workers.mu), for tests.
	parallelCalls int
)

// part is a block of C that one thread computes: rows [i0, i1), columns [j0, j1).
type part struct{ i0, i1, j0, j1 int }

// pool is the persistent set of workers. One call at a time owns it (mu); a call that finds
// it taken runs on its own goroutine alone, which keeps concurrent callers safe and never
// makes one wait for another's product.
//
// The owner publishes the parts and then, like the workers, claims parts one at a time
// until none is left; so if a worker is slow to wake, the owner computes its part itself
// instead of waiting for it. Waking a parked goroutine on another CPU took 50-70 µs on the
// development VM (longer than a 2 MFLOP product), so an idle worker polls for the next
// call for spinFor, yielding its P with runtime.Gosched, before it parks on its wake
// channel. Products come in bursts (a forward and a backward pass), so the polling mostly
// pays off.
type pool struct {
	mu      sync.Mutex
	workers []*worker
	own     scratch // the owner's packing buffer

	// Written by the owner before it publishes a call in state; read by whoever claims a
	// part of that call.
	prob  problem
	parts [maxThreads]part

	// state is call number<<16 | number of parts<<8 | next part to claim. Claiming is a
	// compare-and-swap on the whole word, so a worker that is late for one call can never
	// claim a part of the next one by mistake.
	state   atomic.Uint64
	pending atomic.Int64 // parts of the current call not yet finished
}

type worker struct {
	sc       scratch
	sleeping atomic.Bool   // parked (or about to park) on wake
	wake     chan struct{} // one token per wake-up, sent by whoever clears sleeping
}

var (
	workers pool
	spare   scratchList // packing buffers of callers that run alone
)

// claimAll computes parts of call gen until none is left unclaimed.
func (wp *pool) claimAll(gen uint64, sc *scratch) {
	for {
		st := wp.state.Load()
		next, n := st&0xff, st>>8&0xff
		if st>>16 != gen || next >= n {
			return
		}
		if wp.state.CompareAndSwap(st, st+1) {
			pt := wp.parts[next]
			wp.prob.run(sc, pt.i0, pt.i1, pt.j0, pt.j1)
			wp.pending.Add(-1)
		}
	}
}

func (w *worker) loop(wp *pool) {
	var gen uint64
	for {
		gen = w.wait(wp, gen)
		wp.claimAll(gen, &w.sc)
	}
}

// wait returns the first call number other than seen: spinning, then parked.
func (w *worker) wait(wp *pool, seen uint64) uint64 {
	start := time.Now()
	for i := 0; ; i++ {
		if g := wp.state.Load() >> 16; g != seen {
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
	if g := wp.state.Load() >> 16; g != seen && w.sleeping.CompareAndSwap(true, false) {
		return g // a call came in before the owner could see us asleep
	}
	<-w.wake // the owner cleared sleeping and sent (or is sending) a token
	return wp.state.Load() >> 16
}

// compute runs p, split over as many threads as pay (at most GOMAXPROCS). The split never
// changes a result: each element of C is computed by one thread, the same way.
func compute(p *problem) {
	threads := min(runtime.GOMAXPROCS(0), maxThreads)
	flops := 2 * float64(p.m) * float64(p.n) * float64(p.k)
	if threads > 1 && flops >= parallelMinFlops && workers.mu.TryLock() {
		defer workers.mu.Unlock()
		if parts := split(p, threads, workers.parts[:]); len(parts) > 1 && (flops >= wakeThreshold || workers.awake(len(parts)-1)) {
			workers.runParallel(p, len(parts))
			return
		}
		p.run(&workers.own, 0, p.m, 0, p.n)
		return
	}
	sc := spare.get()
	p.run(sc, 0, p.m, 0, p.n)
	spare.put(sc)
}

// awake reports whether the first n workers exist and are polling for work.
func (wp *pool) awake(n int) bool {
	if len(wp.workers) < n {
		return false
	}
	for _, w := range wp.workers[:n] {
		if w.sleeping.Load() {
			return false
		}
	}
	return true
}

// runParallel publishes parts[:n], wakes the workers it needs, computes parts until none
// is left and waits for those the workers claimed.
func (wp *pool) runParallel(p *problem, n int) {
	for len(wp.workers) < n-1 {
		w := &worker{wake: make(chan struct{}, 1)}
		wp.workers = append(wp.workers, w)
		go w.loop(wp)
	}
	parallelCalls++
	wp.prob = *p
	wp.pending.Store(int64(n))
	gen := wp.state.Load()>>16 + 1
	wp.state.Store(gen<<16 | uint64(n)<<8)
	for _, w := range wp.workers[:n-1] {
		if w.sleeping.CompareAndSwap(true, false) {
			w.wake <- struct{}{}
		}
	}
	wp.claimAll(gen, &wp.own)
	for i := 0; wp.pending.Load() != 0; i++ {
		if i%64 == 63 {
			runtime.Gosched()
		}
	}
	wp.prob = problem{} // do not keep the caller's matrices alive
}
