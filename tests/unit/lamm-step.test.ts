// The chunked step (text features without a tape, then per-chunk vector-Jacobian products)
// gives the single-pass loss and gradients, for every method's trained variables.
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src-main/backend';
import { loadClip } from '../../src-main/clip/model';
import type { ClipModel } from '../../src-main/clip/types';
import { lossWeights } from '../../src-main/lamm/config';
import { batchLoss, oneHot } from '../../src-main/lamm/loss';
import { setupLabelTokens } from '../../src-main/lamm/prompts';
import { lossAndGradients } from '../../src-main/lamm/step';
import { PromptEncoder } from '../../src-main/lamm/text';
import { maxAbsDiff } from '../helpers/golden';
import { makeTinyModel, perturbedVariable, randomUnitRows, tempDir } from './lamm-fixture';

describe('chunked training step', () => {
  let dir: string;
  let model: ClipModel;
  let encoder: PromptEncoder;

  beforeAll(async () => {
    await initBackend();
    dir = tempDir('step');
    model = await loadClip(makeTinyModel(dir));
    encoder = new PromptEncoder(model, setupLabelTokens(model.tokenizer, ['ox', 'red circle', 'sky', 'tree', 'a b'], 'a photo of a {}.', 77));
  });
  afterAll(() => {
    encoder?.dispose();
    model?.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it.each([
    ['lamm', true, false],
    ['coop', false, true],
    ['coop+lamm', true, true],
  ] as const)('matches the single pass (%s)', (_name, trainLabels, trainContext) => {
    // Perturb the starting point so every term (wc, cos, kd) has a gradient.
    const labels = trainLabels ? perturbedVariable(encoder.initialLabels, 0.05, 3) : null;
    const context = trainContext ? tf.variable<tf.Rank.R2>(tf.tidy(() => tf.add(encoder.initialContext, 0.02))) : null;
    const width = model.config.projectionDim;
    const f = randomUnitRows(4, 6, width);
    const y = oneHot([0, 1, 2, 3, 4, 1], 5);
    const t0 = encoder.encode();
    const inputs = {
      encoder,
      labels,
      context,
      loss: batchLoss(
        { zeroShotFeatures: t0, imageFeatures: f, oneHotLabels: y, initialLabelEmbeddings: encoder.initialLabels, logitScale: model.logitScale },
        lossWeights(),
      ),
    };
    const before = tf.memory().numTensors;
    const whole = lossAndGradients(inputs, 1e9);
    const pieces = lossAndGradients(inputs, 1, 1); // one class per chunk
    expect(maxAbsDiff(pieces.terms.dataSync(), whole.terms.dataSync())).toBeLessThan(1e-5);
    expect([...pieces.predicted.dataSync()]).toEqual([...whole.predicted.dataSync()]);
    expect(Object.keys(pieces.grads).sort()).toEqual(Object.keys(whole.grads).sort());
    for (const name of Object.keys(whole.grads)) {
      const w = whole.grads[name].dataSync();
      const scale = Math.max(...Array.from(w, Math.abs));
      expect(scale).toBeGreaterThan(0);
      expect(maxAbsDiff(pieces.grads[name].dataSync(), w)).toBeLessThan(1e-4 * scale);
    }
    const all = [whole, pieces].flatMap((r) => [r.terms, r.predicted, ...Object.values(r.grads)]);
    expect(tf.memory().numTensors).toBe(before + all.length);
    tf.dispose([...all, f, y, t0, ...(labels ? [labels] : []), ...(context ? [context] : [])]);
  });
});

describe('template prefix cache (pure LAMM)', () => {
  it('gives the same text features, loss terms and gradients as running whole prompts (1e-5)', async () => {
    await initBackend();
    const dir = tempDir('prefix');
    const model = await loadClip(makeTinyModel(dir));
    const setup = setupLabelTokens(model.tokenizer, ['ox', 'red circle', 'sky', 'tree', 'a b'], 'a photo of a {}.', 77);
    const cached = new PromptEncoder(model, setup);
    const whole = new PromptEncoder(model, setup, { prefixCache: false });
    expect(cached.tokensPerClass()).toBe(whole.tokensPerClass() - setup.labelStart);
    const width = model.config.projectionDim;
    const labels = perturbedVariable(whole.initialLabels, 0.05, 5);
    const f = randomUnitRows(9, 6, width);
    const y = oneHot([0, 1, 2, 3, 4, 1], 5);
    const run = (encoder: PromptEncoder) => {
      const t0 = encoder.encode();
      const r = lossAndGradients({
        encoder,
        labels,
        context: null,
        loss: batchLoss(
          { zeroShotFeatures: t0, imageFeatures: f, oneHotLabels: y, initialLabelEmbeddings: encoder.initialLabels, logitScale: model.logitScale },
          lossWeights(),
        ),
      });
      const out = { t0: t0.dataSync().slice(), terms: r.terms.dataSync().slice(), grad: r.grads[labels.name].dataSync().slice() };
      tf.dispose([t0, r.terms, r.predicted, ...Object.values(r.grads)]);
      return out;
    };
    const a = run(cached);
    const b = run(whole);
    expect(maxAbsDiff(a.t0, b.t0)).toBeLessThan(1e-5);
    expect(maxAbsDiff(a.terms, b.terms)).toBeLessThan(1e-5 * Math.max(...Array.from(b.terms, Math.abs)));
    const scale = Math.max(...Array.from(b.grad, Math.abs));
    expect(scale).toBeGreaterThan(0);
    expect(maxAbsDiff(a.grad, b.grad)).toBeLessThan(1e-5 * scale);
    const before = tf.memory().numTensors;
    run(cached);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([labels, f, y]);
    cached.dispose();
    whole.dispose();
    model.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
