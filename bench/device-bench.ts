// The Node half of bench/device, bundled into one file (bench/device pack) for a GPU machine
// without Node: `lamm doctor`, then on the backend given (default webgpu) LAMM steps of a
// ViT-B/16-sized CLIP on cached features at each class count, and B/16 image features/s.
// Prints one JSON object on stdout, progress on stderr.
// Usage: node bench.mjs --doctor    (its own process: the backend is chosen once per process)
//        node bench.mjs [--backend B] [--classes 100,1000] [--shots K] [--steps N] [--images N]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { describeBackend, initBackend } from '../src-main/backend';
import { loadClip } from '../src-main/clip';
import { VIT_B16_SPEC, writeSyntheticClip } from '../src-main/clip/synthetic';
import { doctor } from '../src-main/doctor';
import { benchTrain } from '../src-main/lamm/speed-bench';
import { stopWebGpu } from '../src-main/webgpu';

const flag = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const log = (m: string) => process.stderr.write(`[device] ${m}\n`);

if (process.argv.includes('--doctor')) {
  const report = await doctor();
  process.stdout.write(`${JSON.stringify(report)}\n`);
  stopWebGpu();
  process.exit(0);
}
const backend = await initBackend(flag('backend', 'webgpu'));
log(`backend: ${describeBackend(backend)}`);

const shots = Number(flag('shots', '16'));
const steps = Number(flag('steps', '3'));
const train = [];
for (const classes of flag('classes', '100,1000').split(',').map(Number)) {
  log(`LAMM step, ${classes} classes x ${shots} shots`);
  train.push(await benchTrain({ classes, shots, steps }));
}

// Image features: the frozen B/16 image tower on random pixels, one batch after a warm-up batch.
const images = Number(flag('images', '32'));
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lamm-device-b16-'));
writeSyntheticClip(dir, { ...VIT_B16_SPEC, seed: 1 });
const model = await loadClip(dir, { textInputGradients: false });
const pixels = tf.randomNormal([images, 224, 224, 3]) as tf.Tensor4D;
const encode = async () => {
  const f = model.encodeImages(pixels);
  await f.data();
  f.dispose();
};
await encode();
const started = performance.now();
await encode();
const imageSeconds = (performance.now() - started) / 1000;
tf.dispose(pixels);
model.dispose();
fs.rmSync(dir, { recursive: true, force: true });
log(`B/16 image features: ${(images / imageSeconds).toFixed(1)} images/s`);

process.stdout.write(`${JSON.stringify({ backend: describeBackend(backend), train, imageFeatures: { model: 'ViT-B/16', batch: images, seconds: imageSeconds, imagesPerSecond: images / imageSeconds } })}\n`);
stopWebGpu();
