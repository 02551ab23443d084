//go:build cuda

package device

import "testing"

// openCUDATest opens the first GPU; a cuda test binary only starts where there is one.
func openCUDATest(t *testing.T) *Engine {
	t.Helper()
	return open(t, CUDA(0))
}

// openCUDABench is openCUDATest for benchmarks.
func openCUDABench(b *testing.B) *Engine {
	b.Helper()
	return open(b, CUDA(0))
}

// TestCUDAAvailable: in a cuda build CUDA is built in, auto means cuda:0, and the driver's
// GPUs are listed after the CPU.
func TestCUDAAvailable(t *testing.T) {
	if !CUDAAvailable() {
		t.Errorf("CUDAAvailable() = false in a cuda build")
	}
	if got := Auto(); got != CUDA(0) {
		t.Errorf("Auto() = %v, want cuda:0", got)
	}
	devs := Available()
	if len(devs) < 2 || devs[0] != CPU || devs[1] != CUDA(0) {
		t.Errorf("Available() = %v, want [cpu cuda:0 ...]", devs)
	}
	n, err := cudaDeviceCount()
	if err != nil || n < 1 || len(devs) != n+1 {
		t.Errorf("cudaDeviceCount() = %d, %v; Available() has %d devices", n, err, len(devs))
	}
}

// TestCUDAOpenBadOrdinal: an ordinal past the last GPU is an error from Open, not a panic.
func TestCUDAOpenBadOrdinal(t *testing.T) {
	if _, err := Open(CUDA(1000)); err == nil {
		t.Errorf("Open(cuda:1000) succeeded")
	}
}
