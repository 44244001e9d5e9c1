// Curation's heavy steps on a worker thread (jobs/compute.ts): each task gives off the thread
// exactly what it gives on it, reports progress through the caller's context, stops on cancel,
// and a failure inside the worker comes back as its one-line reason.
import { describe, expect, it } from 'vitest';
import { initBackend } from '../../src-main/backend';
import { mulberry32, normalSampler } from '../../src-main/clip/random';
import { unitClusters } from './lamm-fixture';
import { runInWorkerThread, runOffThread } from '../../src-main/jobs/compute';
import { CancelledError, silentContext, type JobContext } from '../../src-main/jobs/context';

function clusters(C = 3, n = 30, P = 12) {
  return { ...unitClusters(normalSampler(mulberry32(5)), C, n, P, 0.3), N: C * n, P, C };
}

const s = clusters();
const umapArgs = () => ({ x: s.x.slice(), n: s.N, p: s.P, params: { nNeighbors: 10, minDist: 0.1, nEpochs: 60, seed: 3 } });

describe('compute tasks off the calling thread', () => {
  it('UMAP and PCA give off the thread what they give on it', async () => {
    const stages: string[] = [];
    const ctx: JobContext = { signal: new AbortController().signal, progress: (p) => stages.push(p.stage) };
    const off = await runOffThread('umap', umapArgs(), ctx);
    expect(off).toBeInstanceOf(Float32Array);
    expect(off.length).toBe(s.N * 2);
    expect(off).toEqual(await runInWorkerThread('umap', umapArgs(), silentContext()));
    expect(stages).toContain('neighbours');
    expect(stages).toContain('umap');
    const pca = { x: s.x.slice(), n: s.N, p: s.P, seed: 1 };
    expect(await runOffThread('pca', pca, silentContext())).toEqual(await runInWorkerThread('pca', pca, silentContext()));
  });

  it('the label-issue probes give off the thread what they give on it, and the caller gives its features away', async () => {
    await initBackend();
    const args = () => ({ x: s.x.slice(), labels: s.labels, width: s.P, classes: s.C, opts: { folds: 3, steps: 20 } });
    const given = args();
    const folds: number[] = [];
    const ctx: JobContext = { signal: new AbortController().signal, progress: (p) => folds.push(p.done) };
    const off = await runOffThread('probe', given, ctx, [given.x.buffer as ArrayBuffer]);
    expect(given.x.length).toBe(0); // transferred, not copied
    expect(off.length).toBe(s.N * s.C);
    expect(off).toEqual(await runInWorkerThread('probe', args(), silentContext()));
    expect(folds).toEqual([1, 2, 3]);
  });

  it('stops when the job is cancelled', async () => {
    const controller = new AbortController();
    const ctx: JobContext = {
      signal: controller.signal,
      progress: (p) => {
        if (p.stage === 'umap' && p.done >= 5) controller.abort();
      },
    };
    const args = { ...umapArgs(), params: { nNeighbors: 10, minDist: 0.1, nEpochs: 5000, seed: 3 } };
    await expect(runOffThread('umap', args, ctx)).rejects.toBeInstanceOf(CancelledError);
    // Already cancelled: no worker starts.
    await expect(runOffThread('umap', umapArgs(), ctx)).rejects.toBeInstanceOf(CancelledError);
  });

  it("brings back the worker's failure as its one line", async () => {
    await expect(runOffThread('umap', { ...umapArgs(), n: 3 }, silentContext())).rejects.toThrow(/^UMAP needs at least 4 images with features, got 3$/);
  });
});
