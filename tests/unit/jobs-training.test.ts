// Training in a worker thread: typed events, the outcome, cancel (run recorded as cancelled),
// and failure isolation (a failed run is marked failed with its reason; nothing else changes).
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProjectStore } from '../../src-main/data/store';
import { CancelledError, type JobContext } from '../../src-main/jobs/context';
import { runTrainingJob, startTraining, type TrainJobEvent } from '../../src-main/jobs/training';
import { LOSS_TERMS } from '../../src-main/lamm/loss-terms';
import { makeProject, makeTinyModel, tableCounts, tempDir } from './lamm-fixture';

const QUICK = { shots: 2, epochs: 2, views: 2, batchSize: 4 };

describe('training worker', () => {
  let dir: string;
  let dbFile: string;
  let modelDir: string;

  beforeAll(async () => {
    dir = tempDir('jobs');
    const project = await makeProject(dir, 4);
    project.store.close();
    ({ dbFile } = project);
    modelDir = makeTinyModel(dir);
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('streams run, step, epoch and progress events, then the outcome', async () => {
    const events: TrainJobEvent[] = [];
    const job = startTraining({ dbFile, modelDir, config: QUICK }, (e) => events.push(e));
    const outcome = await job.done;
    expect(await job.runId).toBe(outcome.runId);
    const types = new Set(events.map((e) => e.type));
    for (const t of ['backend', 'run', 'step', 'epoch', 'progress', 'log']) expect(types.has(t as TrainJobEvent['type'])).toBe(true);
    // The backend is a field of its own message, sent first.
    expect(events[0].type === 'backend' && events[0].backend).toBe(outcome.backend);
    // Training progress has one producer (the trainer, per step) on one scale, counting up to its total.
    const train = events.flatMap((e) => (e.type === 'progress' && e.progress.stage === 'train' ? [e.progress] : []));
    const steps = events.filter((e) => e.type === 'step').length;
    expect(train.map((p) => p.done)).toEqual(Array.from({ length: steps }, (_, i) => i + 1));
    expect(new Set(train.map((p) => p.total))).toEqual(new Set([steps]));
    const step = events.find((e) => e.type === 'step');
    expect(step?.type === 'step' && Object.keys(step.step.terms)).toEqual(LOSS_TERMS.map((t) => t.name));
    expect(step?.type === 'step' && Number.isFinite(step.step.loss)).toBe(true);
    const store = ProjectStore.open(dbFile);
    expect(store.getRun(outcome.runId).status).toBe('done');
    store.close();
  });

  it('cancels between steps and records the run as cancelled', async () => {
    const ctrl = new AbortController();
    const ctx: JobContext = { signal: ctrl.signal, progress: () => {} };
    let runId = -1;
    const done = runTrainingJob({ dbFile, modelDir, config: { ...QUICK, epochs: 10_000 } }, ctx, (e) => {
      if (e.type === 'run') runId = e.runId;
      if (e.type === 'epoch' && e.record.epoch === 1) ctrl.abort();
    });
    await expect(done).rejects.toBeInstanceOf(CancelledError);
    const store = ProjectStore.open(dbFile);
    const run = store.getRun(runId);
    expect(run.status).toBe('cancelled');
    expect(store.getRunLog(runId).length).toBeGreaterThanOrEqual(2);
    expect(store.getLabelEmbeddings(runId)).toHaveLength(0);
    store.close();
  });

  it('marks a failing run failed with its reason and changes nothing else', async () => {
    // A fresh project whose images vanish after import (nothing cached yet): the run starts,
    // then cannot read a single test image.
    const fresh = await makeProject(path.join(dir, 'fresh'), 4);
    const before = tableCounts(fresh.store);
    fresh.store.close();
    fs.renameSync(fresh.dataDir, `${fresh.dataDir}-away`);
    let runId = -1;
    const job = startTraining({ dbFile: fresh.dbFile, modelDir, config: QUICK }, (e) => {
      if (e.type === 'run') runId = e.runId;
    });
    await expect(job.done).rejects.toThrow(/no readable test images/);
    const after = ProjectStore.open(fresh.dbFile);
    const run = after.getRun(runId);
    expect(run.status).toBe('failed');
    expect(run.error).toMatch(/no readable test images/);
    const counts = tableCounts(after);
    // The failed run itself (with its classes) and the model record it points at; nothing else.
    expect(counts).toEqual({ ...before, runs: before.runs + 1, run_classes: before.run_classes + 4, models: before.models + 1 });
    after.close();
  });

  it('rejects bad input before any run exists', async () => {
    const job = startTraining({ dbFile, modelDir: path.join(dir, 'no-such-model'), config: QUICK });
    await expect(job.done).rejects.toThrow(/model folder not found/);
    await expect(job.runId).rejects.toThrow();
    const tooMany = startTraining({ dbFile, modelDir, config: { ...QUICK, shots: 99 } });
    await expect(tooMany.done).rejects.toThrow(/fewer than the 99 shots/);
  });
});
