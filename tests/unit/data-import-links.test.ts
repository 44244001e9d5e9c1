// Folders people make without copying data (symbolic links to class folders, to test/), links
// that loop, and file names that are not UTF-8 (a JavaScript string cannot hold them, so they
// cannot be opened by name later): each is imported, or named in the import report, never
// skipped silently or reported as a "broken link".
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { classCounts } from '../../src-main/data/curation';
import { importFolder } from '../../src-main/data/import';
import { makeClassFolder, storesClosedAfterEach, tempDir, writeImage } from './data-fixtures';

const open = storesClosedAfterEach();
const openStore = (dir: string) => open(path.join(dir, 'project.lamm'));

describe('links in the data folder', () => {
  it('follows a class folder that is a symbolic link (flat layout)', async () => {
    const dir = tempDir();
    const data = path.join(dir, 'DATA');
    await makeClassFolder(data, { ant: 2 }, 1);
    await makeClassFolder(path.join(dir, 'elsewhere'), { bee: 3 }, 10);
    fs.symlinkSync(path.join(dir, 'elsewhere', 'bee'), path.join(data, 'bee'));
    const store = openStore(dir);
    const summary = await importFolder(store, data);
    expect(summary.skipped).toEqual([]);
    expect(classCounts(store, summary.datasetId).map((c) => [c.folder, c.total])).toEqual([
      ['ant', 2],
      ['bee', 3],
    ]);
    const bee = store.listImages(summary.datasetId).filter((i) => i.path.startsWith('bee/'));
    expect(bee).toHaveLength(3);
    for (const image of bee) expect(fs.existsSync(store.imageFile(image))).toBe(true);
  });

  it('follows a test/ folder that is a symbolic link (split layout)', async () => {
    const dir = tempDir();
    const data = path.join(dir, 'DATA');
    await makeClassFolder(path.join(data, 'train'), { ant: 3, bee: 2 }, 1);
    await makeClassFolder(path.join(dir, 'shared-test'), { ant: 1, bee: 2 }, 100);
    fs.symlinkSync(path.join(dir, 'shared-test'), path.join(data, 'test'));
    const store = openStore(dir);
    const summary = await importFolder(store, data);
    expect(summary.layout).toBe('splits');
    expect(summary.skipped).toEqual([]);
    expect(classCounts(store, summary.datasetId).map((c) => [c.folder, c.train, c.test])).toEqual([
      ['ant', 3, 1],
      ['bee', 2, 2],
    ]);
  });

  it('also when train/ alone is a link and the link names a relative path', async () => {
    const dir = tempDir();
    const data = path.join(dir, 'DATA');
    await makeClassFolder(path.join(dir, 'real-train'), { ant: 2 }, 1);
    await makeClassFolder(path.join(data, 'test'), { ant: 1 }, 50);
    fs.symlinkSync(path.join('..', 'real-train'), path.join(data, 'train'));
    const store = openStore(dir);
    const summary = await importFolder(store, data);
    expect(summary.layout).toBe('splits');
    expect(classCounts(store, summary.datasetId).map((c) => [c.folder, c.train, c.test])).toEqual([['ant', 2, 1]]);
  });

  it('stops at a link that loops, and counts a folder linked twice once, saying so', async () => {
    const dir = tempDir();
    const data = path.join(dir, 'DATA');
    await makeClassFolder(data, { ant: 2, bee: 2 }, 1);
    fs.symlinkSync('..', path.join(data, 'ant', 'up')); // ant/up/ant/up/... forever
    fs.symlinkSync('.', path.join(data, 'bee', 'self'));
    fs.symlinkSync(path.join(data, 'bee'), path.join(data, 'wasp')); // the same folder under a second name
    fs.symlinkSync(path.join(dir, 'nowhere'), path.join(data, 'gone')); // a broken link stays one
    const store = openStore(dir);
    const summary = await importFolder(store, data);
    expect(summary.images).toBe(4);
    expect(store.listImages(summary.datasetId).map((i) => i.path)).toEqual(['ant/img_000.png', 'ant/img_001.png', 'bee/img_000.png', 'bee/img_001.png']);
    expect(summary.skipped).toEqual([
      { path: 'ant/up', reason: 'link to a folder that contains it (a loop): not followed' },
      { path: 'bee/self', reason: 'link to a folder that contains it (a loop): not followed' },
      { path: 'gone', reason: 'unreadable: broken link' },
      { path: 'wasp', reason: 'link to a folder already imported as bee: its files are counted once' },
    ]);
  });
});

describe('file names that are not UTF-8', () => {
  it('reports them as such, by their bytes, and imports the rest', async () => {
    const dir = tempDir();
    const data = path.join(dir, 'DATA');
    await makeClassFolder(data, { ant: 2 }, 1);
    const png = await writeImage(path.join(dir, 'x.png'), 5);
    const under = (rel: string, bytes: number[]) => Buffer.concat([Buffer.from(`${path.join(data, rel)}/`), Buffer.from(bytes)]);
    fs.writeFileSync(under('ant', [0x62, 0xff, 0x2e, 0x70, 0x6e, 0x67]), png); // "b\xff.png"
    fs.mkdirSync(under('ant', [0x64, 0xe9, 0x6a, 0xe0])); // "d\xe9j\xe0": Latin-1, not UTF-8
    fs.writeFileSync(Buffer.concat([under('ant', [0x64, 0xe9, 0x6a, 0xe0]), Buffer.from('/inside.png')]), png);
    fs.mkdirSync(under('', [0xc3, 0x28])); // a class folder with an invalid two-byte sequence
    fs.writeFileSync(Buffer.concat([under('', [0xc3, 0x28]), Buffer.from('/c.png')]), png);
    fs.writeFileSync(under('ant', [0x2e, 0xff]), 'hidden, ignored like every dot file');
    const store = openStore(dir);
    const summary = await importFolder(store, data);
    expect(summary.images).toBe(2);
    expect(summary.skipped).toEqual([
      { path: '\\xc3(', reason: 'folder name is not valid UTF-8 (rename it to import what it holds)' },
      { path: 'ant/b\\xff.png', reason: 'name is not valid UTF-8 (rename the file to import it)' },
      { path: 'ant/d\\xe9j\\xe0', reason: 'folder name is not valid UTF-8 (rename it to import what it holds)' },
    ]);
    expect(summary.skipped.some((s) => /broken link/.test(s.reason))).toBe(false);
  });
});
