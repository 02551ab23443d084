//go:build cudaemu && !cuda

package device

// The CUDA engine on a CPU emulator, for tests only (build tag cudaemu, never in a
// shipped binary): kernels.cu compiled by the C compiler with kernels/emu.h, launched by
// kernels/emu_launch.h with one POSIX thread per CUDA thread. Everything above the driver
// (argument slots, launch geometry, the kernels themselves) is the code the GPU runs, so
// `go test -tags cudaemu ./internal/device/` checks it against the host engine on a
// machine without a GPU. What it cannot check: the PTX compilation, the driver calls, and
// the GPU's approximate exp2/log2 (libm is used instead).

/*
#cgo CFLAGS: -O2 -DHT_EMU -pthread -Wall -Wno-unused-function
#cgo LDFLAGS: -pthread -lm
#include "kernels/kernels.cu"
#include "kernels/emu_launch.h"
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// emuDriver implements cudaDriver with C memory and the emulated kernels.
type emuDriver struct{}

func (emuDriver) alloc(bytes int64) (uintptr, error) {
	p := uintptr(C.emu_alloc(C.size_t(bytes)))
	if p == 0 {
		return 0, fmt.Errorf("emulator: out of memory for %d bytes", bytes)
	}
	return p, nil
}

func (emuDriver) free(p uintptr) error {
	C.emu_free(C.uintptr_t(p))
	return nil
}

func (emuDriver) zero(p uintptr, n int) error {
	z := make([]float32, n)
	C.emu_htod(C.uintptr_t(p), unsafe.Pointer(&z[0]), C.size_t(4*n))
	return nil
}

func (emuDriver) htod(p uintptr, src []float32) error {
	C.emu_htod(C.uintptr_t(p), unsafe.Pointer(&src[0]), C.size_t(4*len(src)))
	return nil
}

func (emuDriver) dtoh(dst []float32, p uintptr) error {
	C.emu_dtoh(unsafe.Pointer(&dst[0]), C.uintptr_t(p), C.size_t(4*len(dst)))
	return nil
}

func (emuDriver) launch(k int, gx, gy, block int, a []uint64) error {
	kn := cudaKernelTable[k]
	name, params := C.CString(kn.name), C.CString(kn.params)
	defer C.free(unsafe.Pointer(name))
	defer C.free(unsafe.Pointer(params))
	rc := C.emu_launch(name, params, C.uint(gx), C.uint(gy), 1, C.uint(block), 1, 1,
		(*C.uint64_t)(unsafe.Pointer(&a[0])))
	switch rc {
	case C.EMU_OK:
		return nil
	case C.EMU_NOT_FOUND:
		return fmt.Errorf("emulator: no kernel %s", kn.name)
	case C.EMU_BAD_PARAMS:
		return fmt.Errorf("emulator: kernel %s: parameter kinds %q differ from kernels.cu's", kn.name, kn.params)
	case C.EMU_BAD_DIMS:
		return fmt.Errorf("emulator: kernel %s: unsupported launch %d x %d blocks of %d threads", kn.name, gx, gy, block)
	}
	return fmt.Errorf("emulator: kernel %s: launch failed (code %d)", kn.name, int(rc))
}

func (emuDriver) sync() error { return nil }

// newEmuKernels returns the CUDA engine's kernels on the emulator, tagged as device dev.
func newEmuKernels(dev Device) (*cudaKernels, error) {
	return newCUDAKernelsOn(dev, emuDriver{}, false)
}

// UseCUDAEmulator registers the emulated engine as cuda:ordinal, so that Open, Transfer and
// every package above (the policy's kernel backend, the adapter) run on it. It exists only
// in the cudaemu build, for tests of those packages on machines without a GPU; the
// returned function removes the registration.
func UseCUDAEmulator(ordinal int) (restore func(), err error) {
	dev := CUDA(ordinal)
	k, err := newEmuKernels(dev)
	if err != nil {
		return nil, err
	}
	registry.Lock()
	defer registry.Unlock()
	if _, ok := registry.engines[dev]; ok {
		return nil, fmt.Errorf("device: %s is already open", dev)
	}
	registry.engines[dev] = &Engine{dev: dev, impl: k}
	return func() {
		registry.Lock()
		delete(registry.engines, dev)
		registry.Unlock()
		_ = k.drv.free(k.status) // buffers still allocated belong to the test that made them
	}, nil
}
