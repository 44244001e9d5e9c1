// bench/encode: text prompts/s and images/s of a ViT-B/32-sized CLIP with random weights
// (written here in the HF layout) on the chosen backend. Prints ratios against baselines run
// in the same process: prompts cut to their length vs padded to 77 tokens.
// Usage: npx tsx bench/encode.ts [--texts N] [--images N] [--size b32|b16] [--backend NAME]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { describeBackend, initBackend } from '../src-main/backend';
import { loadClip, tokenizeForModel } from '../src-main/clip';
import { VIT_B16_SPEC, VIT_B32_SPEC, writeSyntheticClip } from '../src-main/clip/synthetic';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const flag = (name: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const SIZE = flag('size') ?? 'b32';
if (SIZE !== 'b32' && SIZE !== 'b16') throw new Error(`--size must be b32 or b16, got ${SIZE}`);
const SPEC = SIZE === 'b16' ? VIT_B16_SPEC : VIT_B32_SPEC;
const NAME = SIZE === 'b16' ? 'ViT-B/16' : 'ViT-B/32';
const TEXTS = arg('texts', 64);
const IMAGES = arg('images', 16);
const REAL_VOCAB = path.resolve(import.meta.dirname, '../../shared/golden/tiny-random-clip');

const backend = await initBackend(flag('backend') ?? process.env.LAMM_BACKEND);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lamm-bench-encode-'));
writeSyntheticClip(dir, { ...SPEC, seed: 1, vocabFrom: fs.existsSync(path.join(REAL_VOCAB, 'vocab.json')) ? REAL_VOCAB : undefined });
const model = await loadClip(dir, { textInputGradients: false });

const prompts = Array.from(
  { length: TEXTS },
  (_, i) => `a photo of a ${['dog', 'red circle', 'annual crop land', 'x-ray of a left lung'][i % 4]} number ${i}.`,
);
const ids = tokenizeForModel(model, prompts);
const padded = ids.map((r) => [...r, ...new Array(77 - r.length).fill(model.tokenizer.eot)]);

async function timeIt(run: () => tf.Tensor, reps = 2): Promise<number> {
  const warm = run(); // warm-up: the first call compiles kernels
  await warm.data();
  warm.dispose();
  const start = performance.now();
  for (let i = 0; i < reps; i++) {
    const out = run();
    await out.data();
    out.dispose();
  }
  return (performance.now() - start) / reps / 1000;
}

const BATCH = 32;
const encodeAll = (rows: number[][]) => () =>
  tf.tidy(() => tf.concat(Array.from({ length: Math.ceil(rows.length / BATCH) }, (_, b) => model.encodeText(rows.slice(b * BATCH, (b + 1) * BATCH)))));
const cutSeconds = await timeIt(encodeAll(ids));
const fullSeconds = await timeIt(encodeAll(padded));
const pixels = tf.randomNormal([IMAGES, 224, 224, 3]) as tf.Tensor4D;
const imageSeconds = await timeIt(() => model.encodeImages(pixels), 1);
pixels.dispose();
model.dispose();
fs.rmSync(dir, { recursive: true, force: true });

const longest = Math.max(...ids.map((r) => r.length));
console.log(`backend: ${describeBackend(backend)}`);
console.log(`text (${NAME} text tower, ${TEXTS} prompts, longest ${longest} tokens): ${(TEXTS / cutSeconds).toFixed(1)} prompts/s`);
console.log(`text padded to 77 tokens (baseline):               ${(TEXTS / fullSeconds).toFixed(1)} prompts/s`);
console.log(`speed-up from cutting prompts to their length:     ${(fullSeconds / cutSeconds).toFixed(2)}x`);
console.log(`images (${NAME} at 224 px, batch ${IMAGES}):              ${(IMAGES / imageSeconds).toFixed(2)} images/s`);
