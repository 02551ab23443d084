//go:build cudaemu && !cuda

package device

import "testing"

// openCUDATest returns an engine of cuda:0 on the CPU emulator, registered as cuda:0 for
// the test's duration so that Open and Transfer find it as they would the real one (and
// the no-cuda tests, which run in this build too, find no cuda:0 afterwards).
func openCUDATest(t *testing.T) *Engine { return openEmu(t) }

// openCUDABench is openCUDATest for benchmarks (slow on the emulator: they time it).
func openCUDABench(b *testing.B) *Engine { return openEmu(b) }

func openEmu(t testing.TB) *Engine {
	t.Helper()
	restore, err := UseCUDAEmulator(0)
	if err != nil {
		t.Fatalf("emulated cuda:0: %v", err)
	}
	t.Cleanup(restore)
	return open(t, CUDA(0))
}
