//go:build !cuda

package policy

import (
	"hybridtrain/internal/adapter"
	"hybridtrain/internal/device"
)

// cpuBackendName names the backend the CPU runs in this build.
const cpuBackendName = "gorgonia"

// newCPUBackend is the CPU's backend in the default build: the gorgonia graph.
func newCPUBackend(l *layers, _ *adapter.Adapter, _ *device.Engine, obsDim, numActions int) (backend, error) {
	return newGraphBackend(kernels32, l, obsDim, numActions)
}
