// Training runs against a generated project with a tiny random CLIP: seeded determinism, the
// run record, CoOp's context, class-incremental merge, token neighbours, no tensor leaks.
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src-main/backend';
import { loadClip } from '../../src-main/clip/model';
import type { ClipModel } from '../../src-main/clip/types';
import type { ProjectStore } from '../../src-main/data/store';
import { loadRunClassifier } from '../../src-main/lamm/classifier';
import { mergeRuns } from '../../src-main/lamm/merge';
import { runNeighbours, tokenNeighbours } from '../../src-main/lamm/neighbours';
import { trainRun } from '../../src-main/lamm/run';
import { getRunTensor } from '../../src-main/data/run-tensors';
import { setupLabelTokens } from '../../src-main/lamm/prompts';
import { PromptEncoder } from '../../src-main/lamm/text';
import { maxAbsDiff } from '../helpers/golden';
import { FIXTURE_CLASSES, makeProject, makeTinyModel, tempDir } from './lamm-fixture';
import { LOSS_TERMS } from '../../src-main/lamm/loss-terms';

const c0Count = (store: ProjectStore, runId: number) => store.getRunClasses(runId).length;
const QUICK = { shots: 3, epochs: 3, views: 2, batchSize: 4, lr: 0.01, warmupEpochs: 1 };

