import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { embedImages, embedTexts, loadClip, normalizeRow, type ClipModel } from '../../src-main/clip';
import { importFolder } from '../../src-main/data/import';
import { ProjectStore } from '../../src-main/data/store';
import { ENSEMBLE_TEMPLATES, runZeroShot, zeroShotTextFeatures } from '../../src-main/lamm/zeroshot';
import { GOLDEN_MODEL_DIR, HAS_GOLDEN, maxAbsDiff, REPO_ROOT } from '../helpers/golden';
import { makeClassFolder, tempDir, writeImage } from './data-fixtures';

const run = promisify(execFile);

async function lamm(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(process.execPath, [path.join(REPO_ROOT, 'bin/lamm.js'), ...args], { cwd: REPO_ROOT, maxBuffer: 1 << 24 });
}

/** Zero-shot computed without the project: files → embedImages, prompts → embedTexts, argmax of cosine. */
async function direct(model: ClipModel, byClass: Record<string, { prompt: string; files: string[] }>, templates: string[]) {
  const folders = Object.keys(byClass).sort();
  const text = folders.map(() => new Float32Array(model.config.projectionDim));
  for (const t of templates) {
    const rows = await embedTexts(
      model,
      folders.map((f) => t.replace('{}', byClass[f].prompt)),
    );
    rows.forEach((r, c) => normalizeRow(r).forEach((v, k) => (text[c][k] += v)));
  }
  text.forEach(normalizeRow);
  let right = 0;
  let total = 0;
  const perClass: Record<string, number> = {};
  for (const [c, folder] of folders.entries()) {
    const feats = await embedImages(model, byClass[folder].files);
    let hits = 0;
    for (const f of feats) {
      normalizeRow(f);
      const scores = text.map((t) => t.reduce((s, v, k) => s + v * f[k], 0));
      if (scores.indexOf(Math.max(...scores)) === c) hits++;
    }
    if (feats.length) perClass[folder] = hits / feats.length;
    right += hits;
    total += feats.length;
  }
  return { accuracy: right / total, perClass };
}

