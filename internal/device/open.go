package device

import (
	"errors"
	"fmt"
	"sync"
)

// registry holds one engine per device. Engines are created on first use and live for the
// process: a device's context (for CUDA: the driver context, its module and streams) is
// expensive to create and must be shared by every buffer allocated on it.
var registry = struct {
	sync.Mutex
	engines map[Device]*Engine
}{engines: map[Device]*Engine{}}

// cudaDeviceCount, when the cuda build sets it (in an init function), reports how many
// GPUs the driver sees; Available uses it. Left nil, a cuda build lists cuda:0 only.
var cudaDeviceCount func() (int, error)

// Open returns the engine of dev (one per device, created on first use). Asking for CUDA in
// a build without the cuda tag returns ErrNotBuiltWithCUDA. Open is safe for concurrent
// use; a failed open is not cached, so a later call tries again.
func Open(dev Device) (*Engine, error) {
	registry.Lock()
	defer registry.Unlock()
	if e, ok := registry.engines[dev]; ok {
		return e, nil
	}
	var impl kernels
	switch dev.Kind {
	case KindCPU:
		if dev.Index != 0 {
			return nil, fmt.Errorf("device: open %s: the cpu has no ordinal: %w", dev, ErrInvalidArgument)
		}
		impl = hostKernels{dev: dev}
	case KindTest:
		impl = hostKernels{dev: dev}
	case KindCUDA:
		if dev.Index < 0 {
			return nil, fmt.Errorf("device: open %s: negative GPU ordinal: %w", dev, ErrInvalidArgument)
		}
		k, err := newCUDAKernels(dev.Index)
		if errors.Is(err, ErrNotBuiltWithCUDA) {
			return nil, ErrNotBuiltWithCUDA // already says what to do; no second prefix
		}
		if err != nil {
			return nil, fmt.Errorf("device: open %s: %w", dev, err)
		}
		impl = k
	default:
		return nil, fmt.Errorf("device: open %s: unknown device kind: %w", dev, ErrInvalidArgument)
	}
	e := &Engine{dev: dev, impl: impl}
	registry.engines[dev] = e
	return e, nil
}

// Auto is the device "auto" means: cuda:0 in a cuda build (which cannot start without a
// GPU: gorgonia.org/cu's init exits the process first), else the CPU.
func Auto() Device {
	if cudaBuilt {
		return CUDA(0)
	}
	return CPU
}

// CUDAAvailable reports whether this binary was built with CUDA support. In a cuda build
// it is true whenever the program runs at all, since such a binary cannot start without a
// GPU.
func CUDAAvailable() bool { return cudaBuilt }

// Available lists the devices this binary can use: the CPU, then every GPU the driver
// reports in a cuda build. Test devices are not listed.
func Available() []Device {
	devs := []Device{CPU}
	if !cudaBuilt {
		return devs
	}
	n := 1
	if cudaDeviceCount != nil {
		if c, err := cudaDeviceCount(); err == nil {
			n = c
		}
	}
	for i := range n {
		devs = append(devs, CUDA(i))
	}
	return devs
}

// Transfer copies src to a new buffer on dst; the one explicit way data changes device.
// Transferring to src's own device returns an independent copy.
func Transfer(dst Device, src *Buffer) (*Buffer, error) {
	if src == nil {
		return nil, invalid("Transfer", "source is nil")
	}
	e, err := Open(dst)
	if err != nil {
		return nil, err
	}
	out, err := e.Alloc(src.Len())
	if err != nil {
		return nil, fmt.Errorf("device: transfer %s -> %s: %w", src.Device(), dst, err)
	}
	if err := TransferInto(out, src); err != nil {
		e.Free(out)
		return nil, err
	}
	return out, nil
}

// TransferInto copies src into an existing buffer dst of the same length on another (or
// the same) device, reusing dst's memory. Host to host is a plain copy; host to CUDA goes
// through the CUDA engine's upload, CUDA to host through its download, and CUDA to another
// GPU through host memory.
func TransferInto(dst, src *Buffer) error {
	const op = "TransferInto"
	switch {
	case dst == nil:
		return invalid(op, "destination is nil")
	case src == nil:
		return invalid(op, "source is nil")
	case dst.Len() != src.Len():
		return fmt.Errorf("device: %s %s -> %s: destination has %d elements, source %d: %w",
			op, src.Device(), dst.Device(), dst.Len(), src.Len(), ErrInvalidArgument)
	case dst == src:
		return nil
	}
	sd, dd := src.Device(), dst.Device()
	switch {
	case sd.IsHost() && dd.IsHost():
		copy(dst.host[:dst.n], src.host[:src.n])
		return nil
	case sd.IsHost():
		e, err := Open(dd)
		if err != nil {
			return err
		}
		return e.Upload(dst, src.host[:src.n])
	case dd.IsHost():
		e, err := Open(sd)
		if err != nil {
			return err
		}
		return e.Download(dst.host[:dst.n], src)
	case sd == dd:
		e, err := Open(sd)
		if err != nil {
			return err
		}
		return e.Copy(dst, src, src.Len())
	}
	// Two GPUs: stage through host memory. Peer copies would be faster, but nothing in a
	// one-GPU trainer moves data between GPUs on a hot path.
	tmp := make([]float32, src.Len())
	es, err := Open(sd)
	if err != nil {
		return err
	}
	if err := es.Download(tmp, src); err != nil {
		return err
	}
	ed, err := Open(dd)
	if err != nil {
		return err
	}
	return ed.Upload(dst, tmp)
}
