//go:build !cuda

package device

// cudaBuilt reports whether this binary contains the CUDA engine (cuda build tag).
const cudaBuilt = false

// newCUDAKernels is the CUDA engine's constructor; without the cuda tag there is none.
func newCUDAKernels(ordinal int) (kernels, error) { return nil, ErrNotBuiltWithCUDA }
