// kernels.cu: the CUDA engine's kernels (package internal/device, cuda build tag).
//
// Written in the C subset of CUDA C, without CUDA headers, so that one source serves two
// compilers:
//
//   - scripts/gen-ptx.sh compiles it to kernels.ptx with clang-15
//     (-x cuda --cuda-device-only --cuda-gpu-arch=sm_70 -nocudainc -nocudalib); the Go
//     engine embeds that PTX and the driver JIT-compiles it for the GPU it runs on.
//   - with HT_EMU defined, emu.h maps the thread/block indices, __syncthreads and the math
//     intrinsics onto POSIX threads, and the cgo file cuda_emu.go (build tag cudaemu) runs
//     the same kernels on the CPU, so that the launch code and the kernels are tested against
//     the host engine on machines without a GPU.
//
// Rules that keep both compilations meaningful: every thread of a block reaches every
// SYNC() (no early return before a barrier), no warp-synchronous code (no shuffles, no
// implicit warp lock-step), shared memory is declared with SHARED at function scope, and
// integer parameters are 64-bit (`long long`) so that every kernel argument occupies one
// 8-byte slot in the launcher's argument array.
//
// Semantics are those of the Engine methods in engine.go; each kernel names its method.
// Matrices are row-major float32. Reductions run in a fixed order (no atomics), so every
// result is deterministic for a given launch configuration.

#ifdef HT_EMU
#include "emu.h"
#else
#define KERNEL extern "C" __attribute__((global)) void
#define DEVFN static __attribute__((device)) inline
#define SHARED __attribute__((shared))
#define TID_X() ((long long)__nvvm_read_ptx_sreg_tid_x())
#define NTID_X() ((long long)__nvvm_read_ptx_sreg_ntid_x())
#define CTAID_X() ((long long)__nvvm_read_ptx_sreg_ctaid_x())
#define CTAID_Y() ((long long)__nvvm_read_ptx_sreg_ctaid_y())
#define NCTAID_X() ((long long)__nvvm_read_ptx_sreg_nctaid_x())
#define SYNC() __syncthreads()
// ex2.approx.f32 has a maximum relative error of 2 ulp; lg2.approx.f32 an absolute error
// of about 2^-22: far inside the engine's 1e-4 parity tolerance. sqrt.rn is IEEE.
#define EX2F(x) __nvvm_ex2_approx_f(x)
#define LG2F(x) __nvvm_lg2_approx_f(x)
#define SQRTF(x) __nvvm_sqrt_rn_f(x)
#endif

#define LOG2E 1.4426950408889634f
#define LN2 0.6931471805599453f
#define MASKED_LOGIT (-1e8f) // device.MaskedLogit

// Status bits a kernel sets in the engine's status word; the engine reads and clears the
// word at the next Sync or Download and turns a set bit into an error.
#define STATUS_BAD_ACTION 1u

// The per-sample loss terms ht_ppo_loss writes, one row of HT_PPO_TERMS per sample: the
// layout of device.PPOTerms and the device.Term* constants (engine.go), checked against them
// by TestKernelTermLayout. The terms are those of internal/ppoloss's Terms.
#define HT_PPO_TERMS 5
#define HT_TERM_POLICY 0    // -min(A r, A clip(r, 1-eps, 1+eps))
#define HT_TERM_VALUE 1     // (R - V')^2
#define HT_TERM_ENTROPY 2   // H = -sum over legal j of p_j logp_j (the entropy, not its loss)
#define HT_TERM_APPROX_KL 3 // (r - 1) - log r
#define HT_TERM_CLIPPED 4   // 1 if |r - 1| > eps, else 0

DEVFN float expf_(float x) { return EX2F(x * LOG2E); }
DEVFN float logf_(float x) { return LG2F(x) * LN2; }

// gid is the global index of this thread in a 1-D grid; gstride is the grid's thread count.
DEVFN long long gid(void) { return CTAID_X() * NTID_X() + TID_X(); }
DEVFN long long gstride(void) { return NCTAID_X() * NTID_X(); }

