// One instruction set's GEMM: packing, register-blocked micro-kernel and one task of the
// task grid. Deliberately without include guard: gemm.cc includes it once per target, each
// time inside its own namespace and `#pragma GCC target` region, after defining
//   constexpr int VW  floats per vector register,
//   constexpr int MR  rows of C per micro-tile (A broadcast),
//   constexpr int KC, MC, NC  cache blocking (depth, rows per task, columns per task).
// It must not include headers: everything here is compiled for that region's target only.
// Needs `struct Problem` and `struct Kernel` from gemm.cc.

typedef float vec __attribute__((vector_size(VW * 4)));                  // packed panels (aligned)
typedef float vec_unaligned __attribute__((vector_size(VW * 4), aligned(4)));  // rows of C

constexpr int NR = 2 * VW;  // columns of C per micro-tile: two vector registers

static inline long min_of(long x, long y) { return x < y ? x : y; }

// A block (m × k) into MR-row slivers, each k steps of MR contiguous floats, zero-padded.
// Element (i, p) of the block is a[i*lda + p], or a[p*lda + i] when transposed.
static void pack_a(const float* a, long lda, bool trans, long m, long k, float* out) {
  for (long i0 = 0; i0 < m; i0 += MR) {
    const long rows = min_of(MR, m - i0);
    if (trans) {
      for (long p = 0; p < k; ++p) {
        const float* src = a + p * lda + i0;
        float* dst = out + p * MR;
        for (long i = 0; i < rows; ++i) dst[i] = src[i];
        for (long i = rows; i < MR; ++i) dst[i] = 0.0f;
      }
    } else {
      for (long i = 0; i < rows; ++i) {
        const float* src = a + (i0 + i) * lda;
        for (long p = 0; p < k; ++p) out[p * MR + i] = src[p];
      }
      for (long i = rows; i < MR; ++i)
        for (long p = 0; p < k; ++p) out[p * MR + i] = 0.0f;
    }
    out += MR * k;
  }
}

// B block (k × n) into NR-column slivers, each k steps of NR contiguous floats, zero-padded.
// Element (p, j) of the block is b[p*ldb + j], or b[j*ldb + p] when transposed. Both loops
// read the source along its rows: walking down a column would touch a new page per step.
static void pack_b(const float* b, long ldb, bool trans, long k, long n, float* out) {
  if (trans) {
    for (long j0 = 0; j0 < n; j0 += NR, out += NR * k) {
      const long cols = min_of(NR, n - j0);
      for (long j = 0; j < cols; ++j) {
        const float* src = b + (j0 + j) * ldb;
        for (long p = 0; p < k; ++p) out[p * NR + j] = src[p];
      }
      for (long j = cols; j < NR; ++j)
        for (long p = 0; p < k; ++p) out[p * NR + j] = 0.0f;
    }
    return;
  }
  const long full = n / NR * NR;
  for (long p = 0; p < k; ++p) {
    const float* src = b + p * ldb;
    float* dst = out + p * NR;
    for (long j0 = 0; j0 < full; j0 += NR, dst += NR * k) {
      ((vec*)dst)[0] = *(const vec_unaligned*)(src + j0);
      ((vec*)dst)[1] = *(const vec_unaligned*)(src + j0 + VW);
    }
    if (full < n) {
      for (long j = full; j < n; ++j) dst[j - full] = src[j];
      for (long j = n - full; j < NR; ++j) dst[j] = 0.0f;
    }
  }
}

// C tile (m ≤ MR rows, n ≤ NR columns) = or += packed A sliver · packed B sliver over k steps.
// All MR × NR accumulators live in registers; edge tiles go through a small buffer.
static inline __attribute__((always_inline)) void micro_kernel(long k, const float* __restrict a, const float* __restrict b,
                                                               float* c, long ldc, long m, long n, bool accumulate) {
  vec lo[MR], hi[MR];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) lo[i] = hi[i] = (vec){};
  for (long p = 0; p < k; ++p) {
    const vec b0 = ((const vec*)b)[0];
    const vec b1 = ((const vec*)b)[1];
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      // x − 0 is exactly x, so this folds to a plain broadcast load (x + 0 would not: −0).
      const vec ai = a[i] - (vec){};
      lo[i] += ai * b0;
      hi[i] += ai * b1;
    }
    a += MR;
    b += NR;
  }
  if (m == MR && n == NR) {
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      vec_unaligned* row = (vec_unaligned*)(c + i * ldc);
      if (accumulate) {
        row[0] += lo[i];
        row[1] += hi[i];
      } else {
        row[0] = lo[i];
        row[1] = hi[i];
      }
    }
    return;
  }
  vec tile[MR][2];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) {
    tile[i][0] = lo[i];
    tile[i][1] = hi[i];
  }
  for (long i = 0; i < m; ++i) {
    const float* src = (const float*)tile[i];
    float* row = c + i * ldc;
    if (accumulate)
      for (long j = 0; j < n; ++j) row[j] += src[j];
    else
      for (long j = 0; j < n; ++j) row[j] = src[j];
  }
}

