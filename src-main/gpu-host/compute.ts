// The GPU host page's code (gpu.html): tfjs on Chromium's own WebGPU, where Electron has it (a
// renderer, not the main or a utility process). It loads nothing from outside, owns no project
// data and answers the calls of protocol.ts on the one MessagePort it is handed.
import * as tf from '@tensorflow/tfjs';
import { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { embedPixels, embedTexts } from '../clip/embed';
import { modelFromFiles } from '../clip/assemble';
import type { ClipModel } from '../clip/types';
import { CancelledError, type JobContext } from '../jobs/context';
import { PromptEncoder } from '../lamm/text';
import { l2Normalize, oneHot } from '../lamm/loss';
import type { Sample } from '../lamm/sampling';
import { trainingStep, trainPrompts } from '../lamm/trainer';
import type { FeatureRows, FromHost, GpuHostInfo, GpuHostOps, ToHost } from './protocol';
import { PORT_MESSAGE } from './protocol';
import { firstLine } from '../errors';
import { GpuFaults, requiredLimits, SOFTWARE_ADAPTER_NAMES } from '../gpu-faults';

// The trainer yields between steps with setImmediate, which pages lack.
const g = globalThis as { setImmediate?: (fn: () => void) => void };
g.setImmediate ??= (fn) => void setTimeout(fn, 0);

const faults = new GpuFaults(
  () => 'the GPU host page',
  // tfjs reads synchronously through a 2-D canvas, which returned zeros on SwiftShader: the engine reads with await.
  'synchronous reads (dataSync/arraySync) are not used on the GPU host page: read with await data()',
);
let info: GpuHostInfo | null = null;

async function init(): Promise<GpuHostInfo> {
  if (info) return info;
  const gpu = (navigator as any).gpu;
  if (!gpu) throw new Error('this page has no navigator.gpu (WebGPU is off in this browser)');
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new Error('navigator.gpu found no adapter');
  const device = await adapter.requestDevice({ requiredLimits: requiredLimits(adapter) });
  faults.watch(device);
  const a = adapter.info ?? {};
  const text = (k: string) => String(a[k] ?? '').trim();
  const summary = { vendor: text('vendor'), architecture: text('architecture'), device: text('device'), description: text('description') };
  const software = Boolean(adapter.isFallbackAdapter ?? a.isFallbackAdapter) || SOFTWARE_ADAPTER_NAMES.test(Object.values(summary).join(' '));
  if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu');
  tf.registerBackend('webgpu', () => {
    const backend = new WebGPUBackend(device, a);
    faults.instrument(backend);
    return backend;
  });
  if (!(await tf.setBackend('webgpu'))) throw new Error('the webgpu backend did not initialise');
  info = { backend: tf.getBackend(), adapter: { ...summary, software } };
  return info;
}

type Send = (m: FromHost, transfer?: Transferable[]) => void;

/** Serves one port: calls run one after another in arrival order; features answers and cancels go straight through. */
export function serve(port: { postMessage(m: unknown, transfer?: Transferable[]): void; onmessage: ((e: MessageEvent) => void) | null }): void {
  const send: Send = (m, transfer = []) => port.postMessage(m, transfer);
  const aborts = new Map<number, AbortController>();
  const asks = new Map<number, { resolve(f: FeatureRows): void; reject(e: Error): void }>();
  let nextAsk = 1;
  let queue: Promise<unknown> = Promise.resolve();
  // Each port (a window's client, a training job's relay) has its own model.
  let model: ClipModel | null = null;
  const needModel = (): ClipModel => {
    if (!model) throw new Error('no model loaded on the GPU host');
    return model;
  };

  const askFeatures = (id: number, samples: Sample[]) =>
    new Promise<FeatureRows>((resolve, reject) => {
      const ask = nextAsk++;
      asks.set(ask, { resolve, reject });
      send({ id, need: 'features', ask, samples });
    });

  async function handle(id: number, op: keyof GpuHostOps, params: any): Promise<{ result: unknown; transfer: Transferable[] }> {
    switch (op) {
      case 'init':
        return { result: await init(), transfer: [] };
      case 'loadModel': {
        await init();
        model?.dispose();
        model = null;
        // Transposed text linears only pay off on plain wasm (see clip/model.ts LoadOptions).
        model = modelFromFiles(params.files, false);
        return { result: {}, transfer: [] };
      }
      case 'embedTexts': {
        const rows = await embedTexts(needModel(), params.texts);
        return { result: rows, transfer: rows.map((r) => r.buffer) };
      }
      case 'embedPixels': {
        const rows = await embedPixels(needModel(), params.pixels);
        return { result: rows, transfer: rows.map((r) => r.buffer) };
      }
      case 'step': {
        const p = params as GpuHostOps['step']['params'];
        const m = needModel();
        const encoder = new PromptEncoder(m, p.setup);
        const labels = tf.variable(p.labelEmbeddings ? tf.tensor3d(p.labelEmbeddings, encoder.initialLabels.shape) : encoder.initialLabels, true);
        try {
          const zeroShot = tf.tidy(() => l2Normalize(encoder.encode()));
          const imageFeatures = tf.tensor2d(p.imageFeatures.data, [p.imageFeatures.rows, p.imageFeatures.cols]);
          const y = oneHot(p.labels, p.setup.promptIds.length);
          const r = trainingStep({
            encoder,
            labels,
            context: null,
            anchor: false,
            zeroShot,
            imageFeatures,
            oneHotLabels: y,
            weights: p.weights,
            logitScale: m.logitScale,
          });
          const terms = (await r.terms.data()) as Float32Array;
          const grads: Record<string, Float32Array> = {};
          for (const [name, t] of Object.entries(r.grads)) grads[name === labels.name ? 'labels' : name] = (await t.data()) as Float32Array;
          tf.dispose([zeroShot, imageFeatures, y, r.terms, r.predicted, ...Object.values(r.grads)]);
          return { result: { terms, grads }, transfer: [terms.buffer, ...Object.values(grads).map((v) => v.buffer)] };
        } finally {
          labels.dispose();
          encoder.dispose();
        }
      }
      case 'train': {
        const p = params as GpuHostOps['train']['params'];
        const controller = new AbortController();
        aborts.set(id, controller);
        const ctx: JobContext = { signal: controller.signal, progress: (progress) => send({ id, event: { kind: 'progress', progress } }) };
        try {
          const result = await trainPrompts(
            needModel(),
            p.setup,
            p.config,
            {
              labels: p.labels,
              async batchFeatures(samples) {
                const f = await askFeatures(id, samples);
                return tf.tensor2d(f.data, [f.rows, f.cols]);
              },
            },
            {
              ctx,
              tokensPerPass: p.tokensPerPass,
              onStep: (step) => send({ id, event: { kind: 'step', step } }),
              onEpoch: (epoch) => send({ id, event: { kind: 'epoch', epoch } }),
            },
          );
          return { result, transfer: [] };
        } finally {
          aborts.delete(id);
        }
      }
      case 'cancel': {
        const c = aborts.get(params.target);
        c?.abort();
        return { result: { cancelled: Boolean(c) }, transfer: [] };
      }
      default:
        throw new Error(`unknown GPU host call "${String(op)}"`);
    }
  }

  port.onmessage = (e: MessageEvent) => {
    const m = e.data as ToHost;
    if (!m || typeof m !== 'object' || typeof m.id !== 'number' || typeof m.op !== 'string') return;
    if (m.op === 'features') {
      const ask = asks.get(m.id);
      asks.delete(m.id);
      if (ask) 'error' in m ? ask.reject(new Error(m.error)) : ask.resolve(m.features);
      return;
    }
    const { id, op, params } = m;
    const run = () =>
      handle(id, op, params ?? {}).then(
        ({ result, transfer }) => send({ id, ok: true, result }, transfer),
        (err) => send({ id, ok: false, error: firstLine(err), cancelled: err instanceof CancelledError || undefined }),
      );
    // cancel must not wait behind the training it stops.
    if (op === 'cancel') void run();
    else queue = queue.then(run);
  };
}

// The page is handed a port per client, by the preload (Electron) or the test harness.
window.addEventListener('message', (e) => {
  if (e.source === window && e.data === PORT_MESSAGE && e.ports[0]) serve(e.ports[0]);
});
