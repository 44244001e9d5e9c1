// lamm_native: float32 batched GEMM for the TensorFlow.js wasm backend, run in place on the
// wasm heap (an ArrayBuffer) so no tensor is copied. C[b] = op(A[b]) · op(B[b]) with optional
// transposes and a batch of 1 broadcast against the other operand, as tfjs BatchMatMul does.
//
// Speed: packed panels and a register-blocked micro-kernel (gemm_kernel.h), compiled for
// AVX-512, AVX2+FMA and baseline SIMD in one binary and picked at load time from the CPU, so
// a build from one x86-64 machine runs on any other. Work is cut into tasks (batch item × row
// block × column block) that a small persistent thread pool takes from a shared counter.
// Results equal a plain dot product up to float32 rounding (the summation order differs).
//
// Plain C N-API (node_api.h only), so the binary loads in any Node or Electron of N-API ≥ 3.
#include <node_api.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>

namespace {

struct Problem {
  const float* a;
  const float* b;
  float* c;
  long batchA, batchB, batch, m, n, k;
  bool transA, transB;
  bool direct;                    // thin product: multiplied in place, no packing (gemm_kernel.h)
  long mc, nc, mBlocks, nBlocks;  // the task grid, from plan(); direct tasks take every row
};

struct Kernel {
  int vw, mr, nr, kc, mc, nc;
  void (*run_task)(const Problem&, long task, float* packedA, float* packedB);
};

}  // namespace

// ---- one kernel per instruction set --------------------------------------------------------

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define LAMM_X86 1

#ifdef __clang__
#pragma clang attribute push(__attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")
#endif
namespace avx512 {
constexpr int VW = 16, MR = 12, KC = 256, MC = 144, NC = 2048;
#include "gemm_kernel.h"
}  // namespace avx512
#ifdef __clang__
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

#ifdef __clang__
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#endif
namespace avx2 {
constexpr int VW = 8, MR = 6, KC = 256, MC = 120, NC = 2048;
#include "gemm_kernel.h"
}  // namespace avx2
#ifdef __clang__
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#endif  // x86-64

// Baseline: SSE2 on x86-64, NEON on arm64 (both 4 floats wide).
namespace generic {
constexpr int VW = 4, MR = 6, KC = 256, MC = 120, NC = 2048;
#include "gemm_kernel.h"
}  // namespace generic

namespace {

struct Isa {
  const char* name;
  const Kernel* kernel;
  bool (*supported)();
};

const Isa kIsas[] = {
#ifdef LAMM_X86
    {"avx512", &avx512::kernel, [] { return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl"); }},
    {"avx2", &avx2::kernel, [] { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }},
#endif
    {"generic", &generic::kernel, [] { return true; }},
};
constexpr int kIsaCount = sizeof(kIsas) / sizeof(kIsas[0]);

// Below this many multiply-adds (about 20 µs of work) a call runs on the calling thread:
// waking a helper takes about as long.
constexpr double kParallelMinMacs = 1 << 21;
// Tasks per thread to aim for, so that uneven task sizes still balance.
constexpr long kTasksPerThread = 2;
constexpr int kMaxThreads = 256;

std::atomic<const Isa*> g_isa{nullptr};
std::atomic<int> g_threads{1};

const Isa* best_isa() {
#ifdef LAMM_X86
  __builtin_cpu_init();  // also safe when called before libgcc's own initialiser has run
#endif
  for (const Isa& isa : kIsas)
    if (isa.supported()) return &isa;
  return &kIsas[kIsaCount - 1];
}

const Isa* current_isa() {
  const Isa* isa = g_isa.load();
  if (!isa) {
    isa = best_isa();
    g_isa.store(isa);
  }
  return isa;
}

long ceil_div(long x, long y) { return (x + y - 1) / y; }
long round_up(long x, long unit) { return ceil_div(x, unit) * unit; }

// Cuts each batch item into row × column blocks, one task each. Alone, a task takes all rows
// and NC columns (every operand is packed once); with helpers, blocks shrink until each thread
// has a few tasks, splitting the longer side and keeping at least two micro-tiles per block.
long plan(Problem& P, const Kernel& K, int threads) {
  long mBlocks = 1, nBlocks = ceil_div(P.n, K.nc);
  if (threads > 1) {
    const long want = ceil_div(kTasksPerThread * threads, P.batch);
    const long mMax = P.direct ? 1 : ceil_div(P.m, 2 * K.mr), nMax = ceil_div(P.n, 2 * K.nr);
    while (mBlocks * nBlocks < want) {
      const bool splitN = nBlocks < nMax && (P.n / nBlocks >= P.m / mBlocks || mBlocks >= mMax);
      if (splitN) ++nBlocks;
      else if (mBlocks < mMax) ++mBlocks;
      else break;
    }
  }
  P.mc = round_up(ceil_div(P.m, mBlocks), K.mr);
  P.nc = round_up(ceil_div(P.n, nBlocks), K.nr);
  P.mBlocks = ceil_div(P.m, P.mc);
  P.nBlocks = ceil_div(P.n, P.nc);
  return P.batch * P.mBlocks * P.nBlocks;
}

// Each thread's packing buffers, kept between calls and grown when a kernel needs more.
struct PackBuffers {
  float* data = nullptr;
  size_t floats = 0;
  ~PackBuffers() { std::free(data); }
  float* reserve(size_t want) {
    if (want > floats) {
      std::free(data);
      data = static_cast<float*>(std::aligned_alloc(64, round_up(long(want) * 4, 64)));
      floats = data ? want : 0;
    }
    return data;
  }
};
thread_local PackBuffers t_buffers;

struct Job {
  const Problem* problem;
  const Kernel* kernel;
  long tasks;
  std::atomic<long> next{0};
};

void work(Job& job) {
  const Kernel& K = *job.kernel;
  const size_t aFloats = size_t(K.mc) * K.kc;
  float* packed = t_buffers.reserve(aFloats + size_t(K.kc) * K.nc);
  if (!packed) std::abort();  // out of memory for a few MiB: nothing sensible is left
  for (long t; (t = job.next.fetch_add(1, std::memory_order_relaxed)) < job.tasks;)
    K.run_task(*job.problem, t, packed, packed + aFloats);
}

// Helper threads wait on a condition variable between calls (no spinning: the cores are
// shared). The pool is never destroyed: its threads are detached and blocked when the process
// exits, so exit neither hangs on a join nor races a destructor.
class Pool {
 public:
  // Runs the job on the calling thread plus `helpers` pool threads; returns when all are done.
  void run(Job& job, int helpers) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      while (started_ < helpers) {
        const int id = started_++;
        std::thread([this, id] { loop(id); }).detach();
      }
      job_ = &job;
      wanted_ = helpers;
      running_ = helpers;
      ++generation_;
    }
    wake_.notify_all();
    work(job);
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [this] { return running_ == 0; });
    job_ = nullptr;
  }

