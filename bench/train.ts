// bench/train: LAMM training speed on the chosen backend, per epoch and per step.
//  1. The demo (its bundled model and generated dataset, `--shots` per class), a full run.
//  2. A ViT-B/32-sized CLIP with random weights, 100 classes × 16 shots, batch 32 (the code of
//     `lamm bench train`): the text encoder runs over all 100 prompts every step. Image features are random unit vectors
//     (the image tower is cached in training, so it does not enter the step time). Only
//     `--steps` steps run; the epoch time is steps-per-epoch × the mean step time, and says so.
// Usage: npx tsx bench/train.ts [--steps N] [--shots K] [--skip-demo] [--skip-b32]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describeBackend, initBackend } from '../src-main/backend';
import { loadClip } from '../src-main/clip/model';
import { VIT_B32_SPEC } from '../src-main/clip/synthetic';
import { benchTrain } from '../src-main/lamm/speed-bench';
import { importFolder } from '../src-main/data/import';
import { ProjectStore } from '../src-main/data/store';
import { DEMO_MODEL_DIR, generateDemoDataset, loadRecipe } from '../src-main/demo/dataset';
import { resolveTrainConfig } from '../src-main/lamm/config';
import { trainRun } from '../src-main/lamm/run';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const flag = (name: string) => process.argv.includes(`--${name}`);
const STEPS = arg('steps', 3);
const DEMO_SHOTS = arg('shots', 4);
const B32_CLASSES = 100;
const B32_SHOTS = 16;

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
    console.log(
      `demo (${imported.classes} classes × ${DEMO_SHOTS} shots, ${resolveTrainConfig().epochs} epochs): ${t.secondsPerEpoch.toFixed(3)} s/epoch, ${(1000 * t.secondsPerStep).toFixed(1)} ms/step; features ${t.featuresSeconds.toFixed(1)} s; zero-shot ${pct(out.zeroShot.accuracy)} → trained ${pct(out.trained.accuracy)}`,
    );
  } finally {
    store.close();
    model.dispose();
  }
}

async function benchB32(): Promise<void> {
  const r = await benchTrain({ classes: B32_CLASSES, shots: B32_SHOTS, steps: STEPS, spec: VIT_B32_SPEC });
  console.log(
    `ViT-B/32-sized random model, ${r.classes} classes × ${r.shots} shots, batch 32: ${(1000 * r.stepSeconds).toFixed(0)} ms/step (mean of ${STEPS} after a warm-up step), ${r.stepsPerEpoch} steps/epoch → ${r.epochSeconds.toFixed(1)} s/epoch (extrapolated), peak RSS ${r.peakRssMB} MB`,
  );
}

function pct(x: number): string {
  return `${(100 * x).toFixed(1)}%`;
}
