// A tiny generated image dataset and project for the lamm/export/jobs tests: solid-colour
// squares with a little seeded noise, one colour per class, imported into a fresh project.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { mulberry32 } from '../../src-main/clip/random';
import { TINY_SPEC, writeSyntheticClip } from '../../src-main/clip/synthetic';
import { importFolder } from '../../src-main/data/import';
import { ProjectStore } from '../../src-main/data/store';

export const FIXTURE_CLASSES: { folder: string; rgb: [number, number, number] }[] = [
  { folder: 'red_circle', rgb: [220, 30, 30] },
  { folder: 'green_field', rgb: [30, 200, 40] },
  { folder: 'blue_sky', rgb: [40, 60, 230] },
  { folder: 'yellow_sun', rgb: [230, 220, 40] },
];

/**
 * Feature-like rows: C Gaussian clusters of n points each in P dimensions (centres and noise
 * drawn from `normal`, in that order), scaled by 1/scale and put on the unit sphere. Labels i % C.
 */
export function unitClusters(normal: () => number, C: number, n: number, P: number, spread: number, scale = 1): { x: Float32Array; labels: Int32Array } {
  const centres = Array.from({ length: C }, () => Array.from({ length: P }, normal));
  const x = new Float32Array(C * n * P);
  const labels = new Int32Array(C * n);
  for (let i = 0; i < C * n; i++) {
    labels[i] = i % C;
    let norm = 0;
    for (let d = 0; d < P; d++) {
      const v = centres[labels[i]][d] / scale + (spread * normal()) / scale;
      x[i * P + d] = v;
      norm += v * v;
    }
    for (let d = 0; d < P; d++) x[i * P + d] /= Math.sqrt(norm);
  }
  return { x, labels };
}

/** `rows` seeded image-feature-like rows of `width` (uniform in [-0.5, 0.5), then L2-normalised). */
export function randomUnitRows(seed: number, rows: number, width: number): tf.Tensor2D {
  const random = mulberry32(seed);
  return tf.tidy(() => {
    const x = tf.tensor2d(
      Float32Array.from({ length: rows * width }, () => random() - 0.5),
      [rows, width],
    );
    return tf.div(x, tf.norm(x, 'euclidean', 1, true)) as tf.Tensor2D;
  });
}

/** A trainable copy of `start` moved by seeded Gaussian noise of standard deviation `scale`, so every loss term has a gradient. */
export function perturbedVariable<R extends tf.Rank>(start: tf.Tensor<R>, scale: number, seed: number): tf.Variable<R> {
  return tf.variable<R>(tf.tidy(() => tf.add(start, tf.mul(scale, tf.randomNormal(start.shape, 0, 1, 'float32', seed)))));
}

export async function writeImageFolder(root: string, perClass: number, classes = FIXTURE_CLASSES, size = 40, seed = 1): Promise<void> {
  const random = mulberry32(seed);
  for (const c of classes) {
    fs.mkdirSync(path.join(root, c.folder), { recursive: true });
    for (let i = 0; i < perClass; i++) {
      const pixels = Buffer.alloc(size * size * 3);
      for (let p = 0; p < size * size; p++)
        for (let ch = 0; ch < 3; ch++) pixels[p * 3 + ch] = Math.max(0, Math.min(255, c.rgb[ch] + Math.round((random() - 0.5) * 80)));
      await sharp(pixels, { raw: { width: size, height: size, channels: 3 } })
        .png()
        .toFile(path.join(root, c.folder, `${i}.png`));
    }
  }
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `lamm-${prefix}-`));
}

/** A project file with the image folder imported; returns the store (caller closes it). */
export async function makeProject(dir: string, perClass: number, classes = FIXTURE_CLASSES): Promise<{ store: ProjectStore; dbFile: string; dataDir: string }> {
  const dataDir = path.join(dir, 'data');
  await writeImageFolder(dataDir, perClass, classes);
  const dbFile = path.join(dir, 'project.lamm');
  const store = ProjectStore.open(dbFile);
  await importFolder(store, dataDir, { thumbnails: false });
  return { store, dbFile, dataDir };
}

/** A tiny random CLIP folder (byte-level vocabulary) for tests that need no real weights. */
export function makeTinyModel(dir: string, seed = 3): string {
  const folder = path.join(dir, `tiny-clip-${seed}`);
  writeSyntheticClip(folder, { ...TINY_SPEC, seed });
  return folder;
}

/** Row counts of every table, to show what a failed job did not touch. */
export function tableCounts(store: ProjectStore): Record<string, number> {
  const tables = store.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[];
  return Object.fromEntries(tables.map(({ name }) => [name, (store.db.prepare(`SELECT COUNT(*) AS n FROM "${name}"`).get() as { n: number }).n]));
}
