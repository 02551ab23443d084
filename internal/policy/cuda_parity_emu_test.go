//go:build cudaemu && !cuda

package policy

import (
	"testing"

	"hybridtrain/internal/device"
)

// In the emulator build, cuda:0 is the device package's CPU emulator of the CUDA kernels,
// registered for the duration of each test, and the networks are smaller than the
// specification's (the emulator runs each CUDA thread as a POSIX thread).
func init() {
	cudaTestSetup = func(t testing.TB) {
		restore, err := device.UseCUDAEmulator(0)
		if err != nil {
			t.Fatalf("emulated cuda:0: %v", err)
		}
		t.Cleanup(restore)
	}
	cudaTestConfigs = func() (phase3, phase2 Config) {
		phase3 = Config{ObsDim: 83, BaseDim: 70, NumActions: 6, PiLayers: []int{96, 40}, VfLayers: []int{65},
			Activation: ActivationReLU}
		phase2 = phase3
		phase2.ObsDim = phase2.BaseDim
		return phase3, phase2
	}
}
