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
// The host engine (cpu and test devices) is plain Go. The CUDA engine lives in files built
// with the cuda tag, on gorgonia.org/cu's driver API with kernels embedded as PTX; without
// the tag, asking for CUDA returns ErrNotBuiltWithCUDA. The package is a leaf: it imports no
// other internal package.
package device
