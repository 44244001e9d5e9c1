// The one way long engine work reports progress and learns it was cancelled. Engine functions
// take a JobContext; the service (api/job-registry.ts), the training worker (jobs/train-worker.ts) and the CLI supply one.

export interface Progress {
  /** Short machine-readable stage name, e.g. 'import', 'thumbnails', 'features', 'train'. */
  stage: string;
  done: number;
  total: number;
  message?: string;
}

export interface JobContext {
  readonly signal: AbortSignal;
  progress(p: Progress): void;
}

export class CancelledError extends Error {
  constructor(message = 'cancelled') {
    super(message);
    this.name = 'CancelledError';
  }
}

/** Throws CancelledError when the job was cancelled; call it between units of work. */
export function throwIfCancelled(ctx: JobContext | undefined): void {
  if (ctx?.signal.aborted) throw new CancelledError();
}

/** A context that never cancels and reports nowhere (library calls, tests). */
export function silentContext(): JobContext {
  return { signal: new AbortController().signal, progress: () => {} };
}

/** A context that writes throttled one-line progress to stderr (the CLI's). */
export function stderrContext(signal: AbortSignal = new AbortController().signal): JobContext {
  let last = 0;
  return {
    signal,
    progress(p) {
      const now = Date.now();
      if (now - last < 500 && p.done < p.total) return;
      last = now;
      process.stderr.write(`[${p.stage}] ${p.done}/${p.total}${p.message ? ` ${p.message}` : ''}\n`);
    },
  };
}