function filesOf(root: string): string[] {
  return fs
    .readdirSync(root, { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.(png|jpe?g)$/.test(f))
    .map((f) => path.join(root, f))
    .sort();
}

describe.skipIf(!HAS_GOLDEN)('zero-shot', () => {
  let model: ClipModel;
  beforeAll(async () => {
    model = await loadClip(GOLDEN_MODEL_DIR);
  });
  afterAll(() => model?.dispose());

  it('`lamm zeroshot --json` prints the documented JSON, equal to a direct computation', async () => {
    const data = path.join(tempDir(), 'DATA');
    await makeClassFolder(data, { golden_retriever: 4, 'crème brûlée': 3, 'sea-lion': 5 });
    await writeImage(path.join(data, 'sea-lion', 'big one.jpg'), 77, 'jpeg', 90, 60); // needs resize + crop
    fs.writeFileSync(path.join(data, 'sea-lion', 'broken.jpg'), 'not really a jpeg');

    const { stdout, stderr } = await lamm('zeroshot', '--model', GOLDEN_MODEL_DIR, '--data', data, '--json');
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const out = JSON.parse(lines[0]);
    expect(Object.keys(out).sort()).toEqual(['accuracy', 'perClass']);
    expect(stderr).toMatch(/skipped sea-lion\/broken\.jpg: not an image/);

    const expected = await direct(
      model,
      {
        golden_retriever: { prompt: 'golden retriever', files: filesOf(path.join(data, 'golden_retriever')) },
        'crème brûlée': { prompt: 'crème brûlée', files: filesOf(path.join(data, 'crème brûlée')) },
        'sea-lion': { prompt: 'sea lion', files: filesOf(path.join(data, 'sea-lion')).filter((f) => !f.endsWith('broken.jpg')) },
      },
      ['a photo of a {}.'],
    );
    expect(out.accuracy).toBeCloseTo(expected.accuracy, 12);
    expect(out.perClass).toEqual(expected.perClass);
  });

  it('with --db, --template and --split: evaluates that split, keeps the run, reuses cached features', async () => {
    const dir = tempDir();
    const data = path.join(dir, 'DATA');
    await makeClassFolder(path.join(data, 'train'), { ant: 2, bee: 2 }, 1);
    await makeClassFolder(path.join(data, 'test'), { ant: 3, bee: 4 }, 50);
    const db = path.join(dir, 'bugs.lamm');
    const template = 'a close-up photo of a {}, an insect.';
    const args = ['zeroshot', '--model', GOLDEN_MODEL_DIR, '--data', data, '--template', template, '--split', 'test', '--db', db, '--json'];
    const first = JSON.parse((await lamm(...args)).stdout);
    const expected = await direct(
      model,
      {
        ant: { prompt: 'ant', files: filesOf(path.join(data, 'test', 'ant')) },
        bee: { prompt: 'bee', files: filesOf(path.join(data, 'test', 'bee')) },
      },
      [template],
    );
    expect(first.accuracy).toBeCloseTo(expected.accuracy, 12);
    expect(first.perClass).toEqual(expected.perClass);

    const second = JSON.parse((await lamm(...args)).stdout);
    expect(second).toEqual(first);
    const store = ProjectStore.open(db, { readonly: true });
    try {
      const runs = store.listRuns();
      expect(runs.map((r) => [r.kind, r.status])).toEqual([
        ['zeroshot', 'done'],
        ['zeroshot', 'done'],
      ]);
      expect(runs[1].config).toEqual({ templates: [template], split: 'test' });
      expect(runs[1].metrics).toMatchObject({ accuracy: first.accuracy, perClass: first.perClass, images: 7 });
      expect(runs[1].backend).toMatch(/^(wasm|cpu|tfjs-node)/);
      expect(store.getPredictions(runs[1].id)).toHaveLength(7);
      // Features were computed once (7 test images, view 0) and reused by the second run.
      expect((store.db.prepare('SELECT COUNT(*) AS n FROM features').get() as { n: number }).n).toBe(7);
    } finally {
      store.close();
    }
  });

  it('rejects bad flags and folders with one line and a non-zero exit', async () => {
    const both = lamm('zeroshot', '--model', GOLDEN_MODEL_DIR, '--data', '.', '--template', 'a {}.', '--ensemble', '--json');
    await expect(both).rejects.toMatchObject({ code: 2, stderr: 'lamm zeroshot: give --template or --ensemble, not both\n' });
    const missing = lamm('zeroshot', '--model', GOLDEN_MODEL_DIR, '--data', '/nonexistent/data', '--json');
    await expect(missing).rejects.toMatchObject({ code: 1, stderr: expect.stringMatching(/lamm zeroshot: data folder not found: \/nonexistent\/data\n$/) });
  });

  it('ensembles templates as the renormalised mean of normalised text features', async () => {
    const names = ['red fox', 'sea lion', 'cat'];
    const templates = ENSEMBLE_TEMPLATES.slice(0, 3);
    const got = await zeroShotTextFeatures(model, names, templates);
    const width = model.config.projectionDim;
    const mean = names.map(() => new Float32Array(width));
    for (const t of templates) {
      (
        await embedTexts(
          model,
          names.map((n) => t.replace('{}', n)),
        )
      ).forEach((r, c) => normalizeRow(r).forEach((v, k) => (mean[c][k] += v / templates.length)));
    }
    mean.forEach((row, c) => expect(maxAbsDiff(got.subarray(c * width, (c + 1) * width), normalizeRow(row))).toBeLessThan(1e-6));
    await expect(zeroShotTextFeatures(model, names, ['no placeholder'])).rejects.toThrow('template "no placeholder" must contain "{}" exactly once');
  });

  it('stores per-image predictions, and leaks no tensors across runs', async () => {
    const dir = tempDir();
    const data = path.join(dir, 'DATA');
    await makeClassFolder(data, { a: 3, b: 3, c: 2 });
    const store = ProjectStore.open(':memory:');
    try {
      const { datasetId } = await importFolder(store, data);
      const first = await runZeroShot(store, model, { datasetId, templates: [...ENSEMBLE_TEMPLATES] });
      const tensors = tf.memory().numTensors;
      const second = await runZeroShot(store, model, { datasetId, templates: [...ENSEMBLE_TEMPLATES] });
      expect(tf.memory().numTensors).toBe(tensors);
      expect(second.accuracy).toBe(first.accuracy);

      const predictions = store.getPredictions(second.runId);
      const classes = store.getRunClasses(second.runId);
      expect(predictions).toHaveLength(8);
      let right = 0;
      for (const p of predictions) {
        const probs = p.probs!;
        expect(probs).toHaveLength(3);
        expect(probs.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 5);
        expect(classes[probs.indexOf(Math.max(...probs))].classId).toBe(p.predictedClassId);
        expect(p.score).toBeCloseTo(Math.max(...probs), 6);
        if (p.predictedClassId === p.labelClassId) right++;
      }
      expect(second.accuracy).toBeCloseTo(right / 8, 12);
      expect(store.getRun(second.runId)).toMatchObject({ kind: 'zeroshot', status: 'done' });
      const onTest = await runZeroShot(store, model, { datasetId, split: 'test' });
      expect(onTest.images).toBe(store.listImages(datasetId, { split: 'test' }).length);
      expect(onTest.images).toBe(3);

      // A failure after the run started leaves it marked failed, with the reason.
      await expect(runZeroShot(store, model, { datasetId, templates: ['no placeholder'] })).rejects.toThrow(/exactly once/);
      expect(store.listRuns().at(-1)).toMatchObject({ status: 'failed', error: 'template "no placeholder" must contain "{}" exactly once' });
    } finally {
      store.close();
    }
  });
});