 private:
  void loop(int id) {
    unsigned long seen = 0;
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      wake_.wait(lock, [&] { return generation_ != seen; });
      seen = generation_;
      if (id >= wanted_) continue;
      Job* job = job_;
      lock.unlock();
      work(*job);
      lock.lock();
      if (--running_ == 0) done_.notify_one();
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_, done_;
  Job* job_ = nullptr;
  unsigned long generation_ = 0;
  int started_ = 0, wanted_ = 0, running_ = 0;
};

Pool& pool() {
  static Pool* p = new Pool();  // leaked on purpose, see Pool
  return *p;
}
// One call uses the pool at a time; a second caller (another worker thread) runs alone.
std::mutex g_pool_busy;

void gemm(Problem P) {
  if (P.m == 0 || P.n == 0 || P.batch == 0) return;
  if (P.k == 0) {
    std::memset(P.c, 0, size_t(P.batch) * P.m * P.n * sizeof(float));
    return;
  }
  // A shared right operand and row-major left ones: the batch is just more rows of one GEMM.
  if (P.batchB == 1 && P.batch > 1 && !P.transA) {
    P.m *= P.batch;
    P.batch = P.batchA = 1;
  }
  const Kernel& K = *current_isa()->kernel;
  P.direct = (P.m < K.mr || P.n < K.nr) && !(P.transA && P.transB);
  const double macs = double(P.batch) * P.m * P.n * P.k;
  const int threads = macs >= kParallelMinMacs ? g_threads.load() : 1;
  Job job;
  job.problem = &P;
  job.kernel = &K;
  if (threads > 1) {
    std::unique_lock<std::mutex> busy(g_pool_busy, std::try_to_lock);
    if (busy.owns_lock()) {
      job.tasks = plan(P, K, threads);
      const int helpers = int(job.tasks < threads ? job.tasks : threads) - 1;
      if (helpers > 0) {
        pool().run(job, helpers);
        return;
      }
    }
  }
  job.tasks = plan(P, K, 1);
  work(job);
}

// ---- N-API --------------------------------------------------------------------------------

napi_value throw_error(napi_env env, const char* message) {
  napi_throw_error(env, "ERR_LAMM_NATIVE", message);
  return nullptr;
}

bool get_count(napi_env env, napi_value value, int64_t* out) {
  double d;
  if (napi_get_value_double(env, value, &d) != napi_ok) return false;
  if (!(d >= 0 && d <= 9007199254740991.0) || d != double(int64_t(d))) return false;
  *out = int64_t(d);
  return true;
}

// Bytes spanned by `floats` float32 values at `offset`, checked against the buffer.
bool fits(int64_t offset, int64_t floats, size_t byteLength) {
  int64_t bytes;
  if (offset % 4 != 0 || __builtin_mul_overflow(floats, int64_t(4), &bytes)) return false;
  return uint64_t(offset) <= byteLength && uint64_t(bytes) <= byteLength - uint64_t(offset);
}

// gemm(buffer, aOffset, bOffset, cOffset, batchA, batchB, m, n, k, transposeA, transposeB)
// A[b] is m×k (k×m if transposed), B[b] is k×n (n×k if transposed), C is max(batchA, batchB)×m×n.
napi_value Gemm(napi_env env, napi_callback_info info) {
  size_t argc = 11;
  napi_value argv[11];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc != 11)
    return throw_error(env, "gemm: expected 11 arguments (buffer, aOffset, bOffset, cOffset, batchA, batchB, m, n, k, transposeA, transposeB)");
  void* data;
  size_t byteLength;
  bool isArrayBuffer = false;
  napi_is_arraybuffer(env, argv[0], &isArrayBuffer);
  if (!isArrayBuffer || napi_get_arraybuffer_info(env, argv[0], &data, &byteLength) != napi_ok)
    return throw_error(env, "gemm: the first argument must be an ArrayBuffer");
  int64_t v[8];
  for (int i = 0; i < 8; ++i)
    if (!get_count(env, argv[1 + i], &v[i])) return throw_error(env, "gemm: offsets and sizes must be non-negative integers");
  bool transA, transB;
  if (napi_get_value_bool(env, argv[9], &transA) != napi_ok || napi_get_value_bool(env, argv[10], &transB) != napi_ok)
    return throw_error(env, "gemm: transposeA and transposeB must be booleans");
  const int64_t aOffset = v[0], bOffset = v[1], cOffset = v[2], batchA = v[3], batchB = v[4], m = v[5], n = v[6], k = v[7];
  if (batchA < 1 || batchB < 1 || (batchA != batchB && batchA != 1 && batchB != 1))
    return throw_error(env, "gemm: batch sizes must be equal or one of them 1");
  const int64_t batch = batchA > batchB ? batchA : batchB;
  const int64_t limit = int64_t(1) << 40;  // keeps every product below overflow
  if (m > limit || n > limit || k > limit || batch > limit) return throw_error(env, "gemm: sizes too large");
  int64_t aFloats, bFloats, cFloats;
  if (__builtin_mul_overflow(batchA, m * k, &aFloats) || __builtin_mul_overflow(batchB, k * n, &bFloats) ||
      __builtin_mul_overflow(batch, m * n, &cFloats) || !fits(aOffset, aFloats, byteLength) ||
      !fits(bOffset, bFloats, byteLength) || !fits(cOffset, cFloats, byteLength))
    return throw_error(env, "gemm: operands do not fit in the buffer at the given offsets (float32, 4-byte aligned)");
  char* base = static_cast<char*>(data);
  Problem P{};
  P.a = reinterpret_cast<const float*>(base + aOffset);
  P.b = reinterpret_cast<const float*>(base + bOffset);
  P.c = reinterpret_cast<float*>(base + cOffset);
  P.batchA = batchA;
  P.batchB = batchB;
  P.batch = batch;
  P.m = m;
  P.n = n;
  P.k = k;
  P.transA = transA;
  P.transB = transB;
  gemm(P);
  return nullptr;
}

