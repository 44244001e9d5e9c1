// The golden conformance on the webgpu backend (Dawn; a software adapter where there is no
// GPU): text and image features to 1e-4, LAMM's four loss terms, the total and dL/dE to 1e-4
// relative, one training step's gradients against the cpu backend in the same process, and
// no tensor leaks. Skipped with the reason where no WebGPU adapter can be had.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { embedTexts, loadClip, type ClipModel } from '../../src-main/clip';
import { batchLoss, oneHot } from '../../src-main/lamm/loss';
import { setupLabelTokens } from '../../src-main/lamm/prompts';
import { lossAndGradients } from '../../src-main/lamm/step';
import { PromptEncoder } from '../../src-main/lamm/text';
import { GOLDEN_IMAGES_DIR, GOLDEN_MODEL_DIR, HAS_GOLDEN, RELATIVE, REPO_ROOT, expectRelativeClose, loadGolden, maxAbsDiff } from '../helpers/golden';
import { maxKernelRank } from '../../src-main/webgpu';
import { startWebGpuForTests } from '../helpers/webgpu';

const TOLERANCE = 1e-4;
const backend = HAS_GOLDEN ? await startWebGpuForTests() : null;
const run = promisify(execFile);

async function lammJson(args: string[]): Promise<{ json: any; stderr: string }> {
  const { stdout, stderr } = await run(process.execPath, [path.join(REPO_ROOT, 'bin/lamm.js'), ...args, '--json'], {
    env: { ...process.env, LAMM_BACKEND: 'webgpu' },
    maxBuffer: 1 << 24,
  });
  return { json: JSON.parse(stdout), stderr };
}

/** One LAMM loss + gradient on the golden task, read back asynchronously (webgpu cannot read synchronously). */
async function goldenStep(model: ClipModel) {
  const g = loadGolden().lamm_loss;
  const encoder = new PromptEncoder(model, setupLabelTokens(model.tokenizer, g.classnames, g.template, model.config.text.maxPositions));
  const E = tf.variable<tf.Rank.R3>(tf.tensor3d(g.label_embeddings));
  const t0 = encoder.encode();
  const f = tf.tensor2d(g.image_features);
  const y = oneHot(g.labels, g.classnames.length);
  const before = tf.memory().numTensors;
  const loss = batchLoss(
    { zeroShotFeatures: t0, imageFeatures: f, oneHotLabels: y, initialLabelEmbeddings: encoder.initialLabels, logitScale: model.logitScale },
    g.lambda,
  );
  const terms = tf.tidy(() => {
    const r = loss(encoder.encode(E), E);
    return tf.stack([r.total, r.terms.ce, r.terms.wc, r.terms.cos, r.terms.kd]);
  });
  const single = tf.tidy(() => tf.grad((e: tf.Tensor) => loss(encoder.encode(e as tf.Tensor3D), e as tf.Tensor3D).total)(E));
  // The trainer's chunked step (one class per chunk), as a training run computes it.
  const step = lossAndGradients({ encoder, labels: E, context: null, loss }, 1, 1);
  const out = {
    terms: Array.from(await terms.data()),
    grad: await single.data(),
    stepTotal: (await step.terms.data())[0],
    stepGrad: await step.grads[E.name].data(),
  };
  tf.dispose([terms, single, step.terms, step.predicted, ...Object.values(step.grads)]);
  const leaked = tf.memory().numTensors - before;
  tf.dispose([E, t0, f, y]);
  encoder.dispose();
  return { ...out, leaked };
}