// ---------------------------------------------------------------------------------------
// GEMM (Engine.Gemm): C = alpha op(A) op(B) + beta C, op(A) M x K, op(B) K x N, C M x N.
// A is stored M x K (K x M when transA); B is stored K x N (N x K when transB).
//
// Tiles of GEMM_BM x GEMM_BN outputs per block of 256 threads, stepping through K in
// slices of GEMM_BK kept in shared memory; each thread accumulates a 4 x 4 block of
// outputs (rows ty + 16i, columns tx + 16j). The grid is ceil(N/64) x ceil(M/64).
// Out-of-range tile elements load as 0, so any M, N, K works. Each output sums its K
// products in increasing k (fused multiply-adds), the same order in every launch.
#define GEMM_BM 64
#define GEMM_BN 64
#define GEMM_BK 16
#define GEMM_THREADS 256

KERNEL ht_gemm(long long transA, long long transB, long long M, long long N, long long K,
               float alpha, const float *__restrict__ A, const float *__restrict__ B,
               float beta, float *__restrict__ C) {
  SHARED float As[GEMM_BK][GEMM_BM];
  SHARED float Bs[GEMM_BK][GEMM_BN];
  const long long tid = TID_X();
  const long long tx = tid % 16, ty = tid / 16;
  const long long m0 = CTAID_Y() * GEMM_BM, n0 = CTAID_X() * GEMM_BN;
  float acc[4][4];
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 4; j++)
      acc[i][j] = 0.0f;

  for (long long k0 = 0; k0 < K; k0 += GEMM_BK) {
    // Each tile has 1024 elements, 4 per thread; the element a thread loads is chosen so
    // that consecutive threads read consecutive addresses of the stored matrix.
    for (int l = 0; l < 4; l++) {
      const long long e = tid + (long long)GEMM_THREADS * l;
      long long mm, kk;
      if (transA) { // A stored K x M: contiguous along m
        kk = e / GEMM_BM;
        mm = e % GEMM_BM;
      } else { // A stored M x K: contiguous along k
        mm = e / GEMM_BK;
        kk = e % GEMM_BK;
      }
      const long long gm = m0 + mm, gk = k0 + kk;
      float va = 0.0f;
      if (gm < M && gk < K)
        va = transA ? A[gk * M + gm] : A[gm * K + gk];
      As[kk][mm] = va;

      long long nn;
      if (transB) { // B stored N x K: contiguous along k
        nn = e / GEMM_BK;
        kk = e % GEMM_BK;
      } else { // B stored K x N: contiguous along n
        kk = e / GEMM_BN;
        nn = e % GEMM_BN;
      }
      const long long gn = n0 + nn;
      const long long gk2 = k0 + kk;
      float vb = 0.0f;
      if (gn < N && gk2 < K)
        vb = transB ? B[gn * K + gk2] : B[gk2 * N + gn];
      Bs[kk][nn] = vb;
    }
    SYNC();
    for (int kk = 0; kk < GEMM_BK; kk++) {
      float a[4], b[4];
      for (int i = 0; i < 4; i++)
        a[i] = As[kk][ty + 16 * i];
      for (int j = 0; j < 4; j++)
        b[j] = Bs[kk][tx + 16 * j];
      for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++)
          acc[i][j] += a[i] * b[j];
    }
    SYNC();
  }

  for (int i = 0; i < 4; i++) {
    const long long r = m0 + ty + 16 * i;
    if (r >= M)
      continue;
    for (int j = 0; j < 4; j++) {
      const long long c = n0 + tx + 16 * j;
      if (c >= N)
        continue;
      float out = alpha * acc[i][j];
      // beta == 0 overwrites C without reading it (BLAS: NaN in C is not propagated).
      if (beta != 0.0f)
        out += beta * C[r * N + c];
      C[r * N + c] = out;
    }
  }
}

// ---------------------------------------------------------------------------------------
// Element-wise kernels: 1-D grid-stride loops over n elements.

