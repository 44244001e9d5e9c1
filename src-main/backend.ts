// Picks the TensorFlow.js backend once per process: CUDA through tfjs-node-gpu, then WebGPU
// on a hardware adapter (Dawn), then libtensorflow on the CPU through tfjs-node, then
// WebAssembly (SIMD, + the native GEMM), then pure JS. The tfjs-node packages are optional
// dependencies (their install downloads libtensorflow), so each is tried with a dynamic
// import and skipped when it does not load. LAMM_BACKEND=webgpu also takes a software
// adapter (SwiftShader, lavapipe, llvmpipe): for tests on machines without a GPU.
import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { accelerateWasmMatMul, nativeGemmUnavailableReason } from './native';
import { shareWasmIdentity } from './wasm-kernels';
import { firstLine } from './errors';
import { describeAdapter, startWebGpu, type AdapterSummary } from './webgpu';

export { readAndDispose } from './tensor-read';

export type BackendName = 'tfjs-node-gpu' | 'webgpu' | 'tfjs-node' | 'wasm' | 'cpu';
export const BACKEND_ORDER: readonly BackendName[] = ['tfjs-node-gpu', 'webgpu', 'tfjs-node', 'wasm', 'cpu'];

export interface BackendInfo {
  name: BackendName;
  /** tf.getBackend() after selection ('tensorflow', 'wasm' or 'cpu'). */
  tfBackend: string;
  /** Threads the backend computes with (1 for wasm in Node: its thread pool does not start there; matMul's with the native GEMM). */
  threads: number;
  /** Native code standing in for some of the backend's kernels, e.g. "native GEMM (avx512, 2 threads)" for wasm matMul. */
  accelerator?: string;
  /** Why wasm runs without it, e.g. "not built (npm run build:native)". */
  acceleratorSkipped?: string;
  /** The WebGPU adapter computed on (webgpu only). */
  adapter?: AdapterSummary;
  /** Why earlier candidates were skipped, for logs and the status bar. */
  skipped: { name: BackendName; reason: string }[];
}

let selected: BackendInfo | null = null;
let pending: Promise<BackendInfo> | null = null;

// Not named `require`: electron-vite puts its own `const require` shim into bundled chunks that use one.
const resolveFromHere = createRequire(import.meta.url);

async function tryBackend(name: BackendName, forced: boolean): Promise<Pick<BackendInfo, 'threads' | 'accelerator' | 'acceleratorSkipped' | 'adapter'>> {
  switch (name) {
    case 'tfjs-node-gpu':
    case 'tfjs-node': {
      // Both register the 'tensorflow' backend on the shared tfjs-core instance.
      await import(/* @vite-ignore */ name === 'tfjs-node-gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node');
      if (!(await tf.setBackend('tensorflow'))) throw new Error('tensorflow backend did not initialise');
      return { threads: (await import('node:os')).cpus().length };
    }
    case 'webgpu':
      // Only a forced choice takes a software adapter: the automatic order would rather use wasm.
      return { threads: 1, adapter: await startWebGpu(forced) };
    case 'wasm': {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      const wasmDir = path.dirname(resolveFromHere.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
      wasm.setWasmPaths(wasmDir + path.sep);
      if (!(await tf.setBackend('wasm'))) throw new Error('wasm backend did not initialise');
      shareWasmIdentity();
      const native = accelerateWasmMatMul();
      return native ? { threads: native.threads, accelerator: native.label } : { threads: 1, acceleratorSkipped: nativeGemmUnavailableReason() ?? undefined };
    }
    case 'cpu': {
      if (!(await tf.setBackend('cpu'))) throw new Error('cpu backend did not initialise');
      return { threads: 1 };
    }
  }
}

/** Chooses the first backend that works, or the one named by `force` / LAMM_BACKEND. Idempotent. */
export function initBackend(force: string | undefined = process.env.LAMM_BACKEND): Promise<BackendInfo> {
  if (selected) return Promise.resolve(selected);
  if (pending) return pending;
  pending = (async () => {
    const wanted = force?.trim();
    if (wanted && !BACKEND_ORDER.includes(wanted as BackendName)) {
      throw new Error(`LAMM_BACKEND="${wanted}" is not one of ${BACKEND_ORDER.join(', ')}`);
    }
    const candidates = wanted ? [wanted as BackendName] : BACKEND_ORDER;
    const skipped: BackendInfo['skipped'] = [];
    for (const name of candidates) {
      try {
        const started = await tryBackend(name, Boolean(wanted));
        await tf.ready();
        selected = { name, tfBackend: tf.getBackend(), ...started, skipped };
        return selected;
      } catch (err) {
        skipped.push({ name, reason: shortReason(err) });
      }
    }
    throw new Error(`no TensorFlow.js backend could start: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`);
  })();
  pending.catch(() => {
    pending = null;
  });
  return pending;
}

export function currentBackend(): BackendInfo | null {
  return selected;
}

export function describeBackend(info: BackendInfo): string {
  if (info.adapter) return `${info.name} on ${describeAdapter(info.adapter)}`;
  if (info.accelerator) return `${info.name} + ${info.accelerator}`;
  const plain = `${info.name} (${info.threads} thread${info.threads === 1 ? '' : 's'})`;
  return info.acceleratorSkipped ? `${plain}; native GEMM ${info.acceleratorSkipped}` : plain;
}

function shortReason(err: unknown): string {
  return firstLine(err).slice(0, 200);
}
