// The native GEMM (native/gemm.cc via src-main/native.ts) against the wasm backend's own
// BatchMatMul: same shapes, same values up to float32 rounding, for every kernel this CPU can
// run, one thread and all, transposes, batches and broadcasting, gradients, a wasm heap that
// grows during the call, and processes and workers that exit cleanly. Skipped with a message
// when the addon is not built (npm run build:native).
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeBackend, initBackend } from '../../src-main/backend';
import { accelerateWasmMatMul, loadNativeGemm, nativeGemmUnavailableReason, restoreWasmMatMul } from '../../src-main/native';
import { REPO_ROOT } from '../helpers/golden';

const gemm = loadNativeGemm();
if (!gemm) console.warn(`[native-gemm] skipped: native GEMM ${nativeGemmUnavailableReason()}`);

/** |native − wasm| ≤ TOLERANCE · (|A|·|B|), elementwise: the usual bound for a reordered float32 sum. */
const TOLERANCE = 1e-5;
const ADDON = path.join(REPO_ROOT, 'native/build/Release/lamm_native.node');

type Case = [a: number[], b: number[], transposeA: boolean, transposeB: boolean];

const SHAPES: Case[] = [
  [[1, 1], [1, 1], false, false],
  [[3, 17], [17, 5], false, false],
  [[17, 513], [513, 3], false, false],
  [[33, 64], [64, 513], false, false],
  // Several depth blocks, several row and column tiles, and enough work for every thread.
  [[300, 600], [600, 200], false, false],
  [[130, 257], [70, 257], false, true],
  [[257, 130], [257, 70], true, false],
  [[257, 130], [70, 257], true, true],
  [[1, 513], [3, 513], false, true],
  // Thin products (fewer rows or columns than a micro-tile) are multiplied without packing.
  [[5, 70], [70, 600], false, false],
  [[7, 300], [300, 1000], false, false],
  [[9, 77], [20, 77], false, true],
  [[70, 5], [70, 600], true, false],
  [[4, 17, 33], [4, 33, 3], false, false],
  [[6, 12, 64], [6, 17, 64], false, true],
  [[6, 64, 12], [6, 17, 64], true, true],
  [[6, 17, 13], [6, 17, 9], true, false],
  [[5, 7, 9], [1, 9, 11], false, false],
  [[1, 7, 9], [5, 11, 9], false, true],
  [[2, 3, 5, 7], [2, 3, 7, 9], false, false],
  [[2, 3, 5, 7], [7, 9], false, false],
  [[5, 7], [2, 3, 7, 9], false, false],
  [[1, 3, 5, 7], [3, 7, 9], false, false],
  // Broadcasting beyond "one side 1": one native call per output item.
  [[3, 1, 5, 7], [1, 2, 7, 9], false, false],
  [[2, 1, 3, 5, 7], [4, 1, 9, 7], false, true],
];

function withWasmKernel<T>(f: () => T): T {
  restoreWasmMatMul();
  try {
    return f();
  } finally {
    accelerateWasmMatMul();
  }
}

/**
 * Largest |native − reference| / (|A|·|B|) over the product. The reference
 * is the wasm kernel on operands broadcast to the full batch shape first: for batch shapes other
 * than "equal, or one side 1" the wasm kernel reads memory it should not.
 */
function scaledError([aShape, bShape, transposeA, transposeB]: Case, seed: number): number {
  return tf.tidy(() => {
    const a = tf.randomNormal(aShape, 0, 1, 'float32', seed);
    const b = tf.randomNormal(bShape, 0, 1, 'float32', seed + 1);
    const native = tf.matMul(a, b, transposeA, transposeB);
    const batchDims = native.shape.slice(0, -2);
    const full = (x: tf.Tensor) => tf.broadcastTo(x, [...batchDims, ...x.shape.slice(-2)]);
    const [wasm, scale] = withWasmKernel(() => [
      tf.matMul(full(a), full(b), transposeA, transposeB),
      tf.matMul(full(tf.abs(a)), full(tf.abs(b)), transposeA, transposeB),
    ]);
    expect(native.shape).toEqual(wasm.shape);
    return tf.max(tf.div(tf.abs(tf.sub(native, wasm)), tf.add(scale, 1e-30))).dataSync()[0];
  });
}

