// Label issues as cleanlab's confident learning finds them: k-fold out-of-sample probes and
// per-class thresholds. Synthetic features with planted flips check the engine exactly; the
// demo dataset with files moved into wrong class folders checks `lamm label-issues` end to end.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src-main/backend';
import { mulberry32, normalSampler } from '../../src-main/clip/random';
import { unitClusters } from './lamm-fixture';
import { confidentThresholds, findIssuesInProbabilities, findLabelIssues } from '../../src-main/data/label-issues';
import { crossValidatedProbabilities, fitSoftmaxRegression, probeProbabilities, stratifiedFolds } from '../../src-main/data/probe';
import { generateDemoDataset, loadRecipe, DEMO_MODEL_DIR } from '../../src-main/demo/dataset';
import { REPO_ROOT } from '../helpers/golden';
import { loadClip } from '../../src-main/clip';
import { relabel, setExcluded } from '../../src-main/data/curation';
import { importFolder } from '../../src-main/data/import';

import { ProjectStore } from '../../src-main/data/store';

const run = promisify(execFile);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lamm-label-issues-'));
beforeAll(() => initBackend());
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Gaussian clusters on the unit sphere: C classes, n each, P dims; then `flips` labels changed to another class. */
function synthetic(seed: number, C = 4, n = 40, P = 16, flips = 12, spread = 0.35) {
  const rand = mulberry32(seed);
  const normal = normalSampler(rand);
  const { x, labels: truth } = unitClusters(normal, C, n, P, spread, Math.sqrt(P));
  const labels = Int32Array.from(truth);
  const flipped = new Set<number>();
  while (flipped.size < flips) {
    const i = Math.floor(rand() * labels.length);
    if (flipped.has(i)) continue;
    labels[i] = (truth[i] + 1 + Math.floor(rand() * (C - 1))) % C;
    flipped.add(i);
  }
  return { x, truth, labels, flipped, C, P };
}

describe('confident learning on out-of-sample probabilities', () => {
  it('finds the planted flips of a synthetic feature set and suggests their true class', async () => {
    const s = synthetic(3);
    const probs = await crossValidatedProbabilities(s.x, s.labels, s.P, s.C, { folds: 5, seed: 1 });
    const issues = findIssuesInProbabilities(probs, s.labels, s.C);
    const found = new Set(issues.map((i) => i.index));
    const hits = [...found].filter((i) => s.flipped.has(i)).length;
    expect(hits / found.size).toBe(1); // precision
    expect(hits / s.flipped.size).toBeGreaterThanOrEqual(0.7); // recall
    // What confident learning leaves out: flips whose true class stays under its class threshold.
    const t = confidentThresholds(probs, s.labels, s.C);
    for (const i of s.flipped) if (!found.has(i)) expect(probs[i * s.C + s.truth[i]], `image ${i}`).toBeLessThan(t[s.truth[i]]);
    for (const i of issues) if (s.flipped.has(i.index)) expect(i.suggested).toBe(s.truth[i.index]);
    expect(issues.map((i) => i.score)).toEqual([...issues.map((i) => i.score)].sort((a, b) => b - a));
    for (const i of issues) expect(i.score).toBeCloseTo(1 - probs[i.index * s.C + s.labels[i.index]], 6);
  });

  it('out of sample finds what an in-sample probe has memorised', async () => {
    const s = synthetic(5);
    // Fitted on every label, a weakly pulled probe learns the flips and agrees with them.
    const head = await fitSoftmaxRegression(s.x, s.labels, s.P, s.C, { l2: 0, steps: 400, scale: 60 });
    const inSample = findIssuesInProbabilities(await probeProbabilities(s.x, s.P, head, s.C, 60), s.labels, s.C);
    const outOfSample = findIssuesInProbabilities(await crossValidatedProbabilities(s.x, s.labels, s.P, s.C, { l2: 0, steps: 400, scale: 60 }), s.labels, s.C);
    const recall = (list: { index: number }[]) => list.filter((i) => s.flipped.has(i.index)).length / s.flipped.size;
    expect(recall(outOfSample)).toBeGreaterThan(recall(inSample) + 0.3);
  });

  it('is deterministic for a seed, and the seed only moves images between folds', async () => {
    const s = synthetic(7);
    const a = await crossValidatedProbabilities(s.x, s.labels, s.P, s.C, { seed: 4 });
    expect(await crossValidatedProbabilities(s.x, s.labels, s.P, s.C, { seed: 4 })).toEqual(a);
    expect(await crossValidatedProbabilities(s.x, s.labels, s.P, s.C, { seed: 5 })).not.toEqual(a);
    const folds = stratifiedFolds(s.labels, 5, 4);
    for (let c = 0; c < s.C; c++) {
      const sizes = [0, 1, 2, 3, 4].map((f) => [...folds.keys()].filter((i) => folds[i] === f && s.labels[i] === c).length);
      expect(Math.max(...sizes) - Math.min(...sizes), `class ${c}`).toBeLessThanOrEqual(1);
    }
  });

  it('leaves no tensors behind', async () => {
    const s = synthetic(9, 3, 10, 8, 2);
    await crossValidatedProbabilities(s.x, s.labels, s.P, s.C, { steps: 5 });
    const before = tf.memory().numTensors;
    await crossValidatedProbabilities(s.x, s.labels, s.P, s.C, { steps: 5 });
    expect(tf.memory().numTensors).toBe(before);
  });

  it('uses per-class thresholds, and never flags an image whose given class is still the likeliest', async () => {
    // Class 1 is predicted with low confidence everywhere (threshold 0.5), class 0 with high (0.9).
    const probs = Float32Array.from([
      0.9, 0.1, /* labelled 0 */ 0.9, 0.1, /* 0 */ 0.45, 0.55 /* labelled 0: 0.55 ≥ t1 and argmax → issue */, 0.5, 0.5, /* labelled 1 */ 0.4, 0.6, /* 1 */ 0.6,
      0.4 /* labelled 1: 0.6 < t0, not confidently 0 */,
    ]);
    const labels = [0, 0, 0, 1, 1, 1];
    const t = confidentThresholds(probs, labels, 2);
    expect(t[0]).toBeCloseTo((0.9 + 0.9 + 0.45) / 3, 6);
    expect(t[1]).toBeCloseTo(0.5, 6);
    for (const filter of ['prune_by_noise_rate', 'confident_learning'] as const) {
      expect(
        findIssuesInProbabilities(probs, labels, 2, filter).map((i) => [i.index, i.suggested]),
        filter,
      ).toEqual([[2, 1]]);
    }
  });

  it('rejects too few images or folds with a one-line reason', async () => {
    const s = synthetic(1, 2, 2, 4, 0);
    await expect(crossValidatedProbabilities(s.x, s.labels, s.P, s.C, { folds: 5 })).rejects.toThrow('4 images cannot be split into 5 folds');
    await expect(crossValidatedProbabilities(s.x, s.labels, s.P, s.C, { folds: 1 })).rejects.toThrow('folds must be an integer of at least 2, got 1');
  });
});