// AddRowVector: y[r*cols + c] += v[c].
KERNEL ht_add_row_vector(float *__restrict__ y, const float *__restrict__ v, long long rows,
                         long long cols) {
  const long long n = rows * cols;
  for (long long i = gid(); i < n; i += gstride())
    y[i] += v[i % cols];
}

// ReLU: y = max(y, 0) in place; NaN stays NaN (the comparison is false for NaN).
KERNEL ht_relu(float *__restrict__ y, long long n) {
  for (long long i = gid(); i < n; i += gstride()) {
    const float v = y[i];
    if (v < 0.0f)
      y[i] = 0.0f;
  }
}

// ReLUBackward: dy = 0 where y <= 0 (the gradient at 0 is 0, as PyTorch).
KERNEL ht_relu_backward(float *__restrict__ dy, const float *__restrict__ y, long long n) {
  for (long long i = gid(); i < n; i += gstride())
    if (!(y[i] > 0.0f))
      dy[i] = 0.0f;
}

// Scale: x *= alpha.
KERNEL ht_scale(float *__restrict__ x, long long n, float alpha) {
  for (long long i = gid(); i < n; i += gstride())
    x[i] *= alpha;
}

// Fill: x = v.
KERNEL ht_fill(float *__restrict__ x, long long n, float v) {
  for (long long i = gid(); i < n; i += gstride())
    x[i] = v;
}

// Copy: dst = src (distinct buffers; the engine skips dst == src).
KERNEL ht_copy(float *__restrict__ dst, const float *__restrict__ src, long long n) {
  for (long long i = gid(); i < n; i += gstride())
    dst[i] = src[i];
}

// Adam (PyTorch's form), with the bias corrections folded on the host in float64:
//   g = grad*gscale; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
//   param -= step_size * m / (sqrt(v)/bc2_sqrt + eps),
// step_size = lr/(1-b1^step), bc2_sqrt = sqrt(1-b2^step).
KERNEL ht_adam(float *__restrict__ param, const float *__restrict__ grad, float *__restrict__ m,
               float *__restrict__ v, long long n, float step_size, float beta1, float beta2,
               float eps, float bc2_sqrt, float gscale) {
  for (long long i = gid(); i < n; i += gstride()) {
    const float g = grad[i] * gscale;
    const float mi = beta1 * m[i] + (1.0f - beta1) * g;
    const float vi = beta2 * v[i] + (1.0f - beta2) * g * g;
    m[i] = mi;
    v[i] = vi;
    param[i] -= step_size * mi / (SQRTF(vi) / bc2_sqrt + eps);
  }
}

// ---------------------------------------------------------------------------------------
// Reductions: a fixed tree over a block's threads, in double so that the float32 result
// is correctly rounded for the sizes the policy uses.

#define RED_THREADS 256

// SumRows: dst[c] = beta dst[c] + sum_r src[r*cols + c]. Blocks of 32 columns x 8 row
// groups; thread (cx, ry) sums rows ry, ry+8, ... of column cx, then the 8 partial sums of
// a column are added in order. Grid: ceil(cols/32).
KERNEL ht_sum_rows(float *__restrict__ dst, const float *__restrict__ src, long long rows,
                   long long cols, float beta) {
  SHARED double part[8][32];
  const long long tid = TID_X();
  const long long cx = tid % 32, ry = tid / 32;
  const long long c = CTAID_X() * 32 + cx;
  double s = 0.0;
  if (c < cols)
    for (long long r = ry; r < rows; r += 8)
      s += (double)src[r * cols + c];
  part[ry][cx] = s;
  SYNC();
  if (ry == 0 && c < cols) {
    double t = 0.0;
    for (int i = 0; i < 8; i++)
      t += part[i][cx];
    float out = (float)t;
    if (beta != 0.0f)
      out += beta * dst[c];
    dst[c] = out;
  }
}

