// The Node half of bench/device, bundled into one file (bench/device pack) for a GPU machine
// without Node: `lamm doctor`, then on the backend given (default webgpu) LAMM steps of a
// ViT-B/16-sized CLIP on cached features at each class count, and B/16 image features/s.
// Prints one JSON object on stdout, progress on stderr.
// Usage: node bench.mjs --doctor    (its own process: the backend is chosen once per process)
//        node bench.mjs [--backend B] [--classes 100,1000] [--shots K] [--steps N] [--images N] [--spec b16|tiny]
// (--spec tiny: a tiny CLIP, for checking the bundle on a software adapter; not a measurement)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { describeBackend, initBackend } from '../src-main/backend';
import { loadClip } from '../src-main/clip';
import { TINY_SPEC, VIT_B16_SPEC, writeSyntheticClip } from '../src-main/clip/synthetic';
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

const spec = flag('spec', 'b16') === 'tiny' ? TINY_SPEC : VIT_B16_SPEC;
const shots = Number(flag('shots', '16'));
const steps = Number(flag('steps', '3'));
const train = [];
for (const classes of flag('classes', '100,1000').split(',').map(Number)) {
  log(`LAMM step, ${classes} classes x ${shots} shots`);
  train.push(await benchTrain({ classes, shots, steps, spec }));
}

// Image features: the frozen B/16 image tower on random pixels, one batch after a warm-up batch.
const images = Number(flag('images', '32'));
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lamm-device-b16-'));
writeSyntheticClip(dir, { ...spec, seed: 1 });
const size = spec.vision.imageSize;
const model = await loadClip(dir, { textInputGradients: false });
const pixels = tf.randomNormal([images, size, size, 3]) as tf.Tensor4D;
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
log(`${spec === TINY_SPEC ? 'tiny' : 'B/16'} image features: ${(images / imageSeconds).toFixed(1)} images/s`);

process.stdout.write(
  `${JSON.stringify({ backend: describeBackend(backend), train, imageFeatures: { model: spec === TINY_SPEC ? 'tiny' : 'ViT-B/16', batch: images, seconds: imageSeconds, imagesPerSecond: images / imageSeconds } })}\n`,
);
stopWebGpu();
