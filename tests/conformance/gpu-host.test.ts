// The GPU host page (Electron's hidden compute renderer) on Chromium's WebGPU against the cpu
// backend in Node: text and image features, one LAMM step's loss terms and gradients, and a
// short training run whose batch features come from this process, as they come from the
// store in Electron. Skipped with a message without ../shared, Chromium or a WebGPU adapter.
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { embedPixels, embedTexts } from '../../src-main/clip/embed';
import { loadClip, readModelFiles } from '../../src-main/clip/model';
import { preprocessImage } from '../../src-main/clip/preprocess';
import type { ClipModel } from '../../src-main/clip/types';
import { lossWeights, resolveTrainConfig } from '../../src-main/lamm/config';
import { l2Normalize, oneHot } from '../../src-main/lamm/loss';
import { setupLabelTokens } from '../../src-main/lamm/prompts';
import type { Sample } from '../../src-main/lamm/sampling';
import { PromptEncoder } from '../../src-main/lamm/text';
import { trainingStep, trainPrompts, type EpochSummary, type TrainingData } from '../../src-main/lamm/trainer';
import { CHROMIUM, openGpuHostPage, type GpuHostPage } from '../helpers/gpu-host-page';
import { GOLDEN_IMAGES_DIR, GOLDEN_MODEL_DIR, HAS_GOLDEN, loadGolden, maxAbsDiff } from '../helpers/golden';

const HAS_CHROMIUM = fs.existsSync(CHROMIUM);
if (HAS_GOLDEN && !HAS_CHROMIUM) console.warn(`[gpu-host] skipped: no Chromium at ${CHROMIUM} (LAMM_CHROMIUM names another)`);

/** Worst error relative to the largest element: float32 summation order differs between kernels. */
function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let scale = 0;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]));
  return maxAbsDiff(a, b) / (scale || 1);
}

