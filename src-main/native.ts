// Optional native GEMM (native/gemm.cc, built at install by scripts/build-native.js) that
// replaces the wasm backend's BatchMatMul kernel. The wasm kernel is fast only for plain 2-D
// products (about 20 GFLOP/s, one thread) and about 1 GFLOP/s transposed or batched; the
// addon multiplies in place on the wasm heap with AVX-512/AVX2 on every core. Same results up
// to float32 rounding. Without the addon (no compiler at install, LAMM_NATIVE=0) nothing
// changes: the wasm kernel stays.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { firstLine } from './errors';

/** The addon's exports (native/gemm.cc). */
export interface NativeGemm {
  /**
   * C[b] = op(A[b]) · op(B[b]) on float32 data in `buffer` at byte offsets. A[b] is m×k (k×m
   * when transposed), B[b] is k×n (n×k when transposed); a batch of 1 is shared by the other
   * operand's items. Throws on operands outside the buffer.
   */
  gemm(
    buffer: ArrayBuffer,
    aOffset: number,
    bOffset: number,
    cOffset: number,
    batchA: number,
    batchB: number,
    m: number,
    n: number,
    k: number,
    transposeA: boolean,
    transposeB: boolean,
  ): void;
  /** The kernel in use, those this CPU can run (best first), and threads per call. */
  info(): { isa: string; available: string[]; threads: number };
  setThreads(threads: number): void;
  /** Forces one of `info().available` (tests cover every kernel this way). */
  setIsa(isa: string): void;
}

export interface NativeAccelerator {
  isa: string;
  threads: number;
  /** For logs and the status bar, e.g. "native GEMM (avx512, 2 threads)". */
  label: string;
}

/** What the kernel uses of tfjs-backend-wasm's BackendWasm (whose typings omit the heap views). */
interface WasmBackend {
  wasm: { HEAPU8: Uint8Array };
  makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo;
  getMemoryOffset(dataId: tf.DataId): number;
}

const ADDON_FILE = path.join('native', 'build', 'Release', 'lamm_native.node');
/** Directories above this module to look for the package root (src-main/ in development, out/main/ when bundled). */
const MAX_LEVELS_UP = 3;

let addon: NativeGemm | null | undefined;
let unavailableReason = '';
let originalKernel: tf.KernelConfig | null = null;

/** The addon with its thread count set, or null (see nativeGemmUnavailableReason). Loads once. */
export function loadNativeGemm(): NativeGemm | null {
  if (addon !== undefined) return addon;
  addon = null;
  if (process.env.LAMM_NATIVE === '0') {
    unavailableReason = 'disabled by LAMM_NATIVE=0';
    return null;
  }
  const threads = threadsFromEnv();
  if (typeof threads === 'string') {
    unavailableReason = threads;
    return null;
  }
  const file = findAddon();
  if (!file) {
    unavailableReason = 'not built (npm run build:native)';
    return null;
  }
  try {
    const loaded = createRequire(import.meta.url)(file) as NativeGemm;
    loaded.setThreads(threads);
    addon = loaded;
  } catch (err) {
    unavailableReason = `failed to load ${file}: ${firstLine(err)}`;
  }
  return addon;
}

/** Why the last loadNativeGemm() or accelerateWasmMatMul() gave null; null when they did not. */
export function nativeGemmUnavailableReason(): string | null {
  return unavailableReason || null;
}

/**
 * Routes every wasm BatchMatMul (tf.matMul, its gradients, batched attention) through the
 * addon. Returns what is active, or null when the backend is not wasm or the addon is missing.
 */
export function accelerateWasmMatMul(): NativeAccelerator | null {
  try {
    return accelerate();
  } catch (err) {
    // The plain wasm kernel still works: an accelerator problem must never cost the backend.
    unavailableReason = `not used: ${firstLine(err)}`;
    return null;
  }
}

function accelerate(): NativeAccelerator | null {
  if (tf.getBackend() !== 'wasm') {
    unavailableReason = `not used: the backend is ${tf.getBackend()}, not wasm`;
    return null;
  }
  const gemm = loadNativeGemm();
  if (!gemm) return null;
  const backend = tf.backend() as unknown as WasmBackend;
  if (!(backend.wasm.HEAPU8.buffer instanceof ArrayBuffer)) {
    unavailableReason = 'not used: the wasm heap is shared memory (threaded wasm build)';
    return null;
  }
  if (!originalKernel) {
    const original = tf.getKernel(tf.BatchMatMul, 'wasm');
    if (!original) {
      unavailableReason = 'not used: the wasm backend has no BatchMatMul kernel';
      return null;
    }
    tf.unregisterKernel(tf.BatchMatMul, 'wasm');
    // Keeping the original's setup lets the fallback work on a re-initialised backend too.
    tf.registerKernel({ ...original, kernelFunc: nativeBatchMatMul(gemm, original.kernelFunc) });
    originalKernel = original;
  }
  unavailableReason = '';
  const { isa, threads } = gemm.info();
  return { isa, threads, label: `native GEMM (${isa}, ${threads} thread${threads === 1 ? '' : 's'})` };
}

