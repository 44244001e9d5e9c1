// The CPU-heavy, pure steps of curation jobs, run on a worker thread so that the thread that
// answers the UI (`lamm serve`'s WebSocket, Electron's IPC) keeps answering, and a cancel is
// heard: on the service's thread, UMAP's neighbour search and the label-issue probes blocked it
// for 0.6 s on the 448-image demo, and they grow with the dataset (bench/service-stall.ts). Each task is one entry of COMPUTE_TASKS: its inputs
// and output are plain data (typed arrays move between threads), its progress and cancel go
// through the JobContext the worker builds from the caller's.
//
//   const coords = await runOffThread('umap', { x, n, p, params }, ctx);
import { Worker } from 'node:worker_threads';
import type { ProbeOptions } from '../data/probe';
import type { UmapParams } from '../data/projection';
import { firstLine } from '../errors';
import { CancelledError, throwIfCancelled, type JobContext, type Progress } from './context';
import { workerEntry } from './workers';

/** How long a cancelled task may run on before its worker is terminated. */
const CANCEL_GRACE_MS = 2_000;

// Each task imports what it runs when it runs, so a worker loads only its own task's modules
// (UMAP's worker does not load TensorFlow.js).
export const COMPUTE_TASKS = {
  /** Out-of-sample class probabilities of k-fold softmax probes (label issues); TensorFlow.js. */
  probe: async (a: { x: Float32Array; labels: Int32Array; width: number; classes: number; opts: ProbeOptions }, ctx: JobContext) => {
    await (await import('../backend')).initBackend();
    const { crossValidatedProbabilities } = await import('../data/probe');
    return crossValidatedProbabilities(a.x, a.labels, a.width, a.classes, a.opts, (done, total) => {
      ctx.progress({ stage: 'label-issues', done, total, message: `fold ${done} of ${total}` });
      throwIfCancelled(ctx);
    });
  },
  umap: async (a: { x: Float32Array; n: number; p: number; params: UmapParams }, ctx: JobContext) =>
    (await import('../data/projection')).umapProject(a.x, a.n, a.p, a.params, ctx),
  pca: async (a: { x: Float32Array; n: number; p: number; seed: number }) => (await import('../data/projection')).pcaProject(a.x, a.n, a.p, a.seed),
} as const;

export type ComputeTask = keyof typeof COMPUTE_TASKS;
export type ComputeArgs<T extends ComputeTask> = Parameters<(typeof COMPUTE_TASKS)[T]>[0];
export type ComputeResult<T extends ComputeTask> = Awaited<ReturnType<(typeof COMPUTE_TASKS)[T]>>;

/** What the compute worker is given: the task and its arguments. */
export interface ComputeRequest {
  task: ComputeTask;
  args: unknown;
}
/** Messages from the compute worker: progress, then exactly one 'done' or 'failed'. */
export type ComputeMessage =
  | { type: 'progress'; progress: Progress }
  | { type: 'done'; result: unknown }
  | { type: 'failed'; message: string; cancelled: boolean };

let inThread = false;

/** Makes runOffThread run tasks on the calling thread: bench/service-stall.ts's baseline. */
export function runComputeInThread(on: boolean): void {
  inThread = on;
}

/** Runs a task on this thread (the compute worker's). */
export async function runInWorkerThread<T extends ComputeTask>(task: T, args: ComputeArgs<T>, ctx: JobContext): Promise<ComputeResult<T>> {
  return (await COMPUTE_TASKS[task](args as never, ctx)) as ComputeResult<T>;
}

/**
 * Runs `task` on a new worker thread and resolves with its result. The context's progress gets
 * the worker's, its cancel stops the worker (at its next check, else it is terminated); a
 * worker that dies rejects with one line. `transfer`: buffers of `args` the caller gives away
 * (no copy), e.g. features it does not need afterwards.
 */
export function runOffThread<T extends ComputeTask>(task: T, args: ComputeArgs<T>, ctx: JobContext, transfer: ArrayBuffer[] = []): Promise<ComputeResult<T>> {
  if (ctx.signal.aborted) return Promise.reject(new CancelledError());
  if (inThread) return runInWorkerThread(task, args, ctx);
  const entry = workerEntry('compute-worker');
  const worker = new Worker(entry.url, { workerData: { task, args } satisfies ComputeRequest, argv: entry.argv, transferList: transfer });
  return new Promise<ComputeResult<T>>((resolve, reject) => {
    let settled = false;
    const finish = (err: Error | null, result?: unknown) => {
      if (settled) return;
      settled = true;
      ctx.signal.removeEventListener('abort', onAbort);
      clearTimeout(killTimer);
      void worker.terminate();
      if (err) reject(err);
      else resolve(result as ComputeResult<T>);
    };
    let killTimer: NodeJS.Timeout | undefined;
    const onAbort = () => {
      worker.postMessage({ type: 'cancel' });
      // A task that does not check in time (one long synchronous step) is stopped anyway.
      killTimer = setTimeout(() => finish(new CancelledError()), CANCEL_GRACE_MS);
    };
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    worker.on('message', (m: ComputeMessage) => {
      if (m.type === 'progress') ctx.progress(m.progress);
      else if (m.type === 'done') finish(null, m.result);
      else finish(m.cancelled ? new CancelledError() : new Error(m.message));
    });
    worker.on('error', (err) => finish(ctx.signal.aborted ? new CancelledError() : new Error(`${task} worker crashed: ${firstLine(err)}`)));
    worker.on('exit', (code) => finish(ctx.signal.aborted ? new CancelledError() : new Error(`${task} worker exited (code ${code}) without a result`)));
  });
}
