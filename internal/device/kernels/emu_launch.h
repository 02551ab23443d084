// emu_launch.h: the CPU launcher of the emulated kernels (included after kernels.cu with
// HT_EMU defined; see emu.h). It plays the driver's part for cuda_emu.go: kernels are
// found by name, arguments arrive as one 8-byte slot each (pointers and long long as
// integers, floats in the low 32 bits), exactly as the Go engine passes them to
// cuLaunchKernel.
#ifndef HT_EMU_LAUNCH_H
#define HT_EMU_LAUNCH_H

#define EMU_P(i) ((void *)(uintptr_t)args[i])
#define EMU_I(i) ((long long)args[i])

static float emu_f(uint64_t slot) {
  uint32_t u = (uint32_t)slot;
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}
#define EMU_F(i) emu_f(args[i])

// The kernels by name with their parameter kinds (p pointer, i long long, f float): the
// same strings the Go side keeps, so that a mismatch in arity or kind is an error here.
static const struct {
  const char *name;
  const char *params;
} emu_kernels[] = {
    {"ht_gemm", "iiiiifppfp"},
    {"ht_add_row_vector", "ppii"},
    {"ht_sum_rows", "ppiif"},
    {"ht_relu", "pi"},
    {"ht_relu_backward", "ppi"},
    {"ht_masked_log_softmax", "ppppii"},
    {"ht_ppo_loss", "pppppppppppiiffffp"},
    {"ht_sum_squares", "pipi"},
    {"ht_scale", "pif"},
    {"ht_fill", "pif"},
    {"ht_copy", "ppi"},
    {"ht_adam", "ppppiffffff"},
};

static void emu_call(int k, const uint64_t *args) {
  switch (k) {
  case 0:
    ht_gemm(EMU_I(0), EMU_I(1), EMU_I(2), EMU_I(3), EMU_I(4), EMU_F(5), EMU_P(6), EMU_P(7),
            EMU_F(8), EMU_P(9));
    break;
  case 1:
    ht_add_row_vector(EMU_P(0), EMU_P(1), EMU_I(2), EMU_I(3));
    break;
  case 2:
    ht_sum_rows(EMU_P(0), EMU_P(1), EMU_I(2), EMU_I(3), EMU_F(4));
    break;
  case 3:
    ht_relu(EMU_P(0), EMU_I(1));
    break;
  case 4:
    ht_relu_backward(EMU_P(0), EMU_P(1), EMU_I(2));
    break;
  case 5:
    ht_masked_log_softmax(EMU_P(0), EMU_P(1), EMU_P(2), EMU_P(3), EMU_I(4), EMU_I(5));
    break;
  case 6:
    ht_ppo_loss(EMU_P(0), EMU_P(1), EMU_P(2), EMU_P(3), EMU_P(4), EMU_P(5), EMU_P(6), EMU_P(7),
                EMU_P(8), EMU_P(9), EMU_P(10), EMU_I(11), EMU_I(12), EMU_F(13), EMU_F(14),
                EMU_F(15), EMU_F(16), EMU_P(17));
    break;
  case 7:
    ht_sum_squares(EMU_P(0), EMU_I(1), EMU_P(2), EMU_I(3));
    break;
  case 8:
    ht_scale(EMU_P(0), EMU_I(1), EMU_F(2));
    break;
  case 9:
    ht_fill(EMU_P(0), EMU_I(1), EMU_F(2));
    break;
  case 10:
    ht_copy(EMU_P(0), EMU_P(1), EMU_I(2));
    break;
  case 11:
    ht_adam(EMU_P(0), EMU_P(1), EMU_P(2), EMU_P(3), EMU_I(4), EMU_F(5), EMU_F(6), EMU_F(7),
            EMU_F(8), EMU_F(9), EMU_F(10));
    break;
  }
}

struct emu_thread {
  pthread_t th;
  long long tid;
  int kernel;
  const uint64_t *args;
  unsigned gx, gy, bx;
};

static void *emu_worker(void *p) {
  struct emu_thread *t = (struct emu_thread *)p;
  emu_tid_x = t->tid;
  emu_ntid_x = t->bx;
  emu_nctaid_x = t->gx;
  for (unsigned y = 0; y < t->gy; y++) {
    for (unsigned x = 0; x < t->gx; x++) {
      emu_ctaid_x = x;
      emu_ctaid_y = y;
      emu_call(t->kernel, t->args);
      // No thread starts the next block while another still uses this block's SHARED
      // arrays.
      pthread_barrier_wait(&emu_barrier);
    }
  }
  return NULL;
}

static pthread_mutex_t emu_mu = PTHREAD_MUTEX_INITIALIZER;

// Error codes of emu_launch.
enum {
  EMU_OK = 0,
  EMU_NOT_FOUND = 1,  // no kernel of that name
  EMU_BAD_PARAMS = 2, // the parameter kinds differ from the kernel's
  EMU_BAD_DIMS = 3,   // a 3-D grid, a 2-D block, a zero or oversized dimension
  EMU_THREADS = 4,    // pthread_create failed
};

// emu_launch runs kernel name over a gx x gy x gz grid of bx x by x bz blocks with nargs
// argument slots whose kinds are params.
static int emu_launch(const char *name, const char *params, unsigned gx, unsigned gy,
                      unsigned gz, unsigned bx, unsigned by, unsigned bz,
                      const uint64_t *args) {
  int k = -1;
  for (int i = 0; i < (int)(sizeof emu_kernels / sizeof emu_kernels[0]); i++)
    if (strcmp(emu_kernels[i].name, name) == 0)
      k = i;
  if (k < 0)
    return EMU_NOT_FOUND;
  if (strcmp(emu_kernels[k].params, params) != 0)
    return EMU_BAD_PARAMS;
  if (gz != 1 || by != 1 || bz != 1 || gx == 0 || gy == 0 || bx == 0 || bx > 1024)
    return EMU_BAD_DIMS;

  pthread_mutex_lock(&emu_mu);
  struct emu_thread *ts = (struct emu_thread *)calloc(bx, sizeof *ts);
  pthread_barrier_init(&emu_barrier, NULL, bx);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 256 * 1024);
  int rc = EMU_OK;
  unsigned started = 0;
  for (unsigned i = 0; i < bx; i++) {
    ts[i].tid = i;
    ts[i].kernel = k;
    ts[i].args = args;
    ts[i].gx = gx;
    ts[i].gy = gy;
    ts[i].bx = bx;
    if (pthread_create(&ts[i].th, &attr, emu_worker, &ts[i]) != 0) {
      rc = EMU_THREADS;
      break;
    }
    started++;
  }
  if (rc != EMU_OK) {
    // The started threads wait at a barrier that can never fill: this is fatal for the
    // test process, which is the only user of the emulator.
    abort();
  }
  for (unsigned i = 0; i < started; i++)
    pthread_join(ts[i].th, NULL);
  pthread_attr_destroy(&attr);
  pthread_barrier_destroy(&emu_barrier);
  free(ts);
  pthread_mutex_unlock(&emu_mu);
  return rc;
}

static uintptr_t emu_alloc(size_t bytes) { return (uintptr_t)calloc(bytes ? bytes : 1, 1); }
static void emu_free(uintptr_t p) { free((void *)p); }
static void emu_htod(uintptr_t dst, const void *src, size_t bytes) {
  memcpy((void *)dst, src, bytes);
}
static void emu_dtoh(void *dst, uintptr_t src, size_t bytes) { memcpy(dst, (const void *)src, bytes); }

#endif
