//go:build cuda

package device

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"sync"
	"unsafe"

	"gorgonia.org/cu"
)

// cudaBuilt reports whether this binary contains the CUDA engine (cuda build tag).
const cudaBuilt = true

// syncEachEnv, set to 1, makes every CUDA kernel launch wait for the kernel and report a
// fault under the kernel's name: slow, for locating a failing kernel (docs/cuda.md).
const syncEachEnv = "HYBRIDTRAIN_CUDA_SYNC"

func init() {
	// cu's own init has already run cuInit (and exited the process if there is no GPU).
	cudaDeviceCount = cu.NumDevices
}

// newCUDAKernels opens GPU ordinal: a context, the embedded PTX module (JIT-compiled by
// the driver for this GPU), the kernels' function handles and one stream.
func newCUDAKernels(ordinal int) (kernels, error) {
	drv, err := openCUDriver(ordinal)
	if err != nil {
		return nil, err
	}
	k, err := newCUDAKernelsOn(CUDA(ordinal), drv, os.Getenv(syncEachEnv) == "1")
	if err != nil {
		return nil, err
	}
	return k, nil
}

// cuDriver runs the driver API for one device through gorgonia.org/cu.
//
// Threading: a CUDA context is current per OS thread, and Go moves goroutines between
// threads. Each driver call of this engine runs inside do, which locks the calling
// goroutine to its OS thread (runtime.LockOSThread), makes the engine's context current
// there (cuCtxSetCurrent, a thread-local store in the driver) and unlocks after the call.
// The context may so become current on several threads, which CUDA allows; only this
// engine makes driver calls. The alternative, cu.NewContext's goroutine locked to one
// thread with every call sent to it through ctx.Do, costs a cross-thread hand-off per call:
// 16.7 us per round trip measured on the 2-vCPU build machine (go1.26.8), against 4 ns for
// LockOSThread/UnlockOSThread, and the rollout pass makes about 30 engine calls per step.
//
// A mutex serialises the calls: an Engine is used by one goroutine at a time, but a
// Transfer from another goroutine must not interleave with a half-issued sequence.
type cuDriver struct {
	mu     sync.Mutex
	ctx    cu.CUContext
	mod    cu.Module
	fns    [numKernels]cu.Function
	stream cu.Stream
}

// do runs fn on the calling goroutine's OS thread with the engine's context current.
func (d *cuDriver) do(fn func() error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := cu.SetCurrentContext(d.ctx); err != nil {
		return fmt.Errorf("make the context current: %w", err)
	}
	return fn()
}

func openCUDriver(ordinal int) (*cuDriver, error) {
	n, err := cu.NumDevices()
	if err != nil {
		return nil, fmt.Errorf("count GPUs: %w", err)
	}
	if ordinal >= n {
		return nil, fmt.Errorf("the driver sees %d GPU(s), no ordinal %d: %w", n, ordinal, ErrInvalidArgument)
	}
	dev, err := cu.GetDevice(ordinal)
	if err != nil {
		return nil, fmt.Errorf("get GPU %d: %w", ordinal, err)
	}
	// Device.MakeContext is cuCtxCreate returning its error (cu.NewContext panics instead
	// and starts the hand-off goroutine this engine does not use).
	ctx, err := dev.MakeContext(cu.SchedAuto)
	if err != nil {
		return nil, fmt.Errorf("create a context on GPU %d: %w", ordinal, err)
	}
	d := &cuDriver{ctx: ctx}
	err = d.do(func() error {
		// The JIT's error log names the PTX line it rejects; without it a bad module is only
		// "InvalidPtx".
		logBuf := &cu.JITErrorLogBuffer{Buffer: make([]byte, 8192)}
		mod, err := cu.LoadDataEx(kernelsPTX, logBuf)
		runtime.KeepAlive(logBuf)
		if err != nil {
			msg := string(bytes.TrimRight(logBuf.Buffer, "\x00"))
			return fmt.Errorf("load the kernels' PTX: %w (JIT log: %q)", err, msg)
		}
		d.mod = mod
		for id, kn := range cudaKernelTable {
			fn, err := mod.Function(kn.name)
			if err != nil {
				return fmt.Errorf("kernel %s: %w", kn.name, err)
			}
			d.fns[id] = fn
		}
		// A blocking stream (synchronises with the legacy default stream), so that nothing
		// the driver might queue on the default stream overtakes the engine's work.
		s, err := cu.MakeStream(cu.DefaultStream)
		if err != nil {
			return fmt.Errorf("create a stream: %w", err)
		}
		d.stream = s
		return nil
	})
	if err != nil {
		_ = ctx.Destroy()
		return nil, err
	}
	return d, nil
}

func (d *cuDriver) alloc(bytes int64) (uintptr, error) {
	var p cu.DevicePtr
	err := d.do(func() (err error) {
		p, err = cu.MemAlloc(bytes)
		return err
	})
	return uintptr(p), err
}

func (d *cuDriver) free(p uintptr) error {
	return d.do(func() error { return cu.MemFree(cu.DevicePtr(p)) })
}

func (d *cuDriver) zero(p uintptr, n int) error {
	return d.do(func() error { return cu.MemsetD32Async(cu.DevicePtr(p), 0, int64(n), d.stream) })
}

// htod copies from Go memory. For pageable host memory the driver stages the source before
// the call returns, so src is free to change afterwards even though the copy is queued.
func (d *cuDriver) htod(p uintptr, src []float32) error {
	return d.do(func() error {
		return cu.MemcpyHtoDAsync(cu.DevicePtr(p), unsafe.Pointer(&src[0]), int64(len(src))*4, d.stream)
	})
}

func (d *cuDriver) dtoh(dst []float32, p uintptr) error {
	return d.do(func() error {
		if err := cu.MemcpyDtoHAsync(unsafe.Pointer(&dst[0]), cu.DevicePtr(p), int64(len(dst))*4, d.stream); err != nil {
			return err
		}
		return d.stream.Synchronize()
	})
}

func (d *cuDriver) launch(k int, gx, gy, block int, a []uint64) error {
	// cu's Launch reads one 8-byte slot through each pointer; the driver takes from each
	// slot as many bytes as the PTX parameter has (8 for pointers and long long, the low 4
	// for a float, little-endian).
	params := make([]unsafe.Pointer, len(a))
	for i := range a {
		params[i] = unsafe.Pointer(&a[i])
	}
	return d.do(func() error {
		return d.fns[k].Launch(gx, gy, 1, block, 1, 1, 0, d.stream, params)
	})
}

func (d *cuDriver) sync() error {
	return d.do(func() error { return d.stream.Synchronize() })
}