// SumSquares: dst[at] = sum_i src[i]^2 (overwrites). One block of RED_THREADS threads:
// the policy's largest tensor is about 60k elements, for which one block is enough and
// keeps the sum in one fixed order.
KERNEL ht_sum_squares(float *__restrict__ dst, long long at, const float *__restrict__ src,
                      long long n) {
  SHARED double part[RED_THREADS];
  const long long tid = TID_X();
  double s = 0.0;
  for (long long i = tid; i < n; i += RED_THREADS) {
    const double x = (double)src[i];
    s += x * x;
  }
  part[tid] = s;
  SYNC();
  for (int w = RED_THREADS / 2; w > 0; w /= 2) {
    if (tid < w)
      part[tid] += part[tid + w];
    SYNC();
  }
  if (tid == 0)
    dst[at] = (float)part[0];
}

// ---------------------------------------------------------------------------------------
// Masked categorical. One thread per row: the policy has 6 actions, so a warp or block
// per row would leave most of its threads idle; a row loop stays correct for any cols.

// masked_logit is logit j of a row as the distribution sees it (MASKED_LOGIT where the
// mask is 0); row_max is the row's largest masked logit and row_logsum the log of
// sum_j exp(masked_logit_j - max). A log-probability is (masked_logit - max) - logsum:
// subtracting the maximum first keeps a row of only masked entries exact (every
// difference is 0, log-probability -log cols), where -1e8 + log cols would round to -1e8.
DEVFN float masked_logit(const float *z, const float *mask, long long j) {
  return mask[j] != 0.0f ? z[j] : MASKED_LOGIT;
}

DEVFN float row_max(const float *z, const float *mask, long long cols) {
  float mx = masked_logit(z, mask, 0);
  for (long long j = 1; j < cols; j++) {
    const float x = masked_logit(z, mask, j);
    if (x > mx)
      mx = x;
  }
  return mx;
}

DEVFN float row_logsum(const float *z, const float *mask, long long cols, float mx) {
  float s = 0.0f;
  for (long long j = 0; j < cols; j++)
    s += expf_(masked_logit(z, mask, j) - mx);
  return logf_(s);
}

// MaskedLogSoftmax: logp = (masked_logit - max) - logsum (every entry, masked ones too);
// entropy = -sum over legal j of p_j logp_j.
KERNEL ht_masked_log_softmax(float *__restrict__ logp, float *__restrict__ entropy,
                             const float *__restrict__ logits, const float *__restrict__ mask,
                             long long rows, long long cols) {
  for (long long r = gid(); r < rows; r += gstride()) {
    const float *z = logits + r * cols;
    const float *mk = mask + r * cols;
    float *lp = logp + r * cols;
    if (cols == 0) {
      entropy[r] = 0.0f;
      continue;
    }
    const float mx = row_max(z, mk, cols);
    const float ls = row_logsum(z, mk, cols, mx);
    float h = 0.0f;
    for (long long j = 0; j < cols; j++) {
      const float l = (masked_logit(z, mk, j) - mx) - ls;
      lp[j] = l;
      if (mk[j] != 0.0f)
        h -= expf_(l) * l;
    }
    entropy[r] = h;
  }
}

