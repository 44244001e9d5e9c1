// Export → import → classify gives the run's own predictions, in every format; the export
// names its base model and refuses another one unless forced; npy files are NumPy-readable.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src-main/backend';
import { loadClip } from '../../src-main/clip/model';
import type { ClipModel } from '../../src-main/clip/types';
import type { ProjectStore } from '../../src-main/data/store';
import { classifyImages } from '../../src-main/export/classify';
import { EXPORT_FORMATS, exportClassifier, importExport } from '../../src-main/export/export';
import { decodeNpy, encodeNpy } from '../../src-main/export/npy';
import { loadRunClassifier } from '../../src-main/lamm/classifier';
import { mergeRuns } from '../../src-main/lamm/merge';
import { trainRun } from '../../src-main/lamm/run';
import { FIXTURE_CLASSES, makeProject, makeTinyModel, tempDir } from './lamm-fixture';

const QUICK = { shots: 3, epochs: 3, views: 2, batchSize: 4, lr: 0.01 };

describe('export, import, classify', () => {
  let dir: string;
  let store: ProjectStore;
  let model: ClipModel;
  let runId: number;

  beforeAll(async () => {
    await initBackend();
    dir = tempDir('export');
    ({ store } = await makeProject(dir, 6));
    model = await loadClip(makeTinyModel(dir));
    runId = (await trainRun(store, model, { config: QUICK })).runId;
  });
  afterAll(() => {
    store?.close();
    model?.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it.each(EXPORT_FORMATS)('round-trips every tensor and the manifest (%s)', (format) => {
    const c = loadRunClassifier(store, runId);
    const files = exportClassifier(c, format, path.join(dir, `out-${format}`));
    expect(path.basename(files[0])).toBe('manifest.json');
    const manifest = JSON.parse(fs.readFileSync(files[0], 'utf8'));
    expect(manifest).toMatchObject({ template: 'a photo of a {}.', minLen: c.minLen, labelStart: c.labelStart, baseModel: { sha256: model.weightsSha256 } });
    expect(manifest.classes.map((x: { folder: string }) => x.folder)).toEqual(FIXTURE_CLASSES.map((x) => x.folder).sort());
    const back = importExport(path.join(dir, `out-${format}`));
    expect(back.labelEmbeddings).toEqual(c.labelEmbeddings);
    expect(back.initialLabelEmbeddings).toEqual(c.initialLabelEmbeddings);
    expect(back.textFeatures).toEqual(c.textFeatures);
    expect(back.tokensPerClass).toEqual(c.tokensPerClass);
  });

  it('classifies the test images exactly as the run predicted them', async () => {
    const c = importExport(path.join(dir, 'out-safetensors'));
    const run = store.getRun(runId);
    const test = store.listImages(run.datasetId!, { split: 'test' });
    const results = await classifyImages(
      c,
      model,
      test.map((img) => store.imageFile(img)),
    );
    const stored = new Map(store.getPredictions(runId).map((p) => [p.imageId, p]));
    test.forEach((img, i) => {
      const p = stored.get(img.id)!;
      expect(results[i].ranked[0].folder).toBe(store.getClass(p.predictedClassId).folder);
      expect(results[i].ranked[0].probability).toBeCloseTo(p.score, 5);
    });
  });

  it('refuses a different base model unless forced', async () => {
    const c = importExport(path.join(dir, 'out-npy'));
    const other = await loadClip(makeTinyModel(dir, 99));
    try {
      const image = store.imageFile(store.listImages(store.getRun(runId).datasetId!)[0]);
      await expect(classifyImages(c, other, [image])).rejects.toThrow(/pass --force/);
      expect((await classifyImages(c, other, [image], { force: true, top: 2 }))[0].ranked).toHaveLength(2);
    } finally {
      other.dispose();
    }
  });

  it('exports a merge of tasks with different token counts, padded and restored', async () => {
    const folders = FIXTURE_CLASSES.map((x) => x.folder).sort();
    const a = await trainRun(store, model, { classes: folders.slice(0, 2), config: QUICK });
    const b = await trainRun(store, model, { classes: folders.slice(2), config: QUICK });
    const merged = loadRunClassifier(store, (await mergeRuns(store, [a.runId, b.runId])).runId);
    const back = importExport(exportClassifier(merged, 'safetensors', path.join(dir, 'merged'))[0]);
    expect(back.tokensPerClass).toEqual(merged.tokensPerClass);
    expect(back.labelEmbeddings).toEqual(merged.labelEmbeddings);
  });

  it('writes .npy headers NumPy accepts and rejects what is not one', () => {
    const buf = encodeNpy([2, 3], Float32Array.from([1, 2, 3, 4, 5, 6]));
    const headerLen = buf.readUInt16LE(8);
    expect((10 + headerLen) % 64).toBe(0);
    expect(buf.subarray(10, 10 + headerLen).toString('latin1')).toMatch(/^\{'descr': '<f4', 'fortran_order': False, 'shape': \(2, 3\), \} *\n$/);
    expect(decodeNpy(buf, 'x')).toEqual({ shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) });
    expect(() => decodeNpy(Buffer.from('nope'), 'bad.npy')).toThrow(/not a .npy file/);
    expect(() => importExport(path.join(dir, 'nowhere'))).toThrow(/not a LAMM export/);
  });
});
