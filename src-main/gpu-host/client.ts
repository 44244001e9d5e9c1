// The main process's side of the GPU host page: typed calls over one port, the page's events
// routed to the caller, and the page's requests for batch features answered from the caller's
// TrainingData (the project store stays here). A page that dies fails every pending call.
import type { ModelFiles } from '../clip/assemble';
import { CancelledError } from '../jobs/context';
import type { TrainConfig } from '../lamm/config';
import type { LabelTokenSetup } from '../lamm/prompts';
import type { Sample } from '../lamm/sampling';
import type { TrainedPrompts, TrainHooks, TrainingData } from '../lamm/trainer';
import type { RunCompute } from '../lamm/run';
import type { FeatureRows, FromHost, GpuHostInfo, GpuHostOp, GpuHostOps, HostEvent, ToHost } from './protocol';

/** A MessagePort as both ends have it (Electron's MessagePortMain, a DOM MessagePort, a test bridge). */
export interface HostPort {
  postMessage(m: ToHost): void;
  onMessage(listener: (m: FromHost) => void): void;
}

interface CallOptions {
  onEvent?(e: HostEvent): void;
  features?(samples: Sample[]): Promise<FeatureRows>;
}

interface Pending extends CallOptions {
  resolve(v: unknown): void;
  reject(e: Error): void;
}

export class GpuHostClient {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private closedReason: string | null = null;

  constructor(private readonly port: HostPort) {
    port.onMessage((m) => this.receive(m));
  }

  call<K extends GpuHostOp>(op: K, params: GpuHostOps[K]['params'], opts: CallOptions = {}): Promise<GpuHostOps[K]['result']> {
    return this.start(op, params, opts).done as Promise<GpuHostOps[K]['result']>;
  }

  private start(op: GpuHostOp, params: unknown, opts: CallOptions): { id: number; done: Promise<unknown> } {
    const id = this.nextId++;
    if (this.closedReason) return { id, done: Promise.reject(new Error(this.closedReason)) };
    const done = new Promise((resolve, reject) => this.pending.set(id, { ...opts, resolve, reject }));
    this.port.postMessage({ id, op, params });
    return { id, done };
  }

  loadModel(files: ModelFiles): Promise<unknown> {
    return this.call('loadModel', { files });
  }

  /** trainPrompts on the page, with the same arguments but the model (loaded with loadModel) and the same result. */
  async train(setup: LabelTokenSetup, config: TrainConfig, data: TrainingData, hooks: TrainHooks = {}): Promise<TrainedPrompts> {
    if (hooks.ctx?.signal.aborted) throw new CancelledError();
    const { id, done } = this.start(
      'train',
      { setup, config, labels: data.labels, tokensPerPass: hooks.tokensPerPass } satisfies GpuHostOps['train']['params'],
      {
        onEvent(e) {
          if (e.kind === 'step') hooks.onStep?.(e.step);
          else if (e.kind === 'epoch') hooks.onEpoch?.(e.epoch);
          else hooks.ctx?.progress(e.progress);
        },
        async features(samples) {
          const t = await data.batchFeatures(samples);
          try {
            return { data: (await t.data()) as Float32Array, rows: t.shape[0], cols: t.shape[1] };
          } finally {
            t.dispose();
          }
        },
      },
    );
    const onAbort = () => void this.call('cancel', { target: id }).catch(() => {});
    hooks.ctx?.signal.addEventListener('abort', onAbort, { once: true });
    try {
      return (await done) as TrainedPrompts;
    } finally {
      hooks.ctx?.signal.removeEventListener('abort', onAbort);
    }
  }

  /** The page went away (crashed, closed): every pending call fails with this one line. */
  close(reason: string): void {
    this.closedReason ??= reason;
    for (const p of this.pending.values()) p.reject(new Error(this.closedReason));
    this.pending.clear();
  }

  get closed(): boolean {
    return this.closedReason !== null;
  }

  private receive(m: FromHost): void {
    const p = this.pending.get(m?.id);
    if (!p) return;
    if ('need' in m) {
      const answer = p.features ? p.features(m.samples) : Promise.reject(new Error('this call takes no features'));
      answer.then(
        (features) => this.port.postMessage({ id: m.ask, op: 'features', features }),
        (err: unknown) => this.port.postMessage({ id: m.ask, op: 'features', error: err instanceof Error ? err.message.split('\n')[0] : String(err) }),
      );
    } else if ('event' in m) {
      p.onEvent?.(m.event);
    } else {
      this.pending.delete(m.id);
      if (m.ok) p.resolve(m.result);
      else p.reject(m.cancelled ? new CancelledError() : new Error(m.error));
    }
  }
}

/** trainRun's hooks.compute on the GPU host page: its model must be loadModel'ed from the run's model folder. */
export function runCompute(client: GpuHostClient, info: GpuHostInfo): RunCompute {
  const a = info.adapter;
  return {
    backend: `${info.backend} in the GPU host window (${[a.vendor, a.architecture].filter(Boolean).join(' ') || a.description || 'unnamed adapter'}, ${a.software ? 'software' : 'hardware'})`,
    embedPixels: (pixels) => client.call('embedPixels', { pixels }),
    trainPrompts: (setup, config, data, hooks) => client.train(setup, config, data, hooks),
  };
}
