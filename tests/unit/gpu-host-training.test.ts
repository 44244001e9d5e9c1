// A training job routed as Electron routes it when it has a GPU: the worker keeps the project
// store and decodes the images, the image encoder and the training loop run on the GPU host page
// (headless Chromium's WebGPU standing in for Electron's hidden window) over a relayed port. Same
// run as the worker's own backend gives. Skipped with a message without Chromium or an adapter.
import fs from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProjectStore } from '../../src-main/data/store';
import { startTraining, type TrainJobEvent } from '../../src-main/jobs/training';
import { CHROMIUM, openGpuHostPage, type GpuHostPage } from '../helpers/gpu-host-page';
import { makeProject, makeTinyModel, tempDir } from './lamm-fixture';

const QUICK = { shots: 2, epochs: 2, views: 2, batchSize: 4 };
const HAS_CHROMIUM = fs.existsSync(CHROMIUM);
if (!HAS_CHROMIUM) console.warn(`[gpu-host] skipped: no Chromium at ${CHROMIUM}`);

describe.skipIf(!HAS_CHROMIUM)('training job on the GPU host page', () => {
  let host: GpuHostPage;
  let dir: string;
  let modelDir: string;
  const projects: string[] = [];

  beforeAll(async () => {
    await tf.setBackend('cpu');
    dir = tempDir('gpu-job');
    for (const name of ['gpu', 'worker']) {
      const p = await makeProject(`${dir}/${name}`, 4);
      p.store.close();
      projects.push(p.dbFile);
    }
    modelDir = makeTinyModel(dir);
    host = await openGpuHostPage();
    if (host.noAdapter) console.warn(`[gpu-host] skipped: ${host.noAdapter}`);
  });
  afterAll(async () => {
    await host?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("trains with features and steps on the page, the store in the worker, and matches the worker's own backend", async (ctx) => {
    if (host.noAdapter) ctx.skip();
    const run = async (dbFile: string, relayed: boolean) => {
      const events: TrainJobEvent[] = [];
      const job = startTraining({ dbFile, modelDir, config: QUICK, backend: 'cpu' }, (e) => events.push(e), relayed ? await host.openRelay() : undefined);
      const outcome = await job.done;
      const losses = events.flatMap((e) => (e.type === 'epoch' ? [e.record.loss] : []));
      const store = ProjectStore.open(dbFile);
      const features = store.db.prepare('SELECT count(*) AS n FROM features').get() as { n: number };
      const status = store.getRun(outcome.runId).status;
      store.close();
      return { outcome, losses, features: features.n, status, backend: events.find((e) => e.type === 'backend') };
    };
    const gpu = await run(projects[0], true);
    const own = await run(projects[1], false);
    expect(gpu.status).toBe('done');
    expect(gpu.outcome.backend).toMatch(/^webgpu in the GPU host window \(.+, (software|hardware)\)$/);
    expect(gpu.backend?.type === 'backend' && gpu.backend.backend).toBe(gpu.outcome.backend);
    expect(gpu.features).toBe(own.features);
    expect(gpu.losses.length).toBe(own.losses.length);
    gpu.losses.forEach((l, i) =>
      expect(Math.abs(l - own.losses[i]), `epoch ${i}: ${l} vs ${own.losses[i]}`).toBeLessThanOrEqual(1e-4 * Math.abs(own.losses[i])),
    );
    expect(gpu.outcome.trained.accuracy).toBe(own.outcome.trained.accuracy);
  });
});
