//go:build !cuda

package device

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestCUDAWithoutTheTag(t *testing.T) {
	for _, d := range []Device{CUDA(0), CUDA(3)} {
		_, err := Open(d)
		if !errors.Is(err, ErrNotBuiltWithCUDA) {
			t.Fatalf("Open(%v) error = %v, want ErrNotBuiltWithCUDA", d, err)
		}
		if !strings.Contains(err.Error(), "go build -tags cuda") {
			t.Errorf("error %q does not say how to rebuild", err)
		}
	}
	if _, err := Transfer(CUDA(0), NewHost(CPU, []float32{1})); !errors.Is(err, ErrNotBuiltWithCUDA) {
		t.Errorf("Transfer to cuda:0: %v, want ErrNotBuiltWithCUDA", err)
	}
	if CUDAAvailable() {
		t.Errorf("CUDAAvailable() = true in a build without the cuda tag")
	}
	if got := Auto(); got != CPU {
		t.Errorf("Auto() = %v, want cpu", got)
	}
	if got, want := Available(), []Device{CPU}; !slices.Equal(got, want) {
		t.Errorf("Available() = %v, want %v", got, want)
	}
}