// PPOLoss, per sample r of N = rows (see PPOLossIn/PPOLossOut in ppo.go): the lines of
// internal/ppoloss, the reference every backend is held to, in float32:
//   logr = logp[a] - old_logp, ratio = exp(logr), A = adv;
//   policy = -min(A ratio, A clip(ratio, 1-eps, 1+eps));
//   vpred = values, or old + clip(values - old, -cvf, cvf) when cvf > 0;
//   value = (returns - vpred)^2; entropy H = -sum_legal p log p;
//   approx_kl = (ratio - 1) - logr; clipped = |ratio - 1| > eps.
// Gradients of pg_mean + ent_coef (-mean H) + vf_coef mean(value):
//   g = d policy / d logp[a] = -A ratio where the unclipped term is the minimum or the
//       ratio lies inside [1-eps, 1+eps] (clamp passes the gradient at its bounds), else 0;
//   dlogits[j] = (g (δ_aj - p_j) + ent_coef p_j (logp_j + H)) / N for legal j, 0 masked;
//   dvalues = vf_coef 2 (vpred - returns) dvpred/dv / N.
// An action id outside [0, cols) sets STATUS_BAD_ACTION and writes NaN for the row.
KERNEL ht_ppo_loss(float *__restrict__ dlogits, float *__restrict__ dvalues,
                   float *__restrict__ terms, const float *__restrict__ logits,
                   const float *__restrict__ mask, const float *__restrict__ values,
                   const float *__restrict__ actions, const float *__restrict__ old_logp,
                   const float *__restrict__ old_values, const float *__restrict__ adv,
                   const float *__restrict__ returns, long long rows, long long cols,
                   float clip, float clip_vf, float ent_coef, float vf_coef,
                   unsigned int *__restrict__ status) {
  const float inv_n = 1.0f / (float)rows;
  for (long long r = gid(); r < rows; r += gstride()) {
    const float *z = logits + r * cols;
    const float *mk = mask + r * cols;
    float *dz = dlogits + r * cols;
    float *t = terms + r * HT_PPO_TERMS;
    const float af = actions[r];
    const long long a = (long long)af;
    if (!(af >= 0.0f) || a >= cols || (float)a != af) {
      *status = STATUS_BAD_ACTION; // every writer stores the same value: no race
      const float nan = __builtin_nanf("");
      for (long long j = 0; j < cols; j++)
        dz[j] = nan;
      dvalues[r] = nan;
      for (int i = 0; i < HT_PPO_TERMS; i++)
        t[i] = nan;
      continue;
    }
    const float mx = row_max(z, mk, cols);
    const float ls = row_logsum(z, mk, cols, mx);
    float h = 0.0f;
    for (long long j = 0; j < cols; j++) {
      if (mk[j] != 0.0f) {
        const float l = (z[j] - mx) - ls;
        h -= expf_(l) * l;
      }
    }
    const float logp_a = (masked_logit(z, mk, a) - mx) - ls;
    const float logr = logp_a - old_logp[r];
    const float ratio = expf_(logr);
    const float A = adv[r];
    const float lo = 1.0f - clip, hi = 1.0f + clip;
    const float rc = ratio < lo ? lo : (ratio > hi ? hi : ratio);
    const float s1 = A * ratio, s2 = A * rc;
    const float policy = -(s1 < s2 ? s1 : s2);
    const int inside = ratio >= lo && ratio <= hi;
    const float g = (s1 <= s2 || inside) ? -A * ratio : 0.0f;
    const float gn = g * inv_n, en = ent_coef * inv_n;
    for (long long j = 0; j < cols; j++) {
      if (mk[j] != 0.0f) {
        const float l = (z[j] - mx) - ls;
        const float p = expf_(l);
        dz[j] = gn * ((j == a ? 1.0f : 0.0f) - p) + en * p * (l + h);
      } else {
        dz[j] = 0.0f;
      }
    }

    const float v = values[r];
    float vpred = v, dvp = 1.0f;
    if (clip_vf > 0.0f) {
      const float old = old_values[r];
      const float d = v - old;
      const float dc = d < -clip_vf ? -clip_vf : (d > clip_vf ? clip_vf : d);
      vpred = old + dc;
      dvp = (d >= -clip_vf && d <= clip_vf) ? 1.0f : 0.0f;
    }
    const float err = returns[r] - vpred;
    dvalues[r] = vf_coef * inv_n * 2.0f * (vpred - returns[r]) * dvp;

    const float dr = ratio - 1.0f;
    t[HT_TERM_POLICY] = policy;
    t[HT_TERM_VALUE] = err * err;
    t[HT_TERM_ENTROPY] = h;
    t[HT_TERM_APPROX_KL] = dr - logr;
    t[HT_TERM_CLIPPED] = (dr > clip || dr < -clip) ? 1.0f : 0.0f;
  }
}