describe.skipIf(!HAS_GOLDEN || !HAS_CHROMIUM)('GPU host page on Chromium WebGPU matches cpu', () => {
  let host: GpuHostPage;
  let model: ClipModel;
  const g = HAS_GOLDEN ? loadGolden() : (undefined as never);
  let pixels: Float32Array[] = [];
  const started = performance.now();

  beforeAll(async () => {
    await tf.setBackend('cpu');
    model = await loadClip(GOLDEN_MODEL_DIR);
    pixels = await Promise.all([...g.images, ...g.images_resized].map((c) => preprocessImage(path.join(GOLDEN_IMAGES_DIR, c.file), model.preprocess)));
    host = await openGpuHostPage();
    if (host.noAdapter) console.warn(`[gpu-host] skipped: ${host.noAdapter}`);
    else {
      console.log(
        `[gpu-host] page computes on ${host.info!.backend}: ${host.info!.adapter.vendor} ${host.info!.adapter.architecture} (${host.info!.adapter.software ? 'software' : 'hardware'})`,
      );
      await host.client.loadModel(readModelFiles(GOLDEN_MODEL_DIR));
    }
  });
  afterAll(async () => {
    model?.dispose();
    await host?.close();
    console.log(`[gpu-host] ${((performance.now() - started) / 1000).toFixed(1)} s in all`);
  });

  it("initialises tfjs on the page's WebGPU adapter", (ctx) => {
    if (host.noAdapter) ctx.skip();
    expect(host.info!.backend).toBe('webgpu');
  });

  it('text features within 1e-4 of cpu and of the reference', async (ctx) => {
    if (host.noAdapter) ctx.skip();
    const texts = g.text.map((c) => c.text);
    const gpu = await host.client.call('embedTexts', { texts });
    const cpu = await embedTexts(model, texts);
    const worst = Math.max(...gpu.map((row, i) => maxAbsDiff(row, cpu[i])));
    console.log(`[gpu-host] text features: max |webgpu - cpu| = ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(1e-4);
    g.text.forEach((c, i) => expect(maxAbsDiff(gpu[i], c.embedding), c.text).toBeLessThan(1e-4));
  });

  it('image features from pixels preprocessed here within 1e-4 of cpu and of the reference', async (ctx) => {
    if (host.noAdapter) ctx.skip();
    const gpu = await host.client.call('embedPixels', { pixels });
    const cpu = await embedPixels(model, pixels);
    const worst = Math.max(...gpu.map((row, i) => maxAbsDiff(row, cpu[i])));
    console.log(`[gpu-host] image features: max |webgpu - cpu| = ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(1e-4);
    [...g.images, ...g.images_resized].forEach((c, i) => expect(maxAbsDiff(gpu[i], c.embedding), c.file).toBeLessThan(1e-4));
  });

  it('one LAMM step: loss terms and dL/dE as on cpu', async (ctx) => {
    if (host.noAdapter) ctx.skip();
    const l = g.lamm_loss;
    const setup = setupLabelTokens(model.tokenizer, l.classnames, l.template, model.config.text.maxPositions);
    const weights = lossWeights(l.lambda);
    const E = new Float32Array(l.label_embeddings.flat(2));
    const features = new Float32Array(l.image_features.flat());
    const gpu = await host.client.call('step', {
      setup,
      labelEmbeddings: E,
      imageFeatures: { data: features, rows: l.image_features.length, cols: l.image_features[0].length },
      labels: l.labels,
      weights,
    });

    const encoder = new PromptEncoder(model, setup);
    const labels = tf.variable(tf.tensor3d(E, encoder.initialLabels.shape), true);
    const zeroShot = tf.tidy(() => l2Normalize(encoder.encode()));
    const imageFeatures = tf.tensor2d(l.image_features);
    const y = oneHot(l.labels, l.classnames.length);
    const cpu = trainingStep({
      encoder,
      labels,
      context: null,
      anchor: false,
      zeroShot,
      imageFeatures,
      oneHotLabels: y,
      weights,
      logitScale: model.logitScale,
    });
    const cpuTerms = cpu.terms.dataSync();
    const cpuGrad = cpu.grads[labels.name].dataSync();
    tf.dispose([labels, zeroShot, imageFeatures, y, cpu.terms, cpu.predicted, ...Object.values(cpu.grads)]);
    encoder.dispose();

    const termError = relativeError(gpu.terms, cpuTerms);
    const gradError = relativeError(gpu.grads.labels, cpuGrad);
    console.log(
      `[gpu-host] LAMM step: terms max rel ${termError.toExponential(2)}, dL/dE max |webgpu - cpu| = ${maxAbsDiff(gpu.grads.labels, cpuGrad).toExponential(2)} (${gradError.toExponential(2)} of the largest)`,
    );
    expect(termError).toBeLessThan(1e-4);
    expect(gradError).toBeLessThan(1e-4);
    // And the reference's own dL/dE: the same total as the golden, different anchor normalisation aside.
    expect(Math.abs(gpu.terms[0] - l.terms.total)).toBeLessThanOrEqual(1e-4 * Math.abs(l.terms.total) + 1e-6);
  });

  it('trains with batch features sent from this process, as on cpu, and says what a bad call did', async (ctx) => {
    if (host.noAdapter) ctx.skip();
    const l = g.lamm_loss;
    const setup = setupLabelTokens(model.tokenizer, l.classnames, l.template, model.config.text.maxPositions);
    const config = resolveTrainConfig({ epochs: 2, batchSize: 4, views: 1, warmupEpochs: 1, seed: 3 });
    const data: TrainingData = {
      labels: l.labels,
      batchFeatures: (samples: Sample[]) => tf.tensor2d(samples.map((s) => l.image_features[s.image])),
    };
    const asked: number[] = [];
    const epochs: EpochSummary[] = [];
    const gpu = await host.client.train(
      setup,
      config,
      {
        ...data,
        batchFeatures: (s) => {
          asked.push(s.length);
          return data.batchFeatures(s);
        },
      },
      { onEpoch: (e) => epochs.push(e) },
    );
    const cpu = await trainPrompts(model, setup, config, data);
    expect(asked.length).toBeGreaterThan(0);
    expect(epochs.map((e) => e.epoch)).toEqual([0, 1]);
    const worst = maxAbsDiff(gpu.labelEmbeddings, cpu.labelEmbeddings);
    console.log(
      `[gpu-host] ${asked.length} steps trained: label embeddings max |webgpu - cpu| = ${worst.toExponential(2)}, loss ${gpu.history.at(-1)!.loss.toFixed(5)} vs ${cpu.history.at(-1)!.loss.toFixed(5)}`,
    );
    expect(relativeError(gpu.labelEmbeddings, cpu.labelEmbeddings)).toBeLessThan(1e-4);
    expect(relativeError(gpu.textFeatures, cpu.textFeatures)).toBeLessThan(1e-4);

    await expect(
      host.client.train(setup, config, { labels: l.labels, batchFeatures: () => Promise.reject(new Error('feature cache is gone')) }),
    ).rejects.toThrow(/^feature cache is gone$/);
    await expect(host.client.call('embedPixels', { pixels: [new Float32Array(3)] })).rejects.toThrow(/^preprocessed image has 3 values, expected \d+$/);
    // The page still works after both.
    expect((await host.client.call('embedTexts', { texts: ['a photo'] }))[0].length).toBe(model.config.projectionDim);
  });
});
