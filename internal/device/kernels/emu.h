// emu.h: runs kernels.cu on the CPU (HT_EMU), for the cudaemu build of internal/device.
//
// A launch runs its blocks one after another on a team of blockDim.x POSIX threads (one
// per CUDA thread), so that __syncthreads is a real barrier and SHARED arrays (static
// locals here) are shared by the threads of the block being run. Thread and block indices
// are thread-local variables the team sets before each block. Only 1-D blocks and 1-D or
// 2-D grids are supported: that is all the engine launches. The math intrinsics map onto
// libm (exact where the GPU's are approximate), which is fine for a test of the kernels'
// logic against the host engine within 1e-4.
#ifndef HT_EMU_H
#define HT_EMU_H

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define KERNEL static void
#define DEVFN static inline
#define SHARED static

static _Thread_local long long emu_tid_x, emu_ntid_x, emu_ctaid_x, emu_ctaid_y, emu_nctaid_x;
static pthread_barrier_t emu_barrier;

#define TID_X() (emu_tid_x)
#define NTID_X() (emu_ntid_x)
#define CTAID_X() (emu_ctaid_x)
#define CTAID_Y() (emu_ctaid_y)
#define NCTAID_X() (emu_nctaid_x)
#define SYNC() pthread_barrier_wait(&emu_barrier)
#define EX2F(x) exp2f(x)
#define LG2F(x) log2f(x)
#define SQRTF(x) sqrtf(x)

#endif