describe.skipIf(!gemm)('native GEMM', () => {
  let threads = 1;
  let available: string[] = [];

  beforeAll(async () => {
    const info = await initBackend('wasm');
    expect(info.accelerator).toMatch(/^native GEMM/);
    ({ threads, available } = gemm!.info());
  });

  afterAll(() => {
    gemm!.setIsa(available[0]);
    gemm!.setThreads(threads);
  });

  it('reports itself as the backend in use', async () => {
    const info = await initBackend('wasm');
    expect(describeBackend(info)).toBe(`wasm + native GEMM (${available[0]}, ${threads} thread${threads === 1 ? '' : 's'})`);
    expect(info.threads).toBe(threads);
  });

  it('equals the wasm kernel for every shape, transpose and batch, on every kernel and thread count', () => {
    for (const isa of available) {
      gemm!.setIsa(isa);
      for (const t of new Set([1, Math.max(2, threads)])) {
        gemm!.setThreads(t);
        SHAPES.forEach((c, i) => {
          const error = scaledError(c, 10 * i);
          expect(error, `${isa}, ${t} threads, ${JSON.stringify(c)}`).toBeLessThanOrEqual(TOLERANCE);
        });
      }
    }
    gemm!.setIsa(available[0]);
    gemm!.setThreads(threads);
  });

  it('is exact where float32 sums are exact, and keeps NaN and infinities', () => {
    const [native, wasm] = [0, 1].map((useWasm) => {
      const run = () =>
        tf.tidy(() => {
          const a = tf.tensor2d([
            [1, 2, 3],
            [NaN, 0, 1],
            [Infinity, 1, 0],
          ]);
          const b = tf.tensor2d([
            [4, 5],
            [6, 7],
            [8, 9],
          ]);
          return tf.matMul(a, b).arraySync() as number[][];
        });
      return useWasm ? withWasmKernel(run) : run();
    });
    expect(native).toEqual(wasm);
    expect(native[0]).toEqual([40, 46]);
  });

  it('gives zeros for an empty inner dimension and empty results for empty outer ones', () => {
    const [zeros, noRows, noBatch] = tf.tidy(() =>
      [tf.matMul(tf.ones([2, 3, 0]), tf.ones([2, 0, 4])), tf.matMul(tf.ones([0, 5]), tf.ones([5, 4])), tf.matMul(tf.ones([0, 2, 5]), tf.ones([5, 4]))].map(
        (t) => ({ shape: t.shape, values: Array.from(t.dataSync()) }),
      ),
    );
    expect(zeros).toEqual({ shape: [2, 3, 4], values: new Array(24).fill(0) });
    expect(noRows).toEqual({ shape: [0, 4], values: [] });
    expect(noBatch).toEqual({ shape: [0, 2, 4], values: [] });
  });

  it('gives the same gradients through transposed and batched matMuls', () => {
    const grads = () =>
      tf.tidy(() => {
        const a = tf.randomNormal([3, 40, 24], 0, 1, 'float32', 7);
        const b = tf.randomNormal([3, 33, 40], 0, 1, 'float32', 8);
        const w = tf.randomNormal([3, 24, 33], 0, 1, 'float32', 9);
        const f = (x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(tf.matMul(x, y, true, true), w));
        return tf
          .grads(f)([a, b])
          .map((g) => g.arraySync() as number[][][]);
      });
    const native = grads();
    const wasm = withWasmKernel(grads);
    const flat = (x: number[][][][]) => x.flat(3);
    const [n, r] = [flat(native), flat(wasm)];
    const scale = Math.max(...r.map(Math.abs));
    expect(n.length).toBe(r.length);
    expect(Math.max(...n.map((v, i) => Math.abs(v - r[i]))) / scale).toBeLessThanOrEqual(TOLERANCE);
  });

  it('writes its output after the wasm heap grows to make room for it', () => {
    const backend = tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } };
    const heapBefore = backend.wasm.HEAPU8.buffer;
    // An output larger than the whole current heap cannot be allocated without growing it.
    const rows = 1024;
    const cols = Math.ceil(heapBefore.byteLength / 4 / rows) + 1024;
    if (rows * cols * 4 > 1.5 * 2 ** 30) return; // heap already huge: this test would only cost memory
    const values = tf.tidy(() => {
      const a = tf.range(0, rows).reshape([rows, 1]);
      const b = tf.range(0, cols).reshape([1, cols]);
      return tf.matMul(a, b);
    });
    expect(backend.wasm.HEAPU8.buffer).not.toBe(heapBefore);
    const data = values.dataSync();
    values.dispose();
    for (const [i, j] of [
      [0, 0],
      [1, 1],
      [rows - 1, cols - 1],
      [517, 4099],
      [rows - 1, 0],
    ]) {
      expect(data[i * cols + j]).toBe(i * j);
    }
  });

  it('leaves no tensors behind', () => {
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      tf.matMul(tf.ones([2, 5, 7]), tf.ones([7, 3]));
    });
    tf.tidy(() => {
      tf.grad((x: tf.Tensor) => tf.sum(tf.matMul(x, x, false, true)))(tf.ones([4, 6]));
    });
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses operands outside the buffer and wrong arguments with an error', () => {
    const buffer = new ArrayBuffer(4 * 16);
    expect(() => gemm!.gemm(buffer, 0, 0, 4 * 8, 1, 1, 3, 3, 3, false, false)).toThrow(/do not fit/);
    expect(() => gemm!.gemm(buffer, 2, 0, 0, 1, 1, 1, 1, 1, false, false)).toThrow(/do not fit/);
    expect(() => gemm!.gemm(buffer, 0, 0, 0, 2, 3, 1, 1, 1, false, false)).toThrow(/batch/);
    expect(() => gemm!.gemm(buffer, -4, 0, 0, 1, 1, 1, 1, 1, false, false)).toThrow(/non-negative/);
    expect(() => (gemm as unknown as { gemm: (...x: unknown[]) => void }).gemm(new Float32Array(4), 0, 0, 0, 1, 1, 1, 1, 1, false, false)).toThrow(
      /ArrayBuffer/,
    );
    expect(() => gemm!.setIsa('avx9000')).toThrow(/unknown/);
  });

  it('lets a process and a worker thread exit promptly after multithreaded products', () => {
    const product = `const g = require(${JSON.stringify(ADDON)}); g.setThreads(2); const n = 256;
      g.gemm(new ArrayBuffer(4 * 3 * n * n), 0, 4 * n * n, 8 * n * n, 1, 1, n, n, n, false, false);`;
    const script = `${product}
      new (require('node:worker_threads').Worker)(${JSON.stringify(product)}, { eval: true })
        .on('exit', (code) => { if (code !== 0) process.exit(3); });`;
    const child = spawnSync(process.execPath, ['-e', script], { timeout: 20_000, encoding: 'utf8' });
    expect(child.error, 'the process hung').toBeUndefined();
    expect(child.stderr).toBe('');
    expect(child.status).toBe(0);
  });

  it('stays off with LAMM_NATIVE=0', () => {
    const code = "import { initBackend, describeBackend } from './src-main/backend'; console.log(describeBackend(await initBackend('wasm')));";
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
      cwd: REPO_ROOT,
      env: { ...process.env, LAMM_NATIVE: '0' },
      timeout: 60_000,
      encoding: 'utf8',
    });
    expect(child.stdout.trim()).toBe('wasm (1 thread); native GEMM disabled by LAMM_NATIVE=0');
  });
});
