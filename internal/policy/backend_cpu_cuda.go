//go:build cuda

package policy

import (
	"hybridtrain/internal/adapter"
	"hybridtrain/internal/device"
)

// cpuBackendName names the backend the CPU runs in this build.
const cpuBackendName = "host-kernels"

// newCPUBackend is the CPU's backend in a cuda build: the kernel backend on the host engine.
// gorgonia is left out of cuda builds because its own `cuda` build tag compiles its GPU path,
// which needs cuDNN headers (reference/deps-gorgonia.md §4); the kernel backend runs the same
// layer list and is held to the gorgonia graph by the default build's parity test.
func newCPUBackend(l *layers, ad *adapter.Adapter, eng *device.Engine, obsDim, numActions int) (backend, error) {
	return newKernelBackend(l, ad, eng, obsDim, numActions)
}
