//go:build cuda || cudaemu

package device

import (
	_ "embed"
	"errors"
	"fmt"
	"math"
)

// kernelsPTX is kernels/kernels.cu compiled to PTX (ISA 6.0, sm_70) by scripts/gen-ptx.sh.
// The driver JIT-compiles it for the GPU at hand when the engine opens, so the binary
// needs no CUDA runtime, cuBLAS or cuDNN: only the driver's libcuda.
//
//go:embed kernels/kernels.ptx
var kernelsPTX string

// cudaKernel is one kernel of kernels.cu: its entry name and its parameter kinds, one
// letter per parameter: p a device pointer, i a 64-bit integer (long long), f a float32.
// Every kind occupies one 8-byte argument slot.
type cudaKernel struct {
	name   string
	params string
}

// Kernel ids, indexes into cudaKernelTable.
const (
	kGemm = iota
	kAddRowVector
	kSumRows
	kReLU
	kReLUBackward
	kMaskedLogSoftmax
	kPPOLoss
	kSumSquares
	kScale
	kFill
	kCopy
	kAdam
	numKernels
)

// cudaKernelTable lists the kernels in id order. The parameter kinds are checked against
// the PTX entry points by TestCUDAKernelTableMatchesPTX and by the emulator at each launch.
var cudaKernelTable = [numKernels]cudaKernel{
	kGemm:             {"ht_gemm", "iiiiifppfp"},
	kAddRowVector:     {"ht_add_row_vector", "ppii"},
	kSumRows:          {"ht_sum_rows", "ppiif"},
	kReLU:             {"ht_relu", "pi"},
	kReLUBackward:     {"ht_relu_backward", "ppi"},
	kMaskedLogSoftmax: {"ht_masked_log_softmax", "ppppii"},
	kPPOLoss:          {"ht_ppo_loss", "pppppppppppiiffffp"},
	kSumSquares:       {"ht_sum_squares", "pipi"},
	kScale:            {"ht_scale", "pif"},
	kFill:             {"ht_fill", "pif"},
	kCopy:             {"ht_copy", "ppi"},
	kAdam:             {"ht_adam", "ppppiffffff"},
}

// Launch geometry. The constants mirror kernels.cu: GEMM tiles of 64 x 64 outputs on 256
// threads, reductions on 256 threads, SumRows on blocks of 32 columns x 8 row groups.
const (
	gemmTile       = 64
	gemmThreads    = 256
	reduceThreads  = 256
	sumRowsCols    = 32
	elemThreads    = 256
	rowThreads     = 128
	maxElemBlocks  = 1 << 16 // grid-stride loops cover larger n
	maxGridY       = 65535
	statusBadInput = 1 // STATUS_BAD_ACTION in kernels.cu
)

// cudaDriver is what the CUDA engine needs from the driver: device memory, copies on the
// engine's stream, kernel launches by id, and a stream synchronisation. cuda.go implements
// it on gorgonia.org/cu; cuda_emu.go (cudaemu build tag) on the CPU, for tests.
type cudaDriver interface {
	// alloc returns bytes of device memory, not initialised.
	alloc(bytes int64) (uintptr, error)
	free(p uintptr) error
	// zero sets n float32 at p to 0 (queued on the stream).
	zero(p uintptr, n int) error
	// htod copies src to p; src may be reused as soon as it returns.
	htod(p uintptr, src []float32) error
	// dtoh copies into dst from p and returns when dst holds the data.
	dtoh(dst []float32, p uintptr) error
	// launch queues kernel k on grid gx x gy of block threads with one 8-byte slot per
	// parameter.
	launch(k int, gx, gy, block int, args []uint64) error
	sync() error
}

// cudaKernels is the kernels implementation of a CUDA device: buffers are device pointers,
// every kernel is queued on the driver's one stream, copies to the host wait for it.
// Launch errors are returned from the call that launched; a fault during a kernel's
// execution surfaces at the next Sync or Download (the driver reports it there), unless
// syncEach is set, which synchronises after every launch and names the kernel.
type cudaKernels struct {
	dev      Device
	drv      cudaDriver
	syncEach bool
	// status is a 4-byte word on the device where a kernel reports bad input (an action id
	// outside [0, cols)); PPOLoss reads and clears it.
	status uintptr
}

// newCUDAKernelsOn builds the engine's kernels over an opened driver.
func newCUDAKernelsOn(dev Device, drv cudaDriver, syncEach bool) (*cudaKernels, error) {
	st, err := drv.alloc(4)
	if err != nil {
		return nil, fmt.Errorf("allocate the status word: %w", err)
	}
	if err := drv.zero(st, 1); err != nil {
		return nil, fmt.Errorf("clear the status word: %w", err)
	}
	return &cudaKernels{dev: dev, drv: drv, syncEach: syncEach, status: st}, nil
}

