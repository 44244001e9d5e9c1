// Access to ../shared/golden (conformance data). A fresh clone without ../shared skips these tests.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const GOLDEN_DIR = process.env.LAMM_GOLDEN_DIR ?? path.resolve(REPO_ROOT, '../shared/golden');
export const GOLDEN_MODEL_DIR = path.join(GOLDEN_DIR, 'tiny-random-clip');
export const GOLDEN_IMAGES_DIR = path.join(GOLDEN_DIR, 'images');
export const HAS_GOLDEN = fs.existsSync(path.join(GOLDEN_DIR, 'golden.json'));

if (!HAS_GOLDEN) {
  console.warn(`[conformance] skipped: ${GOLDEN_DIR} is absent (it lives in ../shared beside the checkout)`);
}

export interface Golden {
  tokenize: { text: string; ids: number[] }[];
  text: { text: string; embedding: number[] }[];
  images: { file: string; embedding: number[] }[];
  images_resized: { file: string; embedding: number[]; pixel_mean: number; pixel_std: number }[];
  lamm_loss: {
    classnames: string[];
    template: string;
    prompt_ids: number[][];
    label_start: number;
    min_len: number;
    lambda: { wc: number; cos: number; kd: number; T: number };
    label_embeddings: number[][][];
    image_features: number[][];
    labels: number[];
    terms: { total: number; ce: number; wc: number; cos: number; kd: number };
    grad: number[][][];
  };
  logit_scale: number;
}

let cached: Golden | null = null;
export function loadGolden(): Golden {
  cached ??= JSON.parse(fs.readFileSync(path.join(GOLDEN_DIR, 'golden.json'), 'utf8')) as Golden;
  return cached;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** The loss conformance's tolerance: 1e-4 relative. */
export const RELATIVE = 1e-4;

/**
 * Every element within 1e-4 of its own size (floored at a tenth of the tensor's largest
 * element: float32 summation order alone moves elements near zero by ~1e-6 of the largest, on
 * every backend and kernel), and the worst error within 1e-5 of the largest element.
 */
export function expectRelativeClose(actual: ArrayLike<number>, expected: number[], what: string): void {
  expect(actual.length, what).toBe(expected.length);
  const scale = Math.max(...expected.map(Math.abs));
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const error = Math.abs(actual[i] - expected[i]);
    worst = Math.max(worst, error);
    const tolerance = RELATIVE * Math.max(Math.abs(expected[i]), scale * 1e-1);
    expect(error, `${what}[${i}]: ${actual[i]} vs ${expected[i]}`).toBeLessThanOrEqual(tolerance);
  }
  expect(worst / scale, `${what}: worst error relative to the largest element`).toBeLessThanOrEqual(RELATIVE / 10);
}
