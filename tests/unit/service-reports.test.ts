// The service only maps the engine's reports onto the contract: neighbours and the comparison
// through LammService equal the engine's own functions on the tiny fixture, with one default
// k for the CLI and the UI, and "the latest finished run" chosen once, by the store.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_NEIGHBOURS } from '../../src-main/api/contract';
import { LammService } from '../../src-main/api/service';
import { initBackend } from '../../src-main/backend';
import { loadClip } from '../../src-main/clip/model';
import type { ClipModel } from '../../src-main/clip/types';
import type { ProjectStore } from '../../src-main/data/store';
import { compareRunPredictions, compareWithBaseline } from '../../src-main/lamm/compare';
import { runNeighbours } from '../../src-main/lamm/neighbours';
import { trainRun } from '../../src-main/lamm/run';
import { runZeroShot } from '../../src-main/lamm/zeroshot';
import { makeProject, makeTinyModel, tempDir } from './lamm-fixture';

const QUICK = { shots: 2, epochs: 2, views: 1, batchSize: 4, lr: 0.01 };

describe('service reports', () => {
  let dir: string;
  let store: ProjectStore;
  let dbFile: string;
  let model: ClipModel;
  let service: LammService;
  const runs: Record<string, number> = {};

  beforeAll(async () => {
    await initBackend();
    dir = tempDir('service-reports');
    ({ store, dbFile } = await makeProject(dir, 5));
    const modelDir = makeTinyModel(dir);
    model = await loadClip(modelDir);
    const datasetId = store.listDatasets()[0].id;
    runs.zeroShotOld = (await runZeroShot(store, model, { datasetId, split: 'test' })).runId;
    runs.lamm = (await trainRun(store, model, { config: QUICK })).runId;
    runs.zeroShot = (await runZeroShot(store, model, { datasetId, split: 'test' })).runId;
    runs.coop = (await trainRun(store, model, { config: { ...QUICK, method: 'coop' } })).runId;
    service = new LammService({ host: 'server', stateDir: path.join(dir, 'state'), version: 'test' });
    await service.openProject({ dbPath: dbFile });
  });
  afterAll(async () => {
    await service?.close();
    store?.close();
    model?.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('picks the newest finished run of a kind for a model in one store call', () => {
    const datasetId = store.listDatasets()[0].id;
    expect(store.latestFinishedRun('zeroshot', store.getRun(runs.lamm).modelId, datasetId)?.id).toBe(runs.zeroShot);
    expect(store.latestFinishedRun('trained', store.getRun(runs.lamm).modelId, datasetId)?.id).toBe(runs.coop);
    expect(store.latestFinishedRun('trained', store.getRun(runs.lamm).modelId, datasetId + 1)).toBeUndefined();
    expect(store.latestFinishedRun('zeroshot', null)).toBeUndefined();
  });

  it('gives the engine neighbours, with the engine default k', async () => {
    const viaService = await service.getNeighbours({ runId: runs.lamm });
    expect(viaService).toEqual(await runNeighbours(store, model, runs.lamm));
    const perToken = viaService.flatMap((c) => c.tokens.map((t) => t.neighbours.length));
    expect(Math.max(...perToken)).toBe(DEFAULT_NEIGHBOURS);
    expect(await service.getNeighbours({ runId: runs.lamm, k: 3, wordsOnly: true })).toEqual(
      await runNeighbours(store, model, runs.lamm, { k: 3, wordsOnly: true }),
    );
  });

  it('compares against the newest zero-shot run of the same model unless told another', () => {
    const got = service.compareRuns({ runId: runs.lamm });
    expect(got.baseRunId).toBe(runs.zeroShot);
    expect(got).toEqual(compareWithBaseline(store, runs.lamm));
    const classes = store.getRunClasses(runs.lamm).map((c) => ({ id: c.classId, folder: store.getClass(c.classId).folder }));
    expect(service.compareRuns({ runId: runs.lamm, baseRunId: runs.zeroShotOld })).toEqual(
      compareRunPredictions(
        { runId: runs.zeroShotOld, predictions: store.getPredictions(runs.zeroShotOld) },
        { runId: runs.lamm, predictions: store.getPredictions(runs.lamm) },
        classes,
      ),
    );
    expect(() => service.compareRuns({ runId: runs.zeroShot })).toThrow(`run ${runs.zeroShot} is a zero-shot run; choose a trained run to compare`);
  });
});