// wrap names the device and the operation in a driver error.
func (k *cudaKernels) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("device: %s on %s: %w", op, k.dev, err)
}

// args builds a kernel's argument slots.
type args []uint64

func (a args) p(b *Buffer) args   { return append(a, uint64(b.dptr)) }
func (a args) i(v int) args       { return append(a, uint64(int64(v))) }
func (a args) f(v float32) args   { return append(a, uint64(math.Float32bits(v))) }
func (a args) raw(p uintptr) args { return append(a, uint64(p)) }

// launch checks the argument count against the kernel's parameters, queues it and, in
// syncEach mode, waits for it.
func (k *cudaKernels) launch(id int, gx, gy, block int, a args) error {
	kn := cudaKernelTable[id]
	if len(a) != len(kn.params) {
		return fmt.Errorf("device: %s on %s: %d arguments for %d parameters (engine bug)", kn.name, k.dev, len(a), len(kn.params))
	}
	if gx <= 0 || gy <= 0 || gy > maxGridY {
		return fmt.Errorf("device: %s on %s: grid %d x %d out of range: %w", kn.name, k.dev, gx, gy, ErrInvalidArgument)
	}
	if err := k.drv.launch(id, gx, gy, block, a); err != nil {
		return fmt.Errorf("device: launch %s on %s: %w", kn.name, k.dev, err)
	}
	if k.syncEach {
		if err := k.drv.sync(); err != nil {
			return fmt.Errorf("device: %s on %s: %w", kn.name, k.dev, err)
		}
	}
	return nil
}

