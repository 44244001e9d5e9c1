// CLIP conformance: text and image features equal the reference (../shared/golden) to 1e-4,
// through the library and through the `lamm` CLI.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { embedImages, embedTexts, loadClip, type ClipModel } from '../../src-main/clip';
import { GOLDEN_IMAGES_DIR, GOLDEN_MODEL_DIR, HAS_GOLDEN, REPO_ROOT, loadGolden, maxAbsDiff } from '../helpers/golden';

const TOLERANCE = 1e-4;
const LAMM_BIN = path.join(REPO_ROOT, 'bin/lamm.js');

function lammJson(args: string[]): any {
  const stdout = execFileSync(process.execPath, [LAMM_BIN, ...args, '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return JSON.parse(stdout);
}

describe.skipIf(!HAS_GOLDEN)('CLIP embeddings match the reference', () => {
  let model: ClipModel;
  beforeAll(async () => {
    model = await loadClip(GOLDEN_MODEL_DIR);
  });
  afterAll(() => model?.dispose());

  it('reads the stored logit scale', () => {
    expect(model.logitScale).toBeCloseTo(loadGolden().logit_scale, 6);
  });

  it('text features (library)', async () => {
    const cases = loadGolden().text;
    const got = await embedTexts(
      model,
      cases.map((c) => c.text),
    );
    cases.forEach((c, i) => expect(maxAbsDiff(got[i], c.embedding), c.text).toBeLessThan(TOLERANCE));
  });

  it('image features at model size and after resize + crop (library)', async () => {
    const cases = [...loadGolden().images, ...loadGolden().images_resized];
    const got = await embedImages(
      model,
      cases.map((c) => path.join(GOLDEN_IMAGES_DIR, c.file)),
    );
    cases.forEach((c, i) => expect(maxAbsDiff(got[i], c.embedding), c.file).toBeLessThan(TOLERANCE));
  });

  it('text features (CLI)', () => {
    const cases = loadGolden().text;
    const out = lammJson(['embed-text', '--model', GOLDEN_MODEL_DIR, ...cases.map((c) => c.text)]);
    expect(out.embeddings).toHaveLength(cases.length);
    cases.forEach((c, i) => expect(maxAbsDiff(out.embeddings[i], c.embedding), c.text).toBeLessThan(TOLERANCE));
  });

  it('image features (CLI)', () => {
    const cases = [...loadGolden().images, ...loadGolden().images_resized];
    const out = lammJson(['embed-image', '--model', GOLDEN_MODEL_DIR, ...cases.map((c) => path.join(GOLDEN_IMAGES_DIR, c.file))]);
    cases.forEach((c, i) => expect(maxAbsDiff(out.embeddings[i], c.embedding), c.file).toBeLessThan(TOLERANCE));
  });

  it('token ids (CLI)', () => {
    const cases = loadGolden().tokenize.filter((c) => !c.text.includes('&'));
    const out = lammJson(['tokenize', '--model', GOLDEN_MODEL_DIR, ...cases.map((c) => c.text)]);
    expect(out.ids).toEqual(cases.map((c) => c.ids));
  });
});
