package device

// Buffer is float32 storage of a fixed length on one device. Host devices (cpu, test) keep
// a Go slice; a CUDA buffer keeps a device pointer. A Buffer never changes device: moving
// data means Transfer, which returns a new Buffer.
type Buffer struct {
	dev  Device
	n    int
	host []float32 // host devices
	dptr uintptr   // cuda: the CUdeviceptr
}

// Device is where the buffer's memory lives.
func (b *Buffer) Device() Device { return b.dev }

// Len is the number of float32 elements.
func (b *Buffer) Len() int { return b.n }

// HostData returns the backing slice of a host-device buffer (cpu or test) and false for a
// device buffer. Callers that mutate it own the consequences; the engine reads it as is.
func (b *Buffer) HostData() ([]float32, bool) { return b.host, b.dev.IsHost() }

// NewHost wraps data as a buffer on a host device (cpu or test); it does not copy.
func NewHost(dev Device, data []float32) *Buffer {
	if !dev.IsHost() {
		panic("device: NewHost on " + dev.String())
	}
	return &Buffer{dev: dev, n: len(data), host: data}
}

// Tensor is a named, shaped parameter or state tensor resident on one device. Shape is in
// the package's own orientation; the checkpoint layer converts to PyTorch's.
type Tensor struct {
	Name  string
	Shape []int
	Buf   *Buffer
}

// Device is derived from the tensor's buffer.
func (t *Tensor) Device() Device { return t.Buf.Device() }

// Numel is the product of Shape.
func (t *Tensor) Numel() int {
	n := 1
	for _, s := range t.Shape {
		n *= s
	}
	return n
}
