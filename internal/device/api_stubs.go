package device

// Signatures agreed between packages; the device owner replaces each stub with its
// implementation and deletes this file when it is empty.

import "errors"

var errTODO = errors.New("device: not implemented yet")

// Open returns the engine of dev (one per device, created on first use). Asking for CUDA in
// a build without the cuda tag returns ErrNotBuiltWithCUDA.
func Open(dev Device) (*Engine, error) { return nil, errTODO }

// Auto is the device "auto" means: cuda:0 in a cuda build (which cannot start without a
// GPU), else the CPU.
func Auto() Device { return CPU }

// CUDAAvailable reports whether this binary was built with CUDA support.
func CUDAAvailable() bool { return false }

// Available lists the devices this binary can use.
func Available() []Device { return []Device{CPU} }

// Transfer copies src to a new buffer on dst; the one explicit way data changes device.
func Transfer(dst Device, src *Buffer) (*Buffer, error) { return nil, errTODO }

// TransferInto copies src into an existing buffer dst of the same length on another (or
// the same) device, reusing dst's memory.
func TransferInto(dst, src *Buffer) error { return errTODO }

func (e *Engine) Device() Device                            { return e.dev }
func (e *Engine) Alloc(n int) (*Buffer, error)              { return nil, errTODO }
func (e *Engine) Free(b *Buffer)                            {}
func (e *Engine) Upload(dst *Buffer, src []float32) error   { return errTODO }
func (e *Engine) Download(dst []float32, src *Buffer) error { return errTODO }
func (e *Engine) Sync() error                               { return errTODO }
func (e *Engine) Gemm(transA, transB bool, m, n, k int, alpha float32, a, b *Buffer, beta float32, c *Buffer) error {
	return errTODO
}
func (e *Engine) AddRowVector(y, v *Buffer, rows, cols int) error              { return errTODO }
func (e *Engine) SumRows(dst, src *Buffer, rows, cols int, beta float32) error { return errTODO }
func (e *Engine) ReLU(y *Buffer, n int) error                                  { return errTODO }
func (e *Engine) ReLUBackward(dy, y *Buffer, n int) error                      { return errTODO }
func (e *Engine) MaskedLogSoftmax(logp, entropy, logits, mask *Buffer, rows, cols int) error {
	return errTODO
}
func (e *Engine) PPOLoss(out PPOLossOut, in PPOLossIn, rows, cols int, p PPOParams) error {
	return errTODO
}
func (e *Engine) SumSquares(dst *Buffer, at int, src *Buffer, n int) error  { return errTODO }
func (e *Engine) Scale(x *Buffer, n int, alpha float32) error               { return errTODO }
func (e *Engine) Fill(x *Buffer, n int, v float32) error                    { return errTODO }
func (e *Engine) Copy(dst, src *Buffer, n int) error                        { return errTODO }
func (e *Engine) Adam(param, grad, m, v *Buffer, n int, p AdamParams) error { return errTODO }