napi_value make_string(napi_env env, const char* s) {
  napi_value out;
  napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &out);
  return out;
}

// info() → { isa, available: [...], threads }
napi_value Info(napi_env env, napi_callback_info) {
  napi_value out, available, threads;
  napi_create_object(env, &out);
  napi_set_named_property(env, out, "isa", make_string(env, current_isa()->name));
  napi_create_array(env, &available);
  uint32_t count = 0;
  for (const Isa& isa : kIsas)
    if (isa.supported()) napi_set_element(env, available, count++, make_string(env, isa.name));
  napi_set_named_property(env, out, "available", available);
  napi_create_int32(env, g_threads.load(), &threads);
  napi_set_named_property(env, out, "threads", threads);
  return out;
}

// setThreads(n): threads per call from now on (the calling thread counts as one).
napi_value SetThreads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int64_t n;
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc != 1 || !get_count(env, argv[0], &n) ||
      n < 1 || n > kMaxThreads)
    return throw_error(env, "setThreads: expected an integer from 1 to 256");
  g_threads.store(int(n));
  return nullptr;
}

// setIsa(name): use a named kernel this CPU supports (tests cover every path this way).
napi_value SetIsa(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  char name[32];
  size_t length = 0;
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc != 1 ||
      napi_get_value_string_utf8(env, argv[0], name, sizeof name, &length) != napi_ok)
    return throw_error(env, "setIsa: expected a name");
  for (const Isa& isa : kIsas) {
    if (std::strcmp(isa.name, name) != 0) continue;
    if (!isa.supported()) return throw_error(env, "setIsa: this CPU does not support that instruction set");
    g_isa.store(&isa);
    return nullptr;
  }
  return throw_error(env, "setIsa: unknown instruction set");
}

}  // namespace

NAPI_MODULE_INIT() {
  const napi_property_descriptor methods[] = {
      {"gemm", nullptr, Gemm, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"info", nullptr, Info, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"setThreads", nullptr, SetThreads, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"setIsa", nullptr, SetIsa, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
  };
  napi_define_properties(env, exports, sizeof methods / sizeof methods[0], methods);
  return exports;
}
