import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { CancelledError } from '../../src-main/jobs/context';
import { classCounts, exactDuplicateGroups, moveToSplit, relabel, renamePrompt, setExcluded } from '../../src-main/data/curation';
import { importFolder } from '../../src-main/data/import';
import { selectShots, setSeededSplit, testCount } from '../../src-main/data/splits';
import { ProjectStore } from '../../src-main/data/store';
import { ensureThumbnails, thumbnailFile } from '../../src-main/data/thumbnails';
import { encodeImage, makeClassFolder, storesClosedAfterEach, tempDir, writeImage } from './data-fixtures';

const open = storesClosedAfterEach();
const openStore = (dir: string) => open(path.join(dir, 'project.lamm'));

/** A messy folder: nested folders, unicode and spaces, every format, bad files and duplicates. */
async function messyFolder(root: string) {
  const files: Record<string, Buffer> = {};
  const put = async (rel: string, seed: number, format: Parameters<typeof writeImage>[2]) => {
    files[rel] = await writeImage(path.join(root, ...rel.split('/')), seed, format);
  };
  await put('golden_retriever/a.jpg', 1, 'jpeg');
  await put('golden_retriever/nested/deeper/b.png', 2, 'png');
  await put('golden_retriever/c.webp', 3, 'webp');
  await put('café au lait/ünïcödé name.gif', 4, 'gif');
  await put('café au lait/with space.tiff', 5, 'tiff');
  await put('café au lait/bitmap.bmp', 6, 'bmp');
  await put('sea-lion/x.png', 7, 'png');
  await put('sea-lion/y.png', 8, 'png');
  // Exact duplicate of a.jpg in another class.
  fs.copyFileSync(path.join(root, 'golden_retriever/a.jpg'), path.join(root, 'sea-lion/a copy.jpg'));
  files['sea-lion/a copy.jpg'] = files['golden_retriever/a.jpg'];
  // Bad files.
  const jpeg = await encodeImage(9, 'jpeg', 64, 64);
  fs.writeFileSync(path.join(root, 'sea-lion/truncated.jpg'), jpeg.subarray(0, Math.floor(jpeg.length / 2)));
  fs.writeFileSync(path.join(root, 'sea-lion/empty.png'), Buffer.alloc(0));
  fs.writeFileSync(path.join(root, 'sea-lion/notes.txt'), 'not an image');
  fs.writeFileSync(path.join(root, 'stray.png'), await encodeImage(10, 'png'));
  fs.writeFileSync(path.join(root, 'sea-lion/.DS_Store'), 'hidden');
  return files;
}

