// Where each worker thread's script is. From source (tsx, vitest, the CLI) a worker starts at
// worker.boot.mjs, which registers tsx inside the thread (Node 20 does not carry loader hooks
// into workers) and then loads the TypeScript entry named in its argv; a bundled build
// (electron-vite: see electron.vite.config.ts) calls `setBundledWorkerDir` once with the folder
// that holds `<name>.js`.
/** The worker entries, each a file `jobs/<name>.ts` (and `<name>.js` when bundled). */
export type WorkerName = 'train-worker' | 'compute-worker';

export interface WorkerEntry {
  url: URL;
  /** Appended to the worker's process.argv. */
  argv: string[];
}

let bundledDir: URL | null = null;

export function setBundledWorkerDir(dir: URL | null): void {
  bundledDir = dir;
}

export function workerEntry(name: WorkerName): WorkerEntry {
  if (bundledDir) return { url: new URL(`${name}.js`, bundledDir), argv: [] };
  return { url: new URL('./worker.boot.mjs', import.meta.url), argv: [new URL(`./${name}.ts`, import.meta.url).href] };
}