describe('label issues in a project', () => {
  it('judge the current labels: a relabel is a given label, an excluded image is not checked', async () => {
    const data = await generateDemoDataset(path.join(tmp, 'demo-store'), loadRecipe());
    const store = ProjectStore.open(':memory:');
    const model = await loadClip(DEMO_MODEL_DIR);
    try {
      const { datasetId } = await importFolder(store, data.dir);
      const classes = store.listClasses(datasetId);
      const [wrong, hidden] = store.listImages(datasetId, { split: 'train' }).filter((_, k) => k % 40 === 3);
      const other = (classId: number) => classes.find((c) => c.id !== classId)!.id;
      relabel(store, [wrong.id], other(wrong.classId));
      relabel(store, [hidden.id], other(hidden.classId));
      setExcluded(store, [hidden.id], true);
      const report = await findLabelIssues(store, model, datasetId);
      expect(report.checked).toBe(store.listImages(datasetId, { includeExcluded: true }).length - 1);
      expect(report.issues.map((i) => i.imageId)).not.toContain(hidden.id);
      expect(report.issues).toContainEqual(expect.objectContaining({ imageId: wrong.id, givenClassId: other(wrong.classId), suggestedClassId: wrong.classId }));
      for (const i of report.issues) expect(i.givenClassId).toBe(store.getImage(i.imageId).classId);
      // Undoing the relabel clears the issue.
      relabel(store, [wrong.id], null);
      expect((await findLabelIssues(store, model, datasetId)).issues.map((i) => i.imageId)).not.toContain(wrong.id);
    } finally {
      store.close();
      model.dispose();
    }
  });
});

describe('lamm label-issues', () => {
  it('finds demo images moved into the wrong class folder, most suspicious first', async () => {
    const recipe = loadRecipe();
    const data = await generateDemoDataset(path.join(tmp, 'demo'), recipe);
    // Three training images filed under the wrong class, as a careless annotator would.
    const moves = [
      ['red_circle', 'blue_square'],
      ['azure_roundel', 'yellow_star'],
      ['vert_mullet', 'tenne_delf'],
    ].map(([from, to]) => {
      const dir = path.join(data.dir, 'train', from);
      const name = fs.readdirSync(dir).sort()[0];
      const dest = path.join(data.dir, 'train', to, `moved-${name}`);
      fs.renameSync(path.join(dir, name), dest);
      return { from, to, dest };
    });
    const { stdout } = await run(
      process.execPath,
      [path.join(REPO_ROOT, 'bin', 'lamm.js'), 'label-issues', '--model', DEMO_MODEL_DIR, '--data', data.dir, '--json'],
      { cwd: REPO_ROOT, maxBuffer: 1 << 24 },
    );
    const out = JSON.parse(stdout) as { checked: number; issues: { image: string; given: string; suggested: string; score: number }[] };
    expect(out.checked).toBe((recipe.perClass.train + recipe.perClass.test) * recipe.classes.length);
    for (const m of moves) expect(out.issues, m.dest).toContainEqual({ image: m.dest, given: m.to, suggested: m.from, score: expect.any(Number) });
    expect(out.issues.length).toBeLessThanOrEqual(moves.length + 2);
    expect(out.issues.map((i) => i.score)).toEqual([...out.issues.map((i) => i.score)].sort((a, b) => b - a));
    for (const i of out.issues) expect(i.score).toBeGreaterThan(0);
  });

  it('refuses an unknown probe with a one-line reason', async () => {
    const err = await run(
      process.execPath,
      [path.join(REPO_ROOT, 'bin', 'lamm.js'), 'label-issues', '--model', DEMO_MODEL_DIR, '--data', tmp, '--probe', 'forest', '--json'],
      { cwd: REPO_ROOT },
    ).catch((e) => e);
    expect(err.code).toBe(2);
    expect(err.stderr.trim()).toBe('lamm label-issues: --probe must be one of linear, zeroshot, got "forest"');
  });
});