// Thin products (fewer rows than MR or columns than NR, as in per-head attention over a few
// tokens): padding them to full micro-tiles and packing would cost more than the arithmetic,
// so these multiply in place, vectorised along whichever side is contiguous. Not for Aᵀ·Bᵀ.
static inline float dot(const float* x, const float* y, long k) {
  vec acc0 = {}, acc1 = {};
  long p = 0;
  for (; p + 2 * VW <= k; p += 2 * VW) {
    acc0 += *(const vec_unaligned*)(x + p) * *(const vec_unaligned*)(y + p);
    acc1 += *(const vec_unaligned*)(x + p + VW) * *(const vec_unaligned*)(y + p + VW);
  }
  if (p + VW <= k) {
    acc0 += *(const vec_unaligned*)(x + p) * *(const vec_unaligned*)(y + p);
    p += VW;
  }
  // Pairwise: a running sum over the lanes would be a chain of VW dependent additions.
  float lanes[VW];
  *(vec_unaligned*)lanes = acc0 + acc1;
  for (int width = VW / 2; width > 0; width /= 2)
    for (int i = 0; i < width; ++i) lanes[i] += lanes[i + width];
  float sum = lanes[0];
  for (; p < k; ++p) sum += x[p] * y[p];
  return sum;
}

// Columns [j0, j0 + cols) of every row of one batch item.
static void direct_block(const Problem& P, const float* A, const float* B, float* C, long j0, long cols) {
  const long lda = P.transA ? P.m : P.k;
  const long ldb = P.transB ? P.k : P.n;
  if (P.transB) {  // C(i, j) = A row i · B row j, both contiguous
    for (long i = 0; i < P.m; ++i)
      for (long j = j0; j < j0 + cols; ++j) C[i * P.n + j] = dot(A + i * lda, B + j * ldb, P.k);
    return;
  }
  // C row i = Σ_p A(i, p) · B row p. Column strips outermost: a strip of B stays in cache for every row.
  const long aRow = P.transA ? 1 : lda, aStep = P.transA ? lda : 1;
  const long end = j0 + cols;
  long j = j0;
  for (; j + NR <= end; j += NR) {
    for (long i = 0; i < P.m; ++i) {
      vec lo = {}, hi = {};
      for (long p = 0; p < P.k; ++p) {
        const vec a = A[i * aRow + p * aStep] - (vec){};
        lo += a * *(const vec_unaligned*)(B + p * ldb + j);
        hi += a * *(const vec_unaligned*)(B + p * ldb + j + VW);
      }
      *(vec_unaligned*)(C + i * P.n + j) = lo;
      *(vec_unaligned*)(C + i * P.n + j + VW) = hi;
    }
  }
  for (; j + VW <= end; j += VW) {
    for (long i = 0; i < P.m; ++i) {
      vec acc = {};
      for (long p = 0; p < P.k; ++p) acc += (A[i * aRow + p * aStep] - (vec){}) * *(const vec_unaligned*)(B + p * ldb + j);
      *(vec_unaligned*)(C + i * P.n + j) = acc;
    }
  }
  for (; j < end; ++j) {
    for (long i = 0; i < P.m; ++i) {
      float sum = 0.0f;
      for (long p = 0; p < P.k; ++p) sum += A[i * aRow + p * aStep] * B[p * ldb + j];
      C[i * P.n + j] = sum;
    }
  }
}

// One task: a block of C (rows × at most NC columns) of one batch item, which task numbers
// list item by item, then row block, then column block. The B block is packed once per KC
// depth step and reused by every MC-row chunk of A. Packing buffers are the thread's own.
static void run_task(const Problem& P, long task, float* packedA, float* packedB) {
  const long perItem = P.mBlocks * P.nBlocks;
  const long item = task / perItem;
  const long mBlock = (task % perItem) / P.nBlocks;
  const long nBlock = task % P.nBlocks;
  const float* A = P.a + (P.batchA == 1 ? 0 : item) * P.m * P.k;
  const float* B = P.b + (P.batchB == 1 ? 0 : item) * P.k * P.n;
  float* C = P.c + item * P.m * P.n;
  const long j0 = nBlock * P.nc, cols = min_of(P.nc, P.n - j0);
  if (P.direct) return direct_block(P, A, B, C, j0, cols);
  const long lda = P.transA ? P.m : P.k;
  const long ldb = P.transB ? P.k : P.n;
  const long rowEnd = min_of(P.m, (mBlock + 1) * P.mc);
  for (long p0 = 0; p0 < P.k; p0 += KC) {
    const long depth = min_of(KC, P.k - p0);
    pack_b(P.transB ? B + j0 * ldb + p0 : B + p0 * ldb + j0, ldb, P.transB, depth, cols, packedB);
    for (long i0 = mBlock * P.mc; i0 < rowEnd; i0 += MC) {
      const long rows = min_of(MC, rowEnd - i0);
      pack_a(P.transA ? A + p0 * lda + i0 : A + i0 * lda + p0, lda, P.transA, rows, depth, packedA);
      // Each B sliver stays in L1 while the A slivers of this chunk (in L2) pass over it.
      for (long jr = 0; jr < cols; jr += NR) {
        for (long ir = 0; ir < rows; ir += MR) {
          micro_kernel(depth, packedA + ir * depth, packedB + jr * depth, C + (i0 + ir) * P.n + j0 + jr, P.n,
                       min_of(MR, rows - ir), min_of(NR, cols - jr), p0 > 0);
        }
      }
    }
  }
}

static const Kernel kernel = {VW, MR, NR, KC, MC, NC, run_task};