// elemGrid is the block count of a grid-stride loop over n items with threads per block.
func elemGrid(n, threads int) int {
	g := (n + threads - 1) / threads
	return min(g, maxElemBlocks)
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

func (k *cudaKernels) alloc(n int) (*Buffer, error) {
	b := &Buffer{dev: k.dev, n: n}
	if n == 0 {
		return b, nil // no device memory: nothing reads or writes it
	}
	p, err := k.drv.alloc(int64(n) * 4)
	if err != nil {
		return nil, fmt.Errorf("device: alloc %d floats on %s: %w", n, k.dev, err)
	}
	if err := k.drv.zero(p, n); err != nil {
		_ = k.drv.free(p)
		return nil, k.wrap("alloc", err)
	}
	b.dptr = p
	return b, nil
}

func (k *cudaKernels) free(b *Buffer) {
	if b.dptr != 0 {
		// A failed free leaves nothing the caller could do; the context is unusable then and
		// the next call reports the driver's error.
		_ = k.drv.free(b.dptr)
	}
	b.dptr, b.n = 0, 0
}

func (k *cudaKernels) upload(dst *Buffer, src []float32) error {
	if len(src) == 0 {
		return nil
	}
	return k.wrap("upload", k.drv.htod(dst.dptr, src))
}

func (k *cudaKernels) download(dst []float32, src *Buffer) error {
	if len(dst) == 0 {
		return k.sync()
	}
	return k.wrap("download", k.drv.dtoh(dst, src.dptr))
}

func (k *cudaKernels) sync() error { return k.wrap("sync", k.drv.sync()) }

func (k *cudaKernels) gemm(transA, transB bool, m, n, kk int, alpha float32, a, b *Buffer, beta float32, c *Buffer) error {
	if m == 0 || n == 0 {
		return nil
	}
	gy := ceilDiv(m, gemmTile)
	if gy > maxGridY {
		return fmt.Errorf("device: Gemm on %s: m = %d exceeds the kernel's limit of %d rows: %w", k.dev, m, maxGridY*gemmTile, ErrInvalidArgument)
	}
	ta, tb := 0, 0
	if transA {
		ta = 1
	}
	if transB {
		tb = 1
	}
	return k.launch(kGemm, ceilDiv(n, gemmTile), gy, gemmThreads,
		args{}.i(ta).i(tb).i(m).i(n).i(kk).f(alpha).p(a).p(b).f(beta).p(c))
}

func (k *cudaKernels) addRowVector(y, v *Buffer, rows, cols int) error {
	n := rows * cols
	if n == 0 {
		return nil
	}
	return k.launch(kAddRowVector, elemGrid(n, elemThreads), 1, elemThreads, args{}.p(y).p(v).i(rows).i(cols))
}

func (k *cudaKernels) sumRows(dst, src *Buffer, rows, cols int, beta float32) error {
	if cols == 0 {
		return nil
	}
	return k.launch(kSumRows, ceilDiv(cols, sumRowsCols), 1, reduceThreads, args{}.p(dst).p(src).i(rows).i(cols).f(beta))
}

func (k *cudaKernels) relu(y *Buffer, n int) error {
	if n == 0 {
		return nil
	}
	return k.launch(kReLU, elemGrid(n, elemThreads), 1, elemThreads, args{}.p(y).i(n))
}

func (k *cudaKernels) reluBackward(dy, y *Buffer, n int) error {
	if n == 0 {
		return nil
	}
	return k.launch(kReLUBackward, elemGrid(n, elemThreads), 1, elemThreads, args{}.p(dy).p(y).i(n))
}

func (k *cudaKernels) maskedLogSoftmax(logp, entropy, logits, mask *Buffer, rows, cols int) error {
	if rows == 0 {
		return nil
	}
	return k.launch(kMaskedLogSoftmax, elemGrid(rows, rowThreads), 1, rowThreads,
		args{}.p(logp).p(entropy).p(logits).p(mask).i(rows).i(cols))
}

// errBadAction is what PPOLoss returns when the kernel found an action id outside
// [0, cols); it wraps ErrInvalidArgument as the host engine's error does.
var errBadAction = errors.New("an action id is outside [0, cols)")

func (k *cudaKernels) ppoLoss(out PPOLossOut, in PPOLossIn, rows, cols int, p PPOParams) error {
	if rows == 0 {
		return nil
	}
	var oldValues uintptr
	if p.ClipRangeVF > 0 {
		oldValues = in.OldValues.dptr
	}
	a := args{}.p(out.DLogits).p(out.DValues).p(out.Terms).
		p(in.Logits).p(in.Mask).p(in.Values).p(in.Actions).p(in.OldLogp).raw(oldValues).p(in.Adv).p(in.Returns).
		i(rows).i(cols).f(p.ClipRange).f(p.ClipRangeVF).f(p.EntCoef).f(p.VfCoef).raw(k.status)
	if err := k.launch(kPPOLoss, elemGrid(rows, rowThreads), 1, rowThreads, a); err != nil {
		return err
	}
	// The host engine rejects a bad action id from the call itself; to do the same, read
	// the status word now. The copy waits for the kernel: one round trip per minibatch,
	// which the caller pays anyway when it reads the loss terms.
	var st [1]float32
	if err := k.drv.dtoh(st[:], k.status); err != nil {
		return k.wrap("PPOLoss", err)
	}
	if math.Float32bits(st[0])&statusBadInput != 0 {
		if err := k.drv.zero(k.status, 1); err != nil {
			return k.wrap("PPOLoss", err)
		}
		return fmt.Errorf("device: PPOLoss on %s: %w: %w", k.dev, errBadAction, ErrInvalidArgument)
	}
	return nil
}

func (k *cudaKernels) sumSquares(dst *Buffer, at int, src *Buffer, n int) error {
	return k.launch(kSumSquares, 1, 1, reduceThreads, args{}.p(dst).i(at).p(src).i(n))
}

func (k *cudaKernels) scale(x *Buffer, n int, alpha float32) error {
	if n == 0 {
		return nil
	}
	return k.launch(kScale, elemGrid(n, elemThreads), 1, elemThreads, args{}.p(x).i(n).f(alpha))
}

func (k *cudaKernels) fill(x *Buffer, n int, v float32) error {
	if n == 0 {
		return nil
	}
	return k.launch(kFill, elemGrid(n, elemThreads), 1, elemThreads, args{}.p(x).i(n).f(v))
}

func (k *cudaKernels) copy(dst, src *Buffer, n int) error {
	if n == 0 {
		return nil
	}
	return k.launch(kCopy, elemGrid(n, elemThreads), 1, elemThreads, args{}.p(dst).p(src).i(n))
}

func (k *cudaKernels) adam(param, grad, m, v *Buffer, n int, p AdamParams) error {
	if n == 0 {
		return nil
	}
	// The bias corrections in float64 on the host, as PyTorch computes them in Python
	// floats; the kernel gets the step size and sqrt(1 - beta2^step).
	step := float64(p.Step)
	bc1 := 1 - math.Pow(float64(p.Beta1), step)
	bc2 := 1 - math.Pow(float64(p.Beta2), step)
	stepSize := float32(float64(p.LR) / bc1)
	bc2Sqrt := float32(math.Sqrt(bc2))
	return k.launch(kAdam, elemGrid(n, elemThreads), 1, elemThreads,
		args{}.p(param).p(grad).p(m).p(v).i(n).f(stepSize).f(p.Beta1).f(p.Beta2).f(p.Eps).f(bc2Sqrt).f(p.GradScale))
}