/** Puts the wasm backend's own BatchMatMul back (tests and benchmarks compare the two). */
export function restoreWasmMatMul(): void {
  if (!originalKernel) return;
  tf.unregisterKernel(tf.BatchMatMul, 'wasm');
  tf.registerKernel(originalKernel);
  originalKernel = null;
}

/**
 * The kernel: the wasm one's shape checks and output (tfjs-backend-wasm kernels/BatchMatMul),
 * then native calls on the heap: one for equal batches or a batch of 1, one per output item
 * for other broadcasts, zeros for k = 0 (the wasm kernel gets both wrong). Other dtypes go to
 * the wasm kernel.
 */
function nativeBatchMatMul(gemm: NativeGemm, fallback: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const { transposeA, transposeB } = args.attrs as unknown as { transposeA: boolean; transposeB: boolean };
    const backend = args.backend as unknown as WasmBackend;
    if (a.dtype !== 'float32' || b.dtype !== 'float32') return fallback(args);
    const aRank = a.shape.length;
    const bRank = b.shape.length;
    const m = transposeA ? a.shape[aRank - 1] : a.shape[aRank - 2];
    const k = transposeA ? a.shape[aRank - 2] : a.shape[aRank - 1];
    const kB = transposeB ? b.shape[bRank - 1] : b.shape[bRank - 2];
    const n = transposeB ? b.shape[bRank - 2] : b.shape[bRank - 1];
    const aBatchDims = a.shape.slice(0, -2);
    const bBatchDims = b.shape.slice(0, -2);
    const batchDims = tf.broadcast_util.assertAndGetBroadcastShape(aBatchDims, bBatchDims);
    tf.util.assert(
      k === kB,
      () =>
        `Error in matMul: inner shapes (${k}) and (${kB}) of Tensors with shapes ${a.shape} and ${b.shape} and transposeA=${transposeA} and transposeB=${transposeB} must match.`,
    );
    const batchA = tf.util.sizeFromShape(aBatchDims);
    const batchB = tf.util.sizeFromShape(bBatchDims);
    const batch = tf.util.sizeFromShape(batchDims);
    const out = backend.makeOutput([...batchDims, m, n], 'float32');
    if (batch * m * n === 0) return out;
    // Read the heap after allocating: growing wasm memory replaces (detaches) its ArrayBuffer.
    const heap = backend.wasm.HEAPU8.buffer as ArrayBuffer;
    const aOffset = backend.getMemoryOffset(a.dataId);
    const bOffset = backend.getMemoryOffset(b.dataId);
    const outOffset = backend.getMemoryOffset(out.dataId);
    // Equal batch sizes with an equal-size broadcast shape means identical batch shapes.
    if (batch === Math.max(batchA, batchB) && (batchA === batchB || Math.min(batchA, batchB) === 1)) {
      gemm.gemm(heap, aOffset, bOffset, outOffset, batchA, batchB, m, n, k, transposeA, transposeB);
      return out;
    }
    const pairs = broadcastItems(aBatchDims, bBatchDims, batchDims);
    for (let item = 0; item < batch; item++) {
      gemm.gemm(
        heap,
        aOffset + 4 * m * k * pairs.a[item],
        bOffset + 4 * k * n * pairs.b[item],
        outOffset + 4 * m * n * item,
        1,
        1,
        m,
        n,
        k,
        transposeA,
        transposeB,
      );
    }
    return out;
  };
}

/** For each item of the broadcast batch shape `dims`, the item of `aDims` and of `bDims` it reads. */
function broadcastItems(aDims: number[], bDims: number[], dims: number[]): { a: number[]; b: number[] } {
  const outStrides = tf.util.computeStrides(dims);
  const locations = Array.from({ length: tf.util.sizeFromShape(dims) }, (_, item) => tf.util.indexToLoc(item, dims.length, outStrides));
  const itemsOf = (own: number[]) => {
    const padded = [...new Array<number>(dims.length - own.length).fill(1), ...own];
    const strides = [...tf.util.computeStrides(padded), 1];
    return locations.map((loc) => loc.reduce((at, index, d) => at + (padded[d] === 1 ? 0 : index * strides[d]), 0));
  };
  return { a: itemsOf(aDims), b: itemsOf(bDims) };
}

/** Threads per call: LAMM_NATIVE_THREADS, else every CPU this process may use; a message if invalid. */
function threadsFromEnv(): number | string {
  const raw = process.env.LAMM_NATIVE_THREADS?.trim();
  if (!raw) return os.availableParallelism();
  const threads = Number(raw);
  return Number.isInteger(threads) && threads >= 1 && threads <= 256 ? threads : `not used: LAMM_NATIVE_THREADS="${raw}" is not an integer from 1 to 256`;
}

function findAddon(): string | null {
  let dir = import.meta.dirname;
  for (let level = 0; level <= MAX_LEVELS_UP; level++, dir = path.dirname(dir)) {
    const file = path.join(dir, ADDON_FILE);
    if (fs.existsSync(file)) return file;
  }
  return null;
}
