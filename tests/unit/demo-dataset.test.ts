// The demo dataset: recipe checks, the committed recipe's plain/jargon split, and generation
// into an ImageFolder that reproduces the rendered pixels and never overwrites user folders.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeImage } from '../../src-main/clip/preprocess';
import {
  DEMO_MARKER_FILE,
  DEMO_RECIPE_FILE,
  generateDemoDataset,
  loadRecipe,
  parseRecipe,
  promptName,
  renderDatasetImage,
  type DemoRecipe,
} from '../../src-main/demo/dataset';
import { nameKind } from '../../src-main/demo/evaluate';
import { RARE_WORDS } from '../../src-main/demo/vocabulary';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lamm-demo-data-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const TINY: DemoRecipe = {
  name: 'tiny',
  seed: 3,
  imageSize: 16,
  perClass: { train: 2, test: 1 },
  classes: [
    { folder: 'red_circle', colour: 'red', shape: 'circle' },
    { folder: 'gules_lozenge', colour: 'red', shape: 'diamond' },
  ],
};

describe('demo recipe', () => {
  it('rejects bad recipes with a one-line reason', () => {
    const bad = (change: (r: any) => void) => {
      const r = structuredClone(TINY) as any;
      change(r);
      return () => parseRecipe(r);
    };
    expect(bad((r) => (r.classes[0].colour = 'mauve'))).toThrow(/unknown colour "mauve"/);
    expect(bad((r) => (r.classes[1].shape = 'blob'))).toThrow(/unknown shape "blob"/);
    expect(bad((r) => (r.classes[1].folder = 'red_circle'))).toThrow(/appears twice/);
    expect(bad((r) => (r.classes[1] = { ...r.classes[0], folder: 'other' }))).toThrow(/both a red circle/);
    expect(bad((r) => (r.classes[0].folder = '../escape'))).toThrow(/lower-case letters/);
    expect(bad((r) => (r.perClass.test = 0))).toThrow(/perClass.test/);
    expect(bad((r) => r.classes.pop())).toThrow(/at least two classes/);
    expect(() => loadRecipe(path.join(tmp, 'missing.json'))).toThrow(/not found/);
  });

  it('commits a recipe with plain and jargon names, every jargon word a rare vocabulary word', () => {
    const recipe = loadRecipe(DEMO_RECIPE_FILE);
    const kinds = recipe.classes.map(nameKind);
    expect(kinds.filter((k) => k === 'plain').length).toBeGreaterThanOrEqual(3);
    expect(kinds.filter((k) => k === 'jargon').length).toBeGreaterThanOrEqual(3);
    for (const c of recipe.classes.filter((c) => nameKind(c) === 'jargon')) {
      for (const w of promptName(c).split(' ')) expect(RARE_WORDS, `${c.folder}: ${w}`).toContain(w);
    }
  });
});

describe('generateDemoDataset', () => {
  it('writes train/<class>/*.png and test/<class>/*.png holding the rendered pixels', async () => {
    const dir = path.join(tmp, 'data');
    const result = await generateDemoDataset(dir, TINY);
    expect(result).toEqual({ dir, classes: 2, images: { train: 4, test: 2 }, written: true });
    expect(fs.readdirSync(path.join(dir, 'train')).sort()).toEqual(['gules_lozenge', 'red_circle']);
    expect(fs.readdirSync(path.join(dir, 'train', 'red_circle'))).toHaveLength(2);
    expect(fs.readdirSync(path.join(dir, 'test', 'gules_lozenge'))).toHaveLength(1);
    const file = path.join(dir, 'train', 'gules_lozenge', fs.readdirSync(path.join(dir, 'train', 'gules_lozenge')).sort()[1]);
    const img = await decodeImage(file);
    expect([img.width, img.height]).toEqual([16, 16]);
    expect(Buffer.from(img.data).equals(Buffer.from(renderDatasetImage(TINY, 'train', TINY.classes[1], 1)))).toBe(true);
    expect(fs.existsSync(path.join(dir, DEMO_MARKER_FILE))).toBe(true);
    expect(fs.readdirSync(tmp).some((f) => f.includes('.partial-'))).toBe(false);
  });

  it('reuses a folder holding the same recipe and replaces one holding another', async () => {
    const dir = path.join(tmp, 'reuse');
    await generateDemoDataset(dir, TINY);
    expect((await generateDemoDataset(dir, TINY)).written).toBe(false);
    expect((await generateDemoDataset(dir, TINY, { force: true })).written).toBe(true);
    const changed = { ...TINY, perClass: { train: 1, test: 1 } };
    expect((await generateDemoDataset(dir, changed)).written).toBe(true);
    expect(fs.readdirSync(path.join(dir, 'train', 'red_circle'))).toHaveLength(1);
  });

  it('refuses a non-empty folder that is not a demo dataset and leaves it untouched', async () => {
    const dir = path.join(tmp, 'mine');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'keep me');
    await expect(generateDemoDataset(dir, TINY)).rejects.toThrow(/not empty and is not a demo dataset/);
    await expect(generateDemoDataset(dir, TINY, { force: true })).rejects.toThrow(/not empty/);
    expect(fs.readdirSync(dir)).toEqual(['notes.txt']);
  });
});
