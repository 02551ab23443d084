package device

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Kind is the kind of a device.
type Kind uint8

// Device kinds.
const (
	KindCPU  Kind = iota // host memory, the default
	KindCUDA             // an NVIDIA GPU through the CUDA driver API (cuda build tag)
	KindTest             // host memory tagged as another device; tests only
)

// Device names where a buffer's memory lives. The zero value is the CPU.
type Device struct {
	Kind  Kind
	Index int
}

// CPU is the host.
var CPU = Device{Kind: KindCPU}

// CUDA returns the CUDA device with ordinal i.
func CUDA(i int) Device { return Device{Kind: KindCUDA, Index: i} }

// Test returns the test device i: host memory that refuses to mix with the CPU. It is not
// reachable from Parse; tests construct it directly.
func Test(i int) Device { return Device{Kind: KindTest, Index: i} }

// String returns "cpu", "cuda:N" or "test:N".
func (d Device) String() string {
	switch d.Kind {
	case KindCPU:
		return "cpu"
	case KindCUDA:
		return "cuda:" + strconv.Itoa(d.Index)
	case KindTest:
		return "test:" + strconv.Itoa(d.Index)
	}
	return fmt.Sprintf("device(%d:%d)", d.Kind, d.Index)
}

// IsHost reports whether the device's memory is host memory (cpu and test devices).
func (d Device) IsHost() bool { return d.Kind == KindCPU || d.Kind == KindTest }

// ErrNotBuiltWithCUDA is returned when CUDA is asked of a binary built without the cuda tag.
var ErrNotBuiltWithCUDA = errors.New("device: this binary was built without CUDA support; rebuild with `go build -tags cuda ./cmd/hybridtrain` (see README, Devices)")

// Parse reads "cpu", "cuda" (ordinal 0) or "cuda:N", case-insensitively and ignoring
// surrounding space. "auto" is accepted too and means Auto(), so that every value the
// --device flag documents parses here.
func Parse(s string) (Device, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	switch {
	case t == "auto":
		return Auto(), nil
	case t == "cpu":
		return CPU, nil
	case t == "cuda":
		return CUDA(0), nil
	case strings.HasPrefix(t, "cuda:"):
		digits := t[len("cuda:"):]
		n, err := strconv.Atoi(digits)
		if err != nil || n < 0 || digits[0] == '+' {
			return Device{}, fmt.Errorf("device: %q: want cuda:N with N a GPU ordinal >= 0", s)
		}
		return CUDA(n), nil
	}
	return Device{}, fmt.Errorf("device: unknown device %q: want auto, cpu, cuda or cuda:N", s)
}

// MismatchError is returned by any operation given operands on two devices.
type MismatchError struct {
	Op        string // the operation, e.g. "Gemm"
	Want, Got Device // the engine's (or first operand's) device, and the offending one
	Operand   string // which operand is on Got, e.g. "b"; empty when not known
}

func (e *MismatchError) Error() string {
	if e.Operand != "" {
		return fmt.Sprintf("device: %s: operand %s on %s, expected %s (move it with device.Transfer)", e.Op, e.Operand, e.Got, e.Want)
	}
	return fmt.Sprintf("device: %s: operand on %s, expected %s (move it with device.Transfer)", e.Op, e.Got, e.Want)
}