describe('training runs', () => {
  let dir: string;
  let store: ProjectStore;
  let model: ClipModel;

  beforeAll(async () => {
    await initBackend();
    dir = tempDir('run');
    ({ store } = await makeProject(dir, 6));
    model = await loadClip(makeTinyModel(dir));
  });
  afterAll(() => {
    store?.close();
    model?.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('records config, backend, timings, the per-epoch log, embeddings and predictions', async () => {
    const epochs: number[] = [];
    const out = await trainRun(store, model, { config: QUICK }, { onEpoch: (_id, e) => epochs.push(e.epoch) });
    const run = store.getRun(out.runId);
    expect(run.status).toBe('done');
    expect(run.kind).toBe('lamm');
    expect(run.backend).toBe(out.backend);
    expect(run.config).toMatchObject({ shots: 3, epochs: 3, classes: FIXTURE_CLASSES.map((c) => c.folder).sort() });
    expect(run.timings!.secondsPerStep).toBeGreaterThan(0);
    expect(run.metrics!.accuracy).toBe(out.trained.accuracy);
    expect(epochs).toEqual([0, 1, 2, 2]); // the last again with its test accuracy
    const log = store.getRunLog(out.runId);
    expect(log.map((e) => e.epoch)).toEqual([0, 1, 2]);
    expect(log[0].lr).toBe(1e-5);
    expect(log[2].testAccuracy).toBe(out.trained.accuracy);
    expect(log.every((e) => [e.loss, ...LOSS_TERMS.map((t) => e.terms[t.name])].every(Number.isFinite))).toBe(true);
    const t = log[0].terms;
    expect(log[0].loss).toBeCloseTo(t.ce + t.wc + t.cos + 0.05 * t.kd, 4);
    const embeddings = store.getLabelEmbeddings(out.runId);
    expect(embeddings).toHaveLength(4);
    expect(embeddings.some((e) => e.data.some((v, i) => v !== e.init[i]))).toBe(true);
    expect(store.getPredictions(out.runId)).toHaveLength(store.listImages(run.datasetId!, { split: 'test' }).length);
    expect(getRunTensor(store, out.runId, 'text_features')!.shape).toEqual([4, model.config.projectionDim]);
  });

  it('gives the same embeddings for the same seed and different ones for another', async () => {
    const a = await trainRun(store, model, { config: { ...QUICK, seed: 5 } });
    const b = await trainRun(store, model, { config: { ...QUICK, seed: 5 } });
    const c = await trainRun(store, model, { config: { ...QUICK, seed: 6 } });
    const emb = (id: number) => loadRunClassifier(store, id).labelEmbeddings;
    expect(emb(b.runId)).toEqual(emb(a.runId));
    expect(emb(c.runId)).not.toEqual(emb(a.runId));
  });

  it('trains only the context for CoOp and both for CoOp+LAMM', async () => {
    const coop = loadRunClassifier(store, (await trainRun(store, model, { config: { ...QUICK, method: 'coop' } })).runId);
    expect(coop.labelEmbeddings).toEqual(coop.initialLabelEmbeddings);
    expect(coop.context).not.toBeNull();
    const both = loadRunClassifier(store, (await trainRun(store, model, { config: { ...QUICK, method: 'coop+lamm' } })).runId);
    expect(both.labelEmbeddings).not.toEqual(both.initialLabelEmbeddings);
    expect(both.context).not.toBeNull();
  });

  it('merges two class-incremental runs without touching the old classes', async () => {
    const [first, second, third, fourth] = FIXTURE_CLASSES.map((c) => c.folder);
    const old = await trainRun(store, model, { classes: [first, second], config: QUICK });
    const before = loadRunClassifier(store, old.runId);
    const added = await trainRun(store, model, { classes: [third, fourth], config: QUICK });
    const oldAfter = loadRunClassifier(store, old.runId);
    expect(oldAfter.labelEmbeddings).toEqual(before.labelEmbeddings);

    const merged = await mergeRuns(store, [old.runId, added.runId]);
    const m = loadRunClassifier(store, merged.runId);
    const newPart = loadRunClassifier(store, added.runId);
    expect(m.classes.map((c) => c.folder)).toEqual([first, second, third, fourth]);
    expect(m.labelEmbeddings.subarray(0, before.labelEmbeddings.length)).toEqual(before.labelEmbeddings);
    expect(m.labelEmbeddings.subarray(before.labelEmbeddings.length)).toEqual(newPart.labelEmbeddings);
    expect(m.textFeatures.subarray(0, before.textFeatures.length)).toEqual(before.textFeatures);
    expect(Object.keys(merged.perClass).sort()).toEqual([first, second, third, fourth].sort());
    expect(store.getPredictions(merged.runId)).toHaveLength(store.listImages(store.getRun(old.runId).datasetId!, { split: 'test' }).length);
    await expect(mergeRuns(store, [old.runId, merged.runId])).rejects.toThrow(/more than one run/);
  });

  it('reports token neighbours: an untrained token is its own nearest, specials never appear', async () => {
    const ids = model.tokenizer.encode('red');
    const rows = tf.tidy(() => tf.gather(model.tokenEmbedding, tf.tensor1d([...ids, model.tokenizer.eot], 'int32')).dataSync() as Float32Array);
    const [same, eotRow] = (await tokenNeighbours(model, rows, [...ids, ids[0]], 4)).slice(ids.length - 1);
    expect(same.originalRank).toBe(1);
    expect(same.drift).toBe(0);
    expect(same.neighbours[0]).toMatchObject({ id: ids[ids.length - 1] });
    expect(same.neighbours[0].cosine).toBeCloseTo(1, 5);
    expect(eotRow.neighbours.map((n) => n.id)).not.toContain(model.tokenizer.eot);
    expect(eotRow.drift).toBeGreaterThan(0);

    const runId = store.listRuns().find((r) => r.kind === 'lamm' && r.status === 'done')!.id;
    const report = await runNeighbours(store, model, runId, { k: 3 });
    expect(report).toHaveLength(c0Count(store, runId));
    const c = loadRunClassifier(store, runId);
    expect(report[0].tokens).toHaveLength(c.minLen);
    expect(report[0].tokens[0].neighbours).toHaveLength(3);
  });

  it('splices E0 into the prompts to give exactly the plain zero-shot text features', () => {
    const setup = setupLabelTokens(model.tokenizer, ['red circle', 'sky', 'a green field'], 'a photo of a {}.', model.config.text.maxPositions);
    const encoder = new PromptEncoder(model, setup);
    try {
      const [spliced, plain] = tf.tidy(() => [encoder.encode().dataSync(), model.encodeText(setup.promptIds).dataSync()]);
      expect(maxAbsDiff(spliced, plain)).toBeLessThan(1e-5);
    } finally {
      encoder.dispose();
    }
  });

  it('leaks no tensors across a run', async () => {
    await trainRun(store, model, { config: { ...QUICK, epochs: 1 } });
    const before = tf.memory().numTensors;
    await trainRun(store, model, { config: { ...QUICK, epochs: 2 } });
    expect(tf.memory().numTensors).toBe(before);
  });
});
