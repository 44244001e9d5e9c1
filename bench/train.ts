// bench/train: LAMM training speed on the chosen backend, per epoch and per step.
//  1. The demo (its bundled model and generated dataset, `--shots` per class), a full run.
//  2. A ViT-B/32-sized CLIP with random weights, 100 classes × 16 shots, batch 32: the text
//     encoder runs over all 100 prompts every step. Image features are random unit vectors
//     (the image tower is cached in training, so it does not enter the step time). Only
//     `--steps` steps run; the epoch time is steps-per-epoch × the mean step time, and says so.
// Usage: npx tsx bench/train.ts [--steps N] [--shots K] [--skip-demo] [--skip-b32]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { describeBackend, initBackend } from '../src-main/backend';
import { loadClip } from '../src-main/clip/model';
import { mulberry32, normalSampler } from '../src-main/clip/random';
import { VIT_B32_SPEC, writeSyntheticClip } from '../src-main/clip/synthetic';
import { importFolder } from '../src-main/data/import';
import { ProjectStore } from '../src-main/data/store';
import { DEMO_MODEL_DIR, generateDemoDataset, loadRecipe } from '../src-main/demo/dataset';
import { CancelledError, type JobContext } from '../src-main/jobs/context';
import { resolveTrainConfig } from '../src-main/lamm/config';
import { setupLabelTokens } from '../src-main/lamm/prompts';
import { trainRun } from '../src-main/lamm/run';
import { stepsPerEpoch } from '../src-main/lamm/sampling';
import { trainPrompts } from '../src-main/lamm/trainer';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const flag = (name: string) => process.argv.includes(`--${name}`);
const STEPS = arg('steps', 3);
const DEMO_SHOTS = arg('shots', 4);
const B32_CLASSES = 100;
const B32_SHOTS = 16;
const REAL_VOCAB = path.resolve(import.meta.dirname, '../../shared/golden/tiny-random-clip');

const backend = await initBackend();
console.log(`backend: ${describeBackend(backend)}`);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lamm-bench-train-'));

try {
  if (!flag('skip-demo')) await benchDemo();
  if (!flag('skip-b32')) await benchB32();
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}

async function benchDemo(): Promise<void> {
  if (!fs.existsSync(path.join(DEMO_MODEL_DIR, 'model.safetensors'))) {
    console.log(`demo: skipped, no demo model at ${DEMO_MODEL_DIR} (build it with \`lamm demo\`)`);
    return;
  }
  const dataDir = path.join(tmp, 'demo-data');
  await generateDemoDataset(dataDir, loadRecipe());
  const store = ProjectStore.open(path.join(tmp, 'demo.lamm'));
  const model = await loadClip(DEMO_MODEL_DIR);
  try {
    const imported = await importFolder(store, dataDir, { thumbnails: false });
    const out = await trainRun(store, model, { datasetId: imported.datasetId, config: { shots: DEMO_SHOTS } });
    const t = out.timings;
    console.log(`demo (${imported.classes} classes × ${DEMO_SHOTS} shots, ${resolveTrainConfig().epochs} epochs): ${t.secondsPerEpoch.toFixed(3)} s/epoch, ${(1000 * t.secondsPerStep).toFixed(1)} ms/step; features ${t.featuresSeconds.toFixed(1)} s; zero-shot ${pct(out.zeroShot.accuracy)} → trained ${pct(out.trained.accuracy)}`);
  } finally {
    store.close();
    model.dispose();
  }
}

async function benchB32(): Promise<void> {
  const dir = path.join(tmp, 'vit-b32');
  const realVocab = fs.existsSync(path.join(REAL_VOCAB, 'vocab.json'));
  writeSyntheticClip(dir, { ...VIT_B32_SPEC, seed: 1, vocabFrom: realVocab ? REAL_VOCAB : undefined });
  const model = await loadClip(dir);
  try {
    const words = ['dog', 'red circle', 'annual crop land', 'sea lion', 'x-ray of a left lung', 'maple leaf', 'container ship', 'tabby cat', 'fire truck', 'golden retriever'];
    const names = Array.from({ length: B32_CLASSES }, (_, i) => `${words[i % words.length]} ${words[Math.floor(i / words.length)].split(' ')[0]}`);
    const config = resolveTrainConfig({ shots: B32_SHOTS, epochs: 1, warmupEpochs: 0 });
    const setup = setupLabelTokens(model.tokenizer, names, config.template, model.config.text.maxPositions);
    const width = model.config.projectionDim;
    const images = B32_CLASSES * B32_SHOTS;
    const normal = normalSampler(mulberry32(7));
    const features = Float32Array.from({ length: images * width }, normal);
    for (let i = 0; i < images; i++) {
      const row = features.subarray(i * width, (i + 1) * width);
      const norm = Math.hypot(...row);
      row.forEach((v, j) => (row[j] = v / norm));
    }
    const labels = Array.from({ length: images }, (_, i) => Math.floor(i / B32_SHOTS));
    const controller = new AbortController();
    const ctx: JobContext = { signal: controller.signal, progress: () => {} };
    const stepMs: number[] = [];
    let last = performance.now();
    try {
      await trainPrompts(model, setup, config, {
        labels,
        batchFeatures: (batch) => tf.tensor2d(Float32Array.from(batch.flatMap((s) => [...features.subarray(s.image * width, (s.image + 1) * width)])), [batch.length, width]),
      }, {
        ctx,
        onStep: () => {
          const now = performance.now();
          stepMs.push(now - last);
          last = now;
          // The first step compiles kernels; measure STEPS more after it.
          if (stepMs.length > STEPS) controller.abort();
        },
      });
    } catch (err) {
      if (!(err instanceof CancelledError)) throw err;
    }
    const measured = stepMs.slice(1);
    const mean = measured.reduce((a, b) => a + b, 0) / measured.length;
    const steps = stepsPerEpoch(images, config.batchSize);
    const longest = Math.max(...setup.promptIds.map((ids) => ids.length));
    console.log(`ViT-B/32-sized random model (${realVocab ? 'real' : 'byte-level'} vocabulary), ${B32_CLASSES} classes × ${B32_SHOTS} shots, batch ${config.batchSize}, prompts of ≤${longest} tokens, min_len ${setup.minLen}:`);
    console.log(`  ${mean.toFixed(0)} ms/step (mean of ${measured.length} after a warm-up step of ${stepMs[0].toFixed(0)} ms), ${steps} steps/epoch → ${(steps * mean / 1000).toFixed(1)} s/epoch (extrapolated)`);
  } finally {
    model.dispose();
  }
}

function pct(x: number): string {
  return `${(100 * x).toFixed(1)}%`;
}
