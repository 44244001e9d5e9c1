// bench/service-stall: how long the service's thread (the one that answers the UI: `lamm serve`'s
// WebSocket, Electron's IPC) stops answering while a curation job runs. Opens the demo in a
// LammService, encodes its features, then runs each job (label issues, the UMAP map) twice while a
// 5 ms timer records how late it fires: first with its heavy step on the service's own thread
// (the baseline, as before jobs/compute.ts), then as shipped, off it. Prints per job and way
// its time, the longest and 99th percentile stall, the longest stall as a share of the job's
// time (1 = the thread never answered), and the ratio of the two longest stalls.
//
// Usage: npx tsx bench/service-stall.ts [--state DIR]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LammService } from '../src-main/api/service';
import type { JobRef } from '../src-main/api/contract';
import { initBackend } from '../src-main/backend';
import { loadClip } from '../src-main/clip/model';
import { buildEmbeddingMap } from '../src-main/data/embedding-map';
import { ProjectStore } from '../src-main/data/store';
import { DEMO_MODEL_DIR } from '../src-main/demo/dataset';
import { runComputeInThread } from '../src-main/jobs/compute';
import { silentContext } from '../src-main/jobs/context';

function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}

const TICK_MS = 5;
const stateDir = option('state') ?? fs.mkdtempSync(path.join(os.tmpdir(), 'lamm-stall-'));
const service = new LammService({ host: 'server', stateDir, version: 'bench' });

/** Resolves when the job (or plain promise) ends, with the late-timer gaps (ms) seen while it ran. */
async function measure(start: () => JobRef | Promise<unknown>): Promise<{ seconds: number; gaps: number[] }> {
  const gaps: number[] = [];
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    gaps.push(now - last - TICK_MS);
    last = now;
  }, TICK_MS);
  const t0 = performance.now();
  const started = start();
  const jobId = started instanceof Promise ? await started.then(() => null) : started.jobId;
  for (; jobId !== null; ) {
    const job = service.listJobs().find((j) => j.id === jobId);
    if (job?.status === 'failed') throw new Error(`job ${jobId} failed`);
    if (job?.status === 'done' || job?.status === 'cancelled') break;
    await new Promise((r) => setTimeout(r, 20));
  }
  clearInterval(timer);
  return { seconds: (performance.now() - t0) / 1000, gaps };
}

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;

await measure(() => service.openDemo());
await measure(() => service.findDuplicates({})); // encodes and caches the features the jobs below read
// The map as the service's job builds it, but with a new UMAP seed each time: the same seed would come from the map cache.
await initBackend();
const store = ProjectStore.open(path.join(stateDir, 'demo', 'demo.lamm.sqlite'));
const model = await loadClip(DEMO_MODEL_DIR);
const datasetId = store.listDatasets()[0].id;
let seed = 100;
const jobs: [string, () => JobRef | Promise<unknown>][] = [
  ['label issues', () => service.findMislabels()],
  ['embedding map (UMAP)', () => buildEmbeddingMap(store, model, datasetId, { projection: 'umap', umap: { seed: seed++ } }, silentContext())],
];
for (const [label, start] of jobs) {
  const longest: number[] = [];
  for (const inThread of [true, false]) {
    runComputeInThread(inThread);
    const { seconds, gaps } = await measure(start);
    const sorted = [...gaps].sort((a, b) => a - b);
    longest.push(sorted.at(-1) ?? 0);
    console.log(
      `${label.padEnd(36)} ${(inThread ? 'on the service thread' : 'off it').padEnd(22)} ${seconds.toFixed(2)} s; longest stall ${longest.at(-1)!.toFixed(0)} ms, ` +
        `p99 ${quantile(sorted, 0.99).toFixed(0)} ms; longest stall / job time ${(longest.at(-1)! / 1000 / seconds).toFixed(2)}`,
    );
  }
  console.log(`${label.padEnd(36)} longest stall, off / on the service thread: ${(longest[1] / longest[0]).toFixed(3)}`);
}
store.close();
model.dispose();
await service.close();
if (!option('state')) fs.rmSync(stateDir, { recursive: true, force: true });
