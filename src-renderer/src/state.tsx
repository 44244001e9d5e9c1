// App-wide state: the connection, the status (backend, open project), every job the engine
// reports (progress, logs, outcome), and the current page. Pages read it through hooks.
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import type { AppStatus, EventName, JobInfo, JobKind, JobRef, JobResults, LammApi, LammEvents, LogLine } from '../../src-main/api/contract';
import type { Connection, ConnectionState } from './api';
import { PAGES, type PageId } from './pages';

export interface JobView extends JobInfo {
  logs: LogLine[];
  result?: unknown;
  error?: string;
}

interface AppContextValue {
  api: LammApi;
  thumbUrl(imageId: number): string;
  connection: ConnectionState;
  status: AppStatus | null;
  refreshStatus(): Promise<void>;
  jobs: Record<string, JobView>;
  page: PageId;
  navigate(page: PageId): void;
}

const AppContext = createContext<AppContextValue | null>(null);

/** Log lines kept per job in the UI (the engine's run log keeps everything). */
const MAX_LOG_LINES = 300;

function pageFromHash(): PageId {
  const id = location.hash.replace(/^#\/?/, '') as PageId;
  return PAGES.some((p) => p.id === id) ? id : 'projects';
}

export function AppProvider({ connection, children }: { connection: Connection; children: ReactNode }) {
  const { api } = connection;
  const [state, setState] = useState<ConnectionState>('connecting');
  const [status, setStatus] = useState<AppStatus | null>(null);
  const [jobs, setJobs] = useState<Record<string, JobView>>({});
  const [page, setPage] = useState<PageId>(pageFromHash);

  const refreshStatus = useCallback(async () => {
    const s = await api.getStatus();
    setStatus(s);
    setJobs((prev) => {
      const next = { ...prev };
      for (const j of s.jobs) next[j.id] = { ...prev[j.id], ...j, logs: prev[j.id]?.logs ?? [] };
      return next;
    });
  }, [api]);

  useEffect(() => connection.onState(setState), [connection]);
  useEffect(() => {
    if (state === 'open') void refreshStatus().catch(() => {});
  }, [state, refreshStatus]);

  useEffect(() => {
    const patch = (id: string, f: (j: JobView) => Partial<JobView>) =>
      setJobs((prev) => (prev[id] ? { ...prev, [id]: { ...prev[id], ...f(prev[id]) } } : prev));
    const offs = [
      api.on('job:started', (j) => setJobs((prev) => ({ ...prev, [j.id]: { ...j, logs: [] } }))),
      api.on('job:progress', ({ jobId, progress }) => patch(jobId, () => ({ progress }))),
      api.on('job:log', (line) => patch(line.jobId, (j) => ({ logs: [...j.logs, line].slice(-MAX_LOG_LINES) }))),
      api.on('job:done', ({ jobId, result }) => patch(jobId, () => ({ status: 'done', result }))),
      api.on('job:failed', ({ jobId, message, cancelled }) => patch(jobId, () => ({ status: cancelled ? 'cancelled' : 'failed', error: message }))),
      api.on('project:changed', ({ project }) => setStatus((s) => (s ? { ...s, project } : s))),
      api.on('status:backend', ({ backend }) => setStatus((s) => (s ? { ...s, backend } : s))),
    ];
    return () => offs.forEach((off) => off());
  }, [api]);

  useEffect(() => {
    const onHash = () => setPage(pageFromHash());
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);

  const navigate = useCallback((p: PageId) => {
    location.hash = `/${p}`;
    setPage(p);
  }, []);

  const value = useMemo<AppContextValue>(
    () => ({ api, thumbUrl: connection.thumbUrl, connection: state, status, refreshStatus, jobs, page, navigate }),
    [api, connection, state, status, refreshStatus, jobs, page, navigate],
  );
  return <AppContext.Provider value={value}>{children}</AppContext.Provider>;
}

export function useApp(): AppContextValue {
  const ctx = useContext(AppContext);
  if (!ctx) throw new Error('useApp outside AppProvider');
  return ctx;
}

export function useEvent<E extends EventName>(event: E, handler: (payload: LammEvents[E]) => void): void {
  const { api } = useApp();
  const ref = useRef(handler);
  ref.current = handler;
  useEffect(() => api.on(event, (p) => ref.current(p)), [api, event]);
}

type ChangeKind = LammEvents['project:changed']['what'];

export interface Query<T> {
  data: T | undefined;
  error: string | null;
  loading: boolean;
  reload(): void;
}

/**
 * Fetches through the contract and refetches when the project changes in a way listed in
 * `refetchOn` (every change of the open project refetches too).
 */
export function useQuery<T>(fetcher: (api: LammApi) => Promise<T>, deps: unknown[], refetchOn: ChangeKind[] = []): Query<T> {
  const { api, connection } = useApp();
  const [data, setData] = useState<T>();
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  const kinds = refetchOn.join(',');

  // biome-ignore lint/correctness/useExhaustiveDependencies: the caller lists what the fetcher reads in `deps`
  useEffect(() => {
    if (connection !== 'open') return;
    let live = true;
    setLoading(true);
    fetcher(api).then(
      (d) => {
        if (!live) return;
        setData(d);
        setError(null);
        setLoading(false);
      },
      (e: Error) => {
        if (!live) return;
        setError(e.message);
        setLoading(false);
      },
    );
    return () => {
      live = false;
    };
  }, [api, connection, tick, ...deps]);

  useEvent('project:changed', ({ what }) => {
    if (what === 'project' || kinds.split(',').includes(what)) reload();
  });
  return { data, error, loading, reload };
}

export interface Action {
  /** Runs `work`: `busy` while it runs, its failure's message in `error` (cleared when it starts); undefined when it failed. */
  run<T>(work: () => Promise<T>): Promise<T | undefined>;
  busy: boolean;
  error: string | null;
}

/** A page's user action through the contract: one place for busy state and the one-line error it shows. */
export function useAction(): Action {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = useCallback(async <T,>(work: () => Promise<T>): Promise<T | undefined> => {
    setError(null);
    setBusy(true);
    try {
      return await work();
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
      return undefined;
    } finally {
      setBusy(false);
    }
  }, []);
  return { run, busy, error };
}

export interface JobHandle<K extends JobKind> {
  job: JobView | null;
  running: boolean;
  result: JobResults[K] | undefined;
  /** The start call's own failure (bad input), before any job existed. */
  startError: string | null;
  start(call: () => Promise<JobRef>): Promise<void>;
  cancel(): void;
}

/** Starts one kind of job from a page and follows it through the app-wide job list. */
export function useJob<K extends JobKind>(kind: K): JobHandle<K> {
  const { api, jobs } = useApp();
  const [jobId, setJobId] = useState<string | null>(null);
  const starting = useAction();
  // A page opened while such a job runs (started elsewhere or before a reload) follows it.
  const adopted = Object.values(jobs).find((j) => j.kind === kind && j.status === 'running');
  const job = (jobId ? jobs[jobId] : adopted) ?? null;
  const { run } = starting;
  const start = useCallback(
    async (call: () => Promise<JobRef>) => {
      const ref = await run(call);
      if (ref) setJobId(ref.jobId);
    },
    [run],
  );
  const cancel = useCallback(() => {
    if (job) void api.cancelJob({ jobId: job.id });
  }, [api, job]);
  return {
    job,
    running: job?.status === 'running',
    result: job?.status === 'done' ? (job.result as JobResults[K]) : undefined,
    startError: starting.error,
    start,
    cancel,
  };
}
