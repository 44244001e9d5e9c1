// Training off the calling thread: a worker_threads Worker runs lamm/run.ts's trainRun against
// the project file and streams typed events back; `cancel()` stops it between steps and the
// run is recorded as cancelled. If the worker dies without reporting (a crash, out of memory),
// the run it started is marked failed here, so no run is left "running".
//
//   const job = startTraining({ dbFile, modelDir, config: { shots: 4 } }, (e) => ...);
//   job.cancel();                       // optional
//   const outcome = await job.done;     // TrainOutcome; rejects with the one-line reason
//
// The service's JobRegistry can use `runTrainingJob(request, ctx, onEvent)` instead, which ties
// cancel to the job's AbortSignal and progress to its JobContext.
import { Worker } from 'node:worker_threads';
import { ProjectStore } from '../data/store';
import type { EpochRecord, StepEvent } from '../lamm/trainer';
import type { TrainOutcome, TrainRequest } from '../lamm/run';
import { CancelledError, type JobContext, type Progress } from './context';
import type { FromHost, ToHost } from '../gpu-host/protocol';
import { firstLine } from '../errors';
import { workerEntry } from './workers';

export interface TrainJobRequest extends TrainRequest {
  /** The project's SQLite file (the worker opens its own connection). */
  dbFile: string;
  /** The CLIP model folder. */
  modelDir: string;
  /** Force a TensorFlow.js backend in the worker (else LAMM_BACKEND / the default order). */
  backend?: string;
  /** Set by startTraining when given a GPU relay: the image encoder and the training loop run on the GPU host page. */
  gpuHost?: boolean;
}

/**
 * A port to Electron's GPU host page that the main process lends a worker: Electron's
 * MessagePortMain cannot be moved into a worker thread, so its messages are relayed verbatim.
 */
export interface GpuRelay {
  postMessage(m: ToHost): void;
  /** Returns the unsubscribe. */
  onMessage(listener: (m: FromHost) => void): () => void;
}

/**
 * What the worker reports while it works, in order: its backend, the run it created, then
 * steps, epochs, progress (the trainer's per-step count: the job's one producer of progress)
 * and log lines.
 */
export type TrainJobEvent =
  | { type: 'backend'; backend: string }
  | { type: 'run'; runId: number }
  | { type: 'step'; runId: number; step: StepEvent }
  | { type: 'epoch'; runId: number; record: EpochRecord }
  | { type: 'progress'; progress: Progress }
  | { type: 'log'; message: string };

/** Messages from the worker: the events, then exactly one 'done' or 'failed'. */
export type WorkerMessage =
  | TrainJobEvent
  | { type: 'done'; outcome: TrainOutcome }
  | { type: 'failed'; message: string; cancelled: boolean }
  | { type: 'gpu'; m: ToHost };
/** Messages to the worker. */
export type WorkerCommand = { type: 'cancel' } | { type: 'gpu'; m: FromHost };

export interface TrainingJob {
  /** Resolves when the worker has started the run record. */
  readonly runId: Promise<number>;
  readonly done: Promise<TrainOutcome>;
  cancel(): void;
}

/** How long a cancelled worker may take to stop at a step boundary before it is terminated. */
const CANCEL_GRACE_MS = 30_000;

export function startTraining(request: TrainJobRequest, onEvent: (e: TrainJobEvent) => void = () => {}, relay?: GpuRelay): TrainingJob {
  const entry = workerEntry('train-worker');
  const worker = new Worker(entry.url, { workerData: { ...request, gpuHost: Boolean(relay) }, argv: entry.argv });
  const unrelay = relay?.onMessage((m) => worker.postMessage({ type: 'gpu', m } satisfies WorkerCommand));
  let runId: number | null = null;
  let settled = false;
  let resolveRunId!: (id: number) => void;
  let rejectRunId!: (err: Error) => void;
  const runIdPromise = new Promise<number>((resolve, reject) => {
    resolveRunId = resolve;
    rejectRunId = reject;
  });
  runIdPromise.catch(() => {});
  let killTimer: NodeJS.Timeout | null = null;
  let cancelled = false;

  const done = new Promise<TrainOutcome>((resolve, reject) => {
    const finish = (err: Error | null, outcome?: TrainOutcome) => {
      if (settled) return;
      settled = true;
      if (killTimer) clearTimeout(killTimer);
      unrelay?.();
      if (err) {
        rejectRunId(err);
        reject(err);
      } else {
        resolve(outcome!);
      }
      void worker.terminate();
    };
    worker.on('message', (m: WorkerMessage) => {
      switch (m.type) {
        case 'run':
          runId = m.runId;
          resolveRunId(m.runId);
          onEvent(m);
          break;
        case 'done':
          finish(null, m.outcome);
          break;
        case 'failed':
          finish(m.cancelled ? new CancelledError() : new Error(m.message));
          break;
        case 'gpu':
          relay?.postMessage(m.m);
          break;
        default:
          onEvent(m);
      }
    });
    worker.on('error', (err) => {
      markAbandonedRun(request.dbFile, runId, err, cancelled);
      finish(cancelled ? new CancelledError() : new Error(`training worker crashed: ${firstLine(err)}`));
    });
    worker.on('exit', (code) => {
      if (settled) return;
      const err = new Error(`training worker exited (code ${code}) without a result`);
      markAbandonedRun(request.dbFile, runId, err, cancelled);
      finish(cancelled ? new CancelledError() : err);
    });
  });
  done.catch(() => {});

  return {
    runId: runIdPromise,
    done,
    cancel() {
      if (settled || cancelled) return;
      cancelled = true;
      worker.postMessage({ type: 'cancel' } satisfies WorkerCommand);
      killTimer = setTimeout(() => void worker.terminate(), CANCEL_GRACE_MS);
    },
  };
}

/** startTraining driven by a JobContext: its signal cancels, its progress receives the worker's. */
export async function runTrainingJob(
  request: TrainJobRequest,
  ctx: JobContext,
  onEvent: (e: TrainJobEvent) => void = () => {},
  relay?: GpuRelay,
): Promise<TrainOutcome> {
  if (ctx.signal.aborted) throw new CancelledError();
  const job = startTraining(
    request,
    (e) => {
      if (e.type === 'progress') ctx.progress(e.progress);
      onEvent(e);
    },
    relay,
  );
  const onAbort = () => job.cancel();
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  try {
    return await job.done;
  } finally {
    ctx.signal.removeEventListener('abort', onAbort);
  }
}

/** A worker that died mid-run could not record its end: do it from here. */
function markAbandonedRun(dbFile: string, runId: number | null, err: Error, cancelled: boolean): void {
  if (runId === null) return;
  let store: ProjectStore | null = null;
  try {
    store = ProjectStore.open(dbFile);
    if (store.getRun(runId).status === 'running') store.failRun(runId, err, { cancelled });
  } catch {
    // The project file itself is unreachable; the job's rejection carries the reason.
  } finally {
    store?.close();
  }
}
