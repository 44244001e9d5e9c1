import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { embedImages, embedTexts, loadClip, normalizeRow, type ClipModel } from '../../src-main/clip';
import { classCounts, findNearDuplicates, groupDuplicates, moveToSplit, relabel, searchByText, setExcluded } from '../../src-main/data/curation';
import { importFolder } from '../../src-main/data/import';
import { GOLDEN_MODEL_DIR, HAS_GOLDEN } from '../helpers/golden';
import { makeClassFolder, pixels, storesClosedAfterEach, tempDir } from './data-fixtures';

const open = storesClosedAfterEach();
async function project(classes: Record<string, number>) {
  const dir = tempDir();
  const data = path.join(dir, 'DATA');
  await makeClassFolder(data, classes);
  const store = open(path.join(dir, 'p.lamm'));
  const { datasetId } = await importFolder(store, data);
  return { store, datasetId, data };
}

const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, v, k) => s + v * b[k], 0);

describe('curation edits and counts', () => {
  it('counts per class and split follow exclusions, relabels and moves; undoing an edit clears it', async () => {
    const { store, datasetId } = await project({ a: 5, b: 5 });
    const [a, b] = store.listClasses(datasetId);
    const before = classCounts(store, datasetId);
    expect(before.map((c) => [c.folder, c.train, c.test, c.excluded, c.total])).toEqual([
      ['a', 4, 1, 0, 5],
      ['b', 4, 1, 0, 5],
    ]);

    const aTrain = store.listImages(datasetId, { classId: a.id, split: 'train' }).map((i) => i.id);
    expect(setExcluded(store, [aTrain[0]], true)).toBe(1);
    expect(setExcluded(store, [aTrain[0]], true)).toBe(0); // already excluded
    relabel(store, [aTrain[1]], b.id);
    moveToSplit(store, [aTrain[2]], 'test');
    expect(classCounts(store, datasetId).map((c) => [c.folder, c.train, c.test, c.excluded, c.total])).toEqual([
      ['a', 1, 2, 1, 4],
      ['b', 5, 1, 0, 6],
    ]);

    // Relabelling to the folder's own class, or moving back to the base split, is an undo.
    relabel(store, [aTrain[1]], a.id);
    moveToSplit(store, [aTrain[2]], 'train');
    setExcluded(store, [aTrain[0]], false);
    expect(store.getImage(aTrain[1])).toMatchObject({ relabelled: false, classId: a.id });
    expect(store.getImage(aTrain[2])).toMatchObject({ splitOverridden: false, split: 'train' });
    expect(classCounts(store, datasetId)).toEqual(before);
    expect(() => moveToSplit(store, [aTrain[0]], 'val' as never)).toThrow('split must be "train" or "test", got "val"');
  });

  it('groups duplicate pairs into connected groups with their weakest similarity', () => {
    const groups = groupDuplicates([
      { a: 1, b: 2, similarity: 0.99, exact: false },
      { a: 2, b: 5, similarity: 0.96, exact: false },
      { a: 7, b: 8, similarity: 1, exact: true },
    ]);
    expect(groups).toEqual([
      { imageIds: [7, 8], similarity: 1 },
      { imageIds: [1, 2, 5], similarity: 0.96 },
    ]);
  });
});

describe.skipIf(!HAS_GOLDEN)('curation with CLIP features', () => {
  let model: ClipModel;
  beforeAll(async () => {
    model = await loadClip(GOLDEN_MODEL_DIR);
  });
  afterAll(() => model?.dispose());

  it("text search ranks images by cosine with the query's text features", async () => {
    const { store, datasetId } = await project({ a: 4, b: 4 });
    const images = store.listImages(datasetId);
    const hits = await searchByText(store, model, datasetId, '  a red square  ', { limit: 5 });
    const [q] = await embedTexts(model, ['a red square']);
    normalizeRow(q);
    const feats = await embedImages(
      model,
      images.map((i) => store.imageFile(i)),
    );
    const expected = images
      .map((img, i) => ({ imageId: img.id, score: dot(normalizeRow(feats[i]), q) }))
      .sort((x, y) => y.score - x.score)
      .slice(0, 5);
    expect(hits.map((h) => h.imageId)).toEqual(expected.map((e) => e.imageId));
    hits.forEach((h, i) => expect(h.score).toBeCloseTo(expected[i].score, 5));
    await expect(searchByText(store, model, datasetId, '   ')).rejects.toThrow('the search text is empty');
  });

  it('near-duplicate pairs are exactly the pairs above the threshold, exact copies flagged', async () => {
    const { store, datasetId, data } = await project({ a: 3, b: 3 });
    // An exact copy, and a re-encoded, slightly resized copy of the same picture.
    fs.copyFileSync(path.join(data, 'a', 'img_000.png'), path.join(data, 'b', 'copy.png'));
    await sharp(pixels(1, 40, 32), { raw: { width: 40, height: 32, channels: 3 } })
      .resize(44, 35)
      .jpeg({ quality: 90 })
      .toFile(path.join(data, 'b', 'resized.jpg'));
    await importFolder(store, data);
    const images = store.listImages(datasetId);
    const byPath = new Map(images.map((i) => [i.path, i.id]));

    const feats = (
      await embedImages(
        model,
        images.map((i) => store.imageFile(i)),
      )
    ).map(normalizeRow);
    const sims: { a: number; b: number; s: number }[] = [];
    for (let i = 0; i < images.length; i++)
      for (let j = i + 1; j < images.length; j++) sims.push({ a: images[i].id, b: images[j].id, s: dot(feats[i], feats[j]) });
    // A threshold between the copies and the closest unrelated pair, so the test is about the cut, not this random model.
    const copyIds = new Set([byPath.get('a/img_000.png'), byPath.get('b/copy.png'), byPath.get('b/resized.jpg')]);
    const unrelated = sims
      .filter((p) => !(copyIds.has(p.a) && copyIds.has(p.b)))
      .map((p) => p.s)
      .sort((x, y) => y - x);
    const k = Math.floor(unrelated.length / 3);
    const threshold = (unrelated[k] + unrelated[k + 1]) / 2; // halfway between two pairs: no pair sits on the cut
    const expected = sims
      .filter((p) => p.s >= threshold)
      .map((p) => [Math.min(p.a, p.b), Math.max(p.a, p.b)].join('-'))
      .sort();

    const pairs = await findNearDuplicates(store, model, datasetId, { threshold });
    expect(pairs.map((p) => [Math.min(p.a, p.b), Math.max(p.a, p.b)].join('-')).sort()).toEqual(expected);
    const exact = pairs.filter((p) => p.exact);
    expect(exact).toHaveLength(1);
    expect(new Set([exact[0].a, exact[0].b])).toEqual(new Set([byPath.get('a/img_000.png'), byPath.get('b/copy.png')]));
    expect(pairs.map((p) => p.similarity)).toEqual([...pairs.map((p) => p.similarity)].sort((x, y) => y - x));
    const resizedPair = pairs.find((p) => [p.a, p.b].includes(byPath.get('b/resized.jpg')!) && [p.a, p.b].includes(byPath.get('a/img_000.png')!));
    expect(resizedPair?.similarity).toBeGreaterThan(threshold);
  });

  it('text search leaves out files that no longer decode instead of failing', async () => {
    const { store, datasetId } = await project({ a: 3, b: 2 });
    const victim = store.listImages(datasetId)[0];
    fs.writeFileSync(store.imageFile(victim), 'garbage');
    const hits = await searchByText(store, model, datasetId, 'anything');
    expect(hits).toHaveLength(4);
    expect(hits.map((h) => h.imageId)).not.toContain(victim.id);
  });
});
