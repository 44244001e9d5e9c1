// Times LAMM training steps at the default settings on cached features, for a CLIP of a given
// shape with random weights written in the HF layout (ViT-B/16 by default, DESIGN §6). Class
// names are 1–3 real vocabulary words. Used by `lamm bench train` and bench/train.ts.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { describeBackend, initBackend } from '../backend';
import { mulberry32, normalSampler } from '../clip/random';
import { loadClip } from '../clip/model';
import { VIT_B16_SPEC, writeSyntheticClip, type SyntheticClipSpec } from '../clip/synthetic';
import { CancelledError } from '../jobs/context';
import { resolveTrainConfig } from './config';
import { l2Normalize } from './loss';
import { setupLabelTokens } from './prompts';
import { stepsPerEpoch } from './sampling';
import { trainPrompts } from './trainer';

/** Steps run before timing starts (kernel compilation, first allocations). */
const WARMUP_STEPS = 1;
/** Where the random benchmark model is kept between runs (writing ~600 MB each time would dominate). */
const MODEL_CACHE = path.join(os.tmpdir(), 'lamm-bench-models');

export interface TrainBenchResult {
  classes: number;
  shots: number;
  stepSeconds: number;
  stepsPerEpoch: number;
  epochSeconds: number;
  backend: string;
  /** The backend as the CLI names it, adapter included (webgpu). */
  backendLine: string;
  threads: number;
  peakRssMB: number;
}

/** A model folder for `spec`, written once per spec and reused. */
export function benchModelFolder(spec: SyntheticClipSpec, vocabFrom?: string): string {
  const key = JSON.stringify({ ...spec, vocabFrom: vocabFrom ?? null });
  const name = `${Buffer.from(key).toString('base64url').slice(0, 24)}-${key.length}`;
  const dir = path.join(MODEL_CACHE, name);
  if (!fs.existsSync(path.join(dir, 'model.safetensors'))) {
    const partial = `${dir}.partial-${process.pid}`;
    writeSyntheticClip(partial, { ...spec, vocabFrom });
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(partial, dir);
  }
  return dir;
}

/** Whole-word vocabulary entries usable as single-token class-name words. */
function nameWords(vocab: Record<string, number>): string[] {
  return Object.keys(vocab)
    .filter((t) => /^[a-z]{3,}<\/w>$/.test(t))
    .map((t) => t.slice(0, -4));
}

export interface TrainBenchOptions {
  classes: number;
  shots: number;
  steps: number;
  /** An existing model folder to time instead of a random one. */
  modelDir?: string;
  /** The random model's shape (default ViT-B/16, DESIGN §6). */
  spec?: SyntheticClipSpec;
}

export async function benchTrain(opts: TrainBenchOptions): Promise<TrainBenchResult> {
  const backend = await initBackend();
  // LAMM_BENCH_VOCAB: a folder with CLIP's vocab.json/merges.txt where ../shared is not beside the code (bench/device).
  const realVocab = [opts.modelDir, process.env.LAMM_BENCH_VOCAB, path.resolve(import.meta.dirname, '../../../shared/golden/tiny-random-clip')].find(
    (d) => d && fs.existsSync(path.join(d, 'vocab.json')),
  );
  const modelDir = opts.modelDir ?? benchModelFolder(opts.spec ?? VIT_B16_SPEC, realVocab);
  const model = await loadClip(modelDir);
  try {
    const random = mulberry32(1);
    const words = nameWords(JSON.parse(fs.readFileSync(path.join(modelDir, 'vocab.json'), 'utf8')));
    if (words.length < 3) throw new Error('the benchmark model vocabulary has too few whole words for class names');
    // 1–3 words each, every name distinct; each word is one BPE token.
    const names = new Set<string>();
    while (names.size < opts.classes) {
      const count = 1 + Math.floor(random() * 3);
      names.add(Array.from({ length: count }, () => words[Math.floor(random() * words.length)]).join(' '));
    }
    const config = resolveTrainConfig({ shots: opts.shots, epochs: 1_000_000 });
    const setup = setupLabelTokens(model.tokenizer, [...names], config.template, model.config.text.maxPositions);
    const images = opts.classes * opts.shots;
    const labels = Array.from({ length: images }, (_, i) => i % opts.classes);
    const normal = normalSampler(random);
    const dim = model.config.projectionDim;
    // Cached features stand in for the image encoder's output: the trainer only ever sees these.
    const features = Float32Array.from({ length: images * config.views * dim }, normal);
    const ac = new AbortController();
    const stepTimes: number[] = [];
    let last = performance.now();
    const total = WARMUP_STEPS + opts.steps;
    await trainPrompts(
      model,
      setup,
      config,
      {
        labels,
        batchFeatures: (samples) =>
          tf.tidy(() => {
            const batch = new Float32Array(samples.length * dim);
            samples.forEach((s, i) =>
              batch.set(features.subarray((s.image * config.views + s.view) * dim, (s.image * config.views + s.view + 1) * dim), i * dim),
            );
            return l2Normalize(tf.tensor2d(batch, [samples.length, dim]));
          }),
      },
      {
        ctx: { signal: ac.signal, progress: () => {} },
        onStep: () => {
          const now = performance.now();
          stepTimes.push((now - last) / 1000);
          last = now;
          process.stderr.write(`[bench] step ${stepTimes.length}/${total}: ${stepTimes[stepTimes.length - 1].toFixed(2)} s\n`);
          if (stepTimes.length >= total) ac.abort();
        },
      },
    ).catch((err) => {
      if (!(err instanceof CancelledError)) throw err;
    });
    const timed = stepTimes.slice(WARMUP_STEPS);
    const stepSeconds = timed.reduce((a, b) => a + b, 0) / timed.length;
    const steps = stepsPerEpoch(images, config.batchSize);
    return {
      classes: opts.classes,
      shots: opts.shots,
      stepSeconds,
      stepsPerEpoch: steps,
      epochSeconds: stepSeconds * steps,
      backend: backend.name,
      backendLine: describeBackend(backend),
      threads: backend.threads,
      peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
    };
  } finally {
    model.dispose();
  }
}
