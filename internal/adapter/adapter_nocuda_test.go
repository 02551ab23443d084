//go:build !cuda

package adapter

import (
	"errors"
	"testing"

	"hybridtrain/internal/device"
)

// Without the cuda tag, moving to a GPU fails with the rebuild hint and leaves the
// adapter where it was.
func TestToCUDAWithoutTheTag(t *testing.T) {
	a := mustNew(t, DefaultConfig())
	w := a.Weight().Buf
	err := a.To(device.CUDA(0))
	if !errors.Is(err, device.ErrNotBuiltWithCUDA) {
		t.Fatalf("To(cuda:0) = %v, want ErrNotBuiltWithCUDA", err)
	}
	if a.Device() != device.CPU || a.Weight().Buf != w || w.Len() != 261*228 {
		t.Errorf("a failed To changed the adapter: on %v, weight len %d", a.Device(), a.Weight().Buf.Len())
	}
}