describe('folder import', () => {
  it('imports nested, unicode, every format; reports bad files; hashes, sizes, thumbnails, classes', async () => {
    const dir = tempDir();
    const data = path.join(dir, 'DATA');
    const files = await messyFolder(data);
    const store = openStore(dir);

    const summary = await importFolder(store, data);
    expect(summary.layout).toBe('classes');
    expect(summary.added).toBe(Object.keys(files).length);
    expect(summary.images).toBe(9);
    expect(summary.classes).toBe(3);
    expect(summary.skipped.map((s) => s.path)).toEqual(['sea-lion/empty.png', 'sea-lion/notes.txt', 'sea-lion/truncated.jpg', 'stray.png']);
    const reason = (p: string) => summary.skipped.find((s) => s.path === p)!.reason;
    expect(reason('sea-lion/empty.png')).toBe('empty file');
    expect(reason('sea-lion/notes.txt')).toMatch(/^not an image/);
    expect(reason('sea-lion/truncated.jpg')).toMatch(/^corrupt jpeg: /);
    expect(reason('stray.png')).toBe('not inside a class folder');

    const classes = store.listClasses(summary.datasetId);
    expect(classes.map((c) => [c.folder, c.promptName])).toEqual([
      ['café au lait', 'café au lait'],
      ['golden_retriever', 'golden retriever'],
      ['sea-lion', 'sea lion'],
    ]);
    const images = store.listImages(summary.datasetId);
    expect(images.map((i) => i.path).sort()).toEqual(Object.keys(files).sort());
    for (const image of images) {
      const bytes = files[image.path];
      expect(image.sha256).toBe(crypto.createHash('sha256').update(bytes).digest('hex'));
      expect([image.width, image.height]).toEqual([40, 32]);
      expect(fs.existsSync(thumbnailFile(store.thumbnailDir!, image.sha256))).toBe(true);
      expect(fs.existsSync(store.imageFile(image))).toBe(true);
    }
    expect(new Set(images.map((i) => i.format))).toEqual(new Set(['jpeg', 'png', 'webp', 'gif', 'tiff', 'bmp']));
    const dupes = exactDuplicateGroups(store, summary.datasetId);
    expect(dupes).toHaveLength(1);
    expect(dupes[0].imageIds.map((id) => store.getImage(id).path).sort()).toEqual(['golden_retriever/a.jpg', 'sea-lion/a copy.jpg']);
    expect(store.getDataset(summary.datasetId).lastImport).toMatchObject({ added: 9, images: 9 });

    // Running it again finds nothing to do.
    const again = await importFolder(store, data);
    expect(again).toMatchObject({ added: 0, changed: 0, moved: 0, removed: 0, restored: 0, unchanged: 9 });
  });

  it('keeps exclusions, relabels, split moves and prompt names across moves, renames, deletions and edits', async () => {
    const dir = tempDir();
    const data = path.join(dir, 'DATA');
    await makeClassFolder(data, { cat: 4, dog: 4, fox: 2 });
    const store = openStore(dir);
    const { datasetId } = await importFolder(store, data);
    const byPath = () => new Map(store.listImages(datasetId, { includeExcluded: true, includeMissing: true }).map((i) => [i.path, i]));
    const dog = store.findClassByFolder(datasetId, 'dog')!;
    const cat = store.findClassByFolder(datasetId, 'cat')!;
    const fox = store.findClassByFolder(datasetId, 'fox')!;

    let rows = byPath();
    const renamedId = rows.get('cat/img_000.png')!.id;
    const movedId = rows.get('cat/img_001.png')!.id;
    const deletedId = rows.get('dog/img_000.png')!.id;
    const editedId = rows.get('dog/img_001.png')!.id;
    setExcluded(store, [renamedId], true);
    relabel(store, [movedId], fox.id);
    moveToSplit(store, [deletedId], 'test');
    renamePrompt(store, dog.id, 'small dog');
    store.db.prepare('INSERT INTO models (folder, weights_sha256, cache_key, config_json, registered_at) VALUES (?, ?, ?, ?, ?)').run('/m', 'w', 'k', '{}', 0);
    const insertFeature = store.db.prepare('INSERT INTO features (model_id, view, image_id, data) VALUES (1, 0, ?, ?)');
    for (const id of [renamedId, movedId, editedId]) insertFeature.run(id, Buffer.alloc(8));

    fs.renameSync(path.join(data, 'cat/img_000.png'), path.join(data, 'cat/renamed ✓.png'));
    fs.mkdirSync(path.join(data, 'dog/sub'));
    fs.renameSync(path.join(data, 'cat/img_001.png'), path.join(data, 'dog/sub/img_001.png'));
    fs.rmSync(path.join(data, 'dog/img_000.png'));
    await writeImage(path.join(data, 'dog/img_001.png'), 999);
    await writeImage(path.join(data, 'fox/new.png'), 1000);

    const summary = await importFolder(store, data);
    expect(summary).toMatchObject({ added: 1, changed: 1, moved: 2, removed: 1, restored: 0, unchanged: 6 });
    rows = byPath();
    const renamed = store.getImage(renamedId);
    expect(renamed.path).toBe('cat/renamed ✓.png');
    expect(renamed.excluded).toBe(true);
    const moved = store.getImage(movedId);
    expect(moved.path).toBe('dog/sub/img_001.png');
    expect(moved.folderClassId).toBe(dog.id);
    expect(moved.classId).toBe(fox.id); // the user's relabel wins over the new folder
    const deleted = store.getImage(deletedId);
    expect(deleted.missing).toBe(true);
    expect(store.listImages(datasetId).some((i) => i.id === deletedId)).toBe(false);
    const edited = store.getImage(editedId);
    expect(edited.path).toBe('dog/img_001.png');
    const featureImages = (store.db.prepare('SELECT image_id FROM features').all() as { image_id: number }[]).map((r) => r.image_id).sort();
    expect(featureImages).toEqual([renamedId, movedId].sort()); // the edited file's features are stale, the moved ones are not
    expect(store.getClass(dog.id).promptName).toBe('small dog');
    expect(store.getClass(cat.id).promptName).toBe('cat');

    // The deleted file comes back under another name: same row, its split move intact.
    await writeImage(path.join(data, 'dog/back again.png'), 5); // seed 5 = dog/img_000.png's pixels
    const back = await importFolder(store, data);
    expect(back).toMatchObject({ restored: 1, added: 0, removed: 0 });
    const restored = store.getImage(deletedId);
    expect(restored).toMatchObject({ path: 'dog/back again.png', missing: false, split: 'test', splitOverridden: true });
  });

  it('takes splits from train/ and test/ folders', async () => {
    const dir = tempDir();
    const data = path.join(dir, 'DATA');
    await makeClassFolder(path.join(data, 'train'), { ant: 3, bee: 2 }, 1);
    await makeClassFolder(path.join(data, 'test'), { ant: 1, bee: 2 }, 100);
    fs.writeFileSync(path.join(data, 'README.txt'), 'about this data');
    const store = openStore(dir);
    const summary = await importFolder(store, data);
    expect(summary.layout).toBe('splits');
    expect(summary.skipped).toEqual([{ path: 'README.txt', reason: 'not inside train/<class>/ or test/<class>/' }]);
    const counts = classCounts(store, summary.datasetId);
    expect(counts.map((c) => [c.folder, c.train, c.test])).toEqual([
      ['ant', 3, 1],
      ['bee', 2, 2],
    ]);
    expect(store.getImage(store.listImages(summary.datasetId, { split: 'test' })[0].id).path).toMatch(/^test\//);
  });

  it('reports an empty class folder instead of dropping it silently, in both layouts', async () => {
    const dir = tempDir();
    const flat = path.join(dir, 'FLAT');
    await makeClassFolder(flat, { ant: 2 }, 1);
    fs.mkdirSync(path.join(flat, 'wasp'));
    const store = openStore(dir);
    const summary = await importFolder(store, flat);
    expect(summary.skipped).toEqual([{ path: 'wasp/', reason: 'class folder has no files' }]);
    expect(summary.classes).toBe(1);

    const split = path.join(dir, 'SPLIT');
    await makeClassFolder(path.join(split, 'train'), { ant: 2 }, 1);
    await makeClassFolder(path.join(split, 'test'), { ant: 1 }, 9);
    fs.mkdirSync(path.join(split, 'test', 'wasp'));
    const other = ProjectStore.open(path.join(dir, 'other.lamm'));
    const second = await importFolder(other, split);
    expect(second.skipped).toEqual([{ path: 'test/wasp/', reason: 'class folder has no files' }]);
    other.close();
  });

  it('splits class folders by a seeded, stratified, stable ranking', async () => {
    const dir = tempDir();
    const data = path.join(dir, 'DATA');
    await makeClassFolder(data, { a: 10, b: 7, c: 1 });
    const store = openStore(dir);
    const { datasetId } = await importFolder(store, data);
    const testIds = () =>
      store
        .listImages(datasetId, { split: 'test' })
        .map((i) => i.id)
        .sort((x, y) => x - y);
    const counts = classCounts(store, datasetId);
    expect(counts.map((c) => [c.folder, c.test, c.train])).toEqual([
      ['a', testCount(10, 0.2), 8],
      ['b', testCount(7, 0.2), 6],
      ['c', 0, 1],
    ]);
    const first = testIds();

    // Another seed draws another split; the same seed gives the same one back.
    expect(setSeededSplit(store, datasetId, { seed: 7 })).toBeGreaterThan(0);
    expect(testIds()).not.toEqual(first);
    setSeededSplit(store, datasetId, { seed: 0 });
    expect(testIds()).toEqual(first);
    await importFolder(store, data); // a re-import keeps the seeded split
    expect(testIds()).toEqual(first);
    setSeededSplit(store, datasetId, { testFraction: 0.5 });
    expect(classCounts(store, datasetId).map((c) => c.test)).toEqual([5, testCount(7, 0.5), 0]);
    setSeededSplit(store, datasetId, { testFraction: 0.2 });
    expect(testIds()).toEqual(first);
    expect(() => setSeededSplit(store, datasetId, { testFraction: 1 })).toThrow('test fraction must be in [0, 1), got 1');

    // New images move at most the images at the cut, never the whole test set.
    await writeImage(path.join(data, 'a', 'new.png'), 4242);
    await importFolder(store, data);
    const after = new Set(testIds());
    expect(first.filter((id) => after.has(id)).length).toBeGreaterThanOrEqual(first.length - 1);

    // Excluding images does not move the others; user moves stay put.
    setExcluded(store, [first[0]], true);
    const trainId = store.listImages(datasetId, { split: 'train' })[0].id;
    moveToSplit(store, [trainId], 'test');
    await importFolder(store, data);
    expect(
      store
        .listImages(datasetId, { split: 'test', includeExcluded: true })
        .map((i) => i.id)
        .sort((x, y) => x - y),
    ).toEqual([...first, trainId].sort((x, y) => x - y));
  });

  it('selects K shots per class with a seed, and names the class when K is too large', async () => {
    const dir = tempDir();
    const data = path.join(dir, 'DATA');
    await makeClassFolder(data, { big: 12, small: 5 });
    const store = openStore(dir);
    const { datasetId } = await importFolder(store, data);
    const a = selectShots(store, datasetId, { shots: 3, seed: 1 });
    expect(a.classes.map((c) => c.imageIds.length)).toEqual([3, 3]);
    for (const c of a.classes) {
      for (const id of c.imageIds) expect(store.getImage(id)).toMatchObject({ classId: c.classId, split: 'train', excluded: false });
    }
    expect(selectShots(store, datasetId, { shots: 3, seed: 1 })).toEqual(a);
    expect(selectShots(store, datasetId, { shots: 3, seed: 2 }).classes[0].imageIds).not.toEqual(a.classes[0].imageIds);
    // An excluded image is never drawn.
    setExcluded(store, [a.classes[0].imageIds[0]], true);
    expect(selectShots(store, datasetId, { shots: 3, seed: 1 }).classes[0].imageIds).not.toContain(a.classes[0].imageIds[0]);
    const smallTrain = classCounts(store, datasetId).find((c) => c.folder === 'small')!.train;
    expect(() => selectShots(store, datasetId, { shots: smallTrain + 1, seed: 1 })).toThrow(
      `class "small" has ${smallTrain} training images, fewer than the ${smallTrain + 1} shots asked for`,
    );
    expect(() => selectShots(store, datasetId, { shots: 0, seed: 1 })).toThrow(/positive integer/);
  });

  it('stops between files when cancelled, keeps what was done, and a re-run finishes', async () => {
    const dir = tempDir();
    const data = path.join(dir, 'DATA');
    await makeClassFolder(data, { a: 20, b: 20 });
    const store = openStore(dir);
    const controller = new AbortController();
    const ctx = {
      signal: controller.signal,
      progress: (p: { done: number }) => {
        if (p.done === 10) controller.abort();
      },
    };
    await expect(importFolder(store, data, { batchSize: 4, concurrency: 2 }, ctx)).rejects.toBeInstanceOf(CancelledError);
    const partial = (store.db.prepare('SELECT COUNT(*) AS n FROM images').get() as { n: number }).n;
    expect(partial).toBeGreaterThanOrEqual(10);
    expect(partial).toBeLessThan(40);
    const summary = await importFolder(store, data);
    expect(summary.added + summary.unchanged).toBe(40);
    expect(summary.unchanged).toBe(partial);
    expect(summary.images).toBe(40);
  });

  it('remakes lost thumbnails: on re-import, and with ensureThumbnails; a project inside its data folder ignores itself', async () => {
    const dir = tempDir();
    const data = path.join(dir, 'DATA');
    await makeClassFolder(data, { a: 3, b: 2 });
    const store = open(path.join(data, 'inside.lamm')); // the project lives in the data folder
    const first = await importFolder(store, data);
    expect(first).toMatchObject({ images: 5, classes: 2, skipped: [] });
    const images = store.listImages(first.datasetId);
    const thumb = (i: number) => thumbnailFile(store.thumbnailDir!, images[i].sha256);

    fs.rmSync(thumb(0));
    const again = await importFolder(store, data);
    expect(again).toMatchObject({ unchanged: 5, added: 0, changed: 0, skipped: [] });
    expect(fs.existsSync(thumb(0))).toBe(true);

    fs.rmSync(store.thumbnailDir!, { recursive: true });
    const made = await ensureThumbnails(store, first.datasetId);
    expect(made).toEqual({ made: 5, existing: 0, failed: [] });
    expect(images.every((_, i) => fs.existsSync(thumb(i)))).toBe(true);
    expect(await ensureThumbnails(store, first.datasetId)).toEqual({ made: 0, existing: 5, failed: [] });
    const meta = await sharp(thumb(0)).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['webp', 40, 32]); // never enlarged
  });

  it('rejects a missing folder and bad edits with one-line errors', async () => {
    const dir = tempDir();
    const store = openStore(dir);
    await expect(importFolder(store, path.join(dir, 'nope'))).rejects.toThrow(/^data folder not found: /);
    const data = path.join(dir, 'DATA');
    await makeClassFolder(data, { a: 2 });
    const { datasetId } = await importFolder(store, data);
    const a = store.listClasses(datasetId)[0];
    expect(() => renamePrompt(store, a.id, '   ')).toThrow('a prompt name cannot be empty');
    expect(() => setExcluded(store, [123456], true)).toThrow('image 123456 does not exist in this project');
    expect(() => relabel(store, [store.listImages(datasetId)[0].id], 98765)).toThrow('class 98765 does not exist in this project');
  });
});
