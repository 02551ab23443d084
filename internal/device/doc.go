// Package device names where memory lives and runs the kernels of the policy there.
//
// A Device is "cpu", "cuda:N", or (in tests only) a test device that keeps host memory but
// is a different device, so that CI without a GPU proves the transfer logic. A Buffer is
// float32 storage that knows its device. An Engine owns one device: it allocates buffers,
// copies between host and device, and runs the kernel set the policy's kernel backend is
// written in (GEMM, bias, ReLU, masked log-softmax, the PPO loss and its gradient,
// reductions, Adam). Every Engine method checks that its operands live on the engine's
// device and returns a *MismatchError naming both devices otherwise: nothing is ever copied
// silently. Transfer is the one explicit copy between devices.
//
// The host engine (cpu and test devices) is Go over the SIMD kernels of internal/gemm and
// internal/vec, with the loss of internal/ppoloss; those leaves are the only packages of
// the module it imports. The CUDA engine lives in files built with the cuda tag, on
// gorgonia.org/cu's driver API with kernels embedded as PTX; without the tag, asking for
// CUDA returns ErrNotBuiltWithCUDA.
//
// Conventions every engine follows (the Engine checks them before a kernel runs, so a CUDA
// kernel can rely on them):
//
//   - Operands may be longer than a call needs; the call uses their leading elements. A
//     shorter one is a *LengthError naming the method and operand.
//   - Outputs must not be the same buffer as an input (ErrInvalidArgument), except for the
//     in-place methods (ReLU, Scale, Fill, the accumulating AddRowVector and the
//     param/moment updates of Adam). Partial overlaps between distinct buffers are not
//     detected.
//   - beta = 0 in Gemm and SumRows overwrites the output, ignoring any NaN it held (BLAS).
//   - Free leaves the buffer with length 0, so a later use is a *LengthError rather than a
//     read of freed or stale memory.
//   - Operations are deterministic: fixed loop orders, no map iteration, no randomness.
//
// Precision on the host: GEMM is float32 (internal/gemm's SGEMM, the one gorgonia uses on
// the CPU too); reductions, the masked log-softmax and the PPO loss compute in float64 and
// round once when they store; Adam computes in float32 in PyTorch's order of operations
// (internal/vec, which also sums the squares in float64 with SIMD where the CPU has it).
//
// A cuda build may set cudaDeviceCount (an unexported hook in open.go) in an init function
// so that Available lists every GPU; left unset, it lists cuda:0.
package device
