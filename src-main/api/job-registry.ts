// Long work as jobs with ids: `start` returns at once, the work streams progress/log events,
// ends in exactly one job:done or job:failed, and `cancel` aborts it through its AbortSignal.
// Where the work runs (this thread, or a worker for training) is the work function's business.
import type { JobInfo, JobKind, JobProgress, JobRef, JobResults, LogLine } from './contract';
import { CancelledError, type JobContext } from '../jobs/context';
import { errorMessage, type EventHub } from './rpc';

/** What a job's work receives: the engine's JobContext plus a log line sink. */
export interface ServiceJobContext extends JobContext {
  readonly jobId: string;
  log(message: string, level?: LogLine['level']): void;
}

/** Progress events are at most this often per job (the final one always goes). */
const PROGRESS_INTERVAL_MS = 100;
/** Finished jobs stay listed this long so a page opened late still sees the outcome. */
const KEEP_FINISHED = 20;

interface Entry {
  info: JobInfo;
  controller: AbortController;
  done: Promise<unknown>;
}

export class JobRegistry {
  private readonly jobs = new Map<string, Entry>();
  private nextId = 1;

  constructor(private readonly hub: EventHub) {}

  start<K extends JobKind>(kind: K, title: string, work: (ctx: ServiceJobContext) => Promise<JobResults[K]>): JobRef {
    const id = `${kind}-${this.nextId++}`;
    const controller = new AbortController();
    const info: JobInfo = { id, kind, title, startedAt: new Date().toISOString(), status: 'running', progress: null };
    let lastSent = 0;
    const ctx: ServiceJobContext = {
      jobId: id,
      signal: controller.signal,
      progress: (p: JobProgress) => {
        info.progress = { ...p };
        const now = Date.now();
        if (now - lastSent < PROGRESS_INTERVAL_MS && p.done < p.total) return;
        lastSent = now;
        this.hub.emit('job:progress', { jobId: id, progress: info.progress });
      },
      log: (message, level = 'info') => this.hub.emit('job:log', { jobId: id, level, message, time: new Date().toISOString() }),
    };
    const done = (async () => {
      // Let the caller receive the job id before the first event arrives.
      await Promise.resolve();
      try {
        const result = await work(ctx);
        if (controller.signal.aborted) throw new CancelledError();
        info.status = 'done';
        this.hub.emit('job:done', { jobId: id, kind, result } as never);
        return result;
      } catch (err) {
        const cancelled = controller.signal.aborted || err instanceof CancelledError;
        info.status = cancelled ? 'cancelled' : 'failed';
        const message = cancelled ? 'cancelled' : errorMessage(err);
        this.hub.emit('job:failed', { jobId: id, kind, message, cancelled });
        throw cancelled ? new CancelledError() : new Error(message);
      } finally {
        this.prune();
      }
    })();
    done.catch(() => {}); // outcome reported through events; `wait` rethrows for callers that await
    this.jobs.set(id, { info, controller, done });
    this.hub.emit('job:started', { ...info });
    return { jobId: id };
  }

  cancel(jobId: string): boolean {
    const entry = this.jobs.get(jobId);
    if (entry?.info.status !== 'running') return false;
    entry.controller.abort();
    return true;
  }

  list(): JobInfo[] {
    return [...this.jobs.values()].map((e) => ({ ...e.info }));
  }

  running(): JobInfo[] {
    return this.list().filter((j) => j.status === 'running');
  }

  /** Resolves with the job's result or rejects with its one-line error (tests, the CLI adapter). */
  async wait<K extends JobKind>(jobId: string): Promise<JobResults[K]> {
    const entry = this.jobs.get(jobId);
    if (!entry) throw new Error(`no job "${jobId}"`);
    return (await entry.done) as JobResults[K];
  }

  /** Cancels everything still running (shutdown). */
  cancelAll(): void {
    for (const e of this.jobs.values()) if (e.info.status === 'running') e.controller.abort();
  }

  private prune(): void {
    const finished = [...this.jobs.entries()].filter(([, e]) => e.info.status !== 'running');
    for (const [id] of finished.slice(0, Math.max(0, finished.length - KEEP_FINISHED))) this.jobs.delete(id);
  }
}