describe.skipIf(!backend)('golden conformance on webgpu', () => {
  let model: ClipModel;
  let onGpu: Awaited<ReturnType<typeof goldenStep>>;
  let cli: Promise<[{ json: any; stderr: string }, { json: any; stderr: string }]>;
  const gold = HAS_GOLDEN ? loadGolden() : (undefined as never);
  const images = HAS_GOLDEN ? [...gold.images, ...gold.images_resized] : [];
  beforeAll(async () => {
    // The CLI's processes run beside this one's tests: software adapters are slow, wall time counts.
    cli = Promise.all([
      lammJson(['embed-text', '--model', GOLDEN_MODEL_DIR, ...gold.text.map((c) => c.text)]),
      lammJson(['embed-image', '--model', GOLDEN_MODEL_DIR, ...images.map((c) => path.join(GOLDEN_IMAGES_DIR, c.file))]),
    ]);
    cli.catch(() => undefined);
    model = await loadClip(GOLDEN_MODEL_DIR);
  });
  afterAll(() => model?.dispose());

  it('runs on the webgpu backend and names the adapter', () => {
    expect(backend!.name).toBe('webgpu');
    expect(tf.getBackend()).toBe('webgpu');
    expect(backend!.adapter?.api).toBeTruthy();
  });

  it('the four loss terms, the total and dL/dE match the reference; the chunked step too; no leaks', async () => {
    const g = gold.lamm_loss;
    onGpu = await goldenStep(model);
    (['total', 'ce', 'wc', 'cos', 'kd'] as const).forEach((k, i) => {
      expect(Math.abs(onGpu.terms[i] - g.terms[k]), `${k}: ${onGpu.terms[i]} vs ${g.terms[k]}`).toBeLessThanOrEqual(RELATIVE * Math.abs(g.terms[k]));
    });
    expectRelativeClose(onGpu.grad, g.grad.flat(2), 'dL/dE');
    expect(Math.abs(onGpu.stepTotal - g.terms.total)).toBeLessThanOrEqual(RELATIVE * g.terms.total);
    expectRelativeClose(onGpu.stepGrad, g.grad.flat(2), 'chunked dL/dE');
    console.log(
      `[webgpu] max |diff| vs golden: dL/dE ${maxAbsDiff(onGpu.grad, g.grad.flat(2)).toExponential(2)} (largest element ${Math.max(...g.grad.flat(2).map(Math.abs)).toExponential(2)}), total ${Math.abs(onGpu.terms[0] - g.terms.total).toExponential(2)}`,
    );
    expect(onGpu.leaked).toBe(0);
  });

  it("one training step's loss and gradients equal the cpu backend's", async () => {
    expect(onGpu, 'the webgpu step above ran').toBeDefined();
    await tf.setBackend('cpu');
    let onCpu: Awaited<ReturnType<typeof goldenStep>>;
    const cpuModel = await loadClip(GOLDEN_MODEL_DIR);
    try {
      onCpu = await goldenStep(cpuModel);
    } finally {
      cpuModel.dispose();
      await tf.setBackend('webgpu');
    }
    expectRelativeClose(onGpu.terms, onCpu.terms, 'terms vs cpu');
    expectRelativeClose(onGpu.stepGrad, Array.from(onCpu.stepGrad), 'chunked dL/dE vs cpu');
    console.log(`[webgpu] step vs cpu: max |diff| of dL/dE ${maxAbsDiff(onGpu.stepGrad, onCpu.stepGrad).toExponential(2)}`);
  });

  it('text features within 1e-4 of the reference (library), leaking no tensors', async () => {
    const before = tf.memory().numTensors;
    const text = await embedTexts(
      model,
      gold.text.map((c) => c.text),
    );
    expect(tf.memory().numTensors).toBe(before);
    const textDiff = Math.max(...gold.text.map((c, i) => maxAbsDiff(text[i], c.embedding)));
    console.log(`[webgpu] max |diff| vs golden: text ${textDiff.toExponential(2)}`);
    expect(textDiff).toBeLessThan(TOLERANCE);
  });

  it('the engine (forward, backward, chunked step) runs no kernel on a tensor above rank 4', () => {
    expect(maxKernelRank()).toBeGreaterThanOrEqual(3);
    expect(maxKernelRank()).toBeLessThanOrEqual(4);
  });

  it('`lamm embed-text` and `embed-image` with LAMM_BACKEND=webgpu match the reference and report the adapter', async () => {
    const [text, image] = await cli;
    for (const r of [text, image]) expect(r.stderr).toMatch(/backend: webgpu on .+ \((Vulkan|OpenGL ES|Metal|D3D12), (software|hardware)\)/);
    gold.text.forEach((c, i) => expect(maxAbsDiff(text.json.embeddings[i], c.embedding), c.text).toBeLessThan(TOLERANCE));
    const imageDiff = Math.max(...images.map((c, i) => maxAbsDiff(image.json.embeddings[i], c.embedding)));
    console.log(`[webgpu] max |diff| vs golden (CLI): image ${imageDiff.toExponential(2)}`);
    expect(imageDiff).toBeLessThan(TOLERANCE);
  });
});
