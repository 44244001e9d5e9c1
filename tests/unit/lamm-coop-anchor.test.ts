// CoOp+LAMM as the official code (trainers/coop.py) computes it: the anchor t0 is re-encoded
// every step from the current context with E0; its gradient reaches the context through z0
// (KD), and only L_COS sees it detached. The trainer's step is checked against tf autodiff
// of the plain formula on the tiny model, in one pass and in chunks.
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src-main/backend';
import { loadClip } from '../../src-main/clip/model';
import type { ClipModel } from '../../src-main/clip/types';
import { DEFAULT_TRAIN_CONFIG, lossWeights, resolveTrainConfig, type LossWeights } from '../../src-main/lamm/config';
import { oneHot } from '../../src-main/lamm/loss';
import { METHOD_SPECS } from '../../src-main/lamm/methods';
import { termsFromList } from '../../src-main/lamm/loss-terms';
import { setupLabelTokens } from '../../src-main/lamm/prompts';
import { PromptEncoder } from '../../src-main/lamm/text';
import { anchorFollowsContext, lossWeightsFor, trainingStep } from '../../src-main/lamm/trainer';
import { maxAbsDiff } from '../helpers/golden';
import { makeTinyModel, perturbedVariable, randomUnitRows, tempDir } from './lamm-fixture';

const weights: LossWeights = lossWeights({ wc: 1, cos: 1, kd: 0.05, T: 2 });

describe('CoOp+LAMM anchor', () => {
  let dir: string;
  let model: ClipModel;
  let encoder: PromptEncoder;
  let whole: PromptEncoder;

  beforeAll(async () => {
    await initBackend();
    dir = tempDir('anchor');
    model = await loadClip(makeTinyModel(dir));
    const setup = setupLabelTokens(model.tokenizer, ['ox', 'red circle', 'sky', 'tree'], 'a photo of a {}.', 77);
    encoder = new PromptEncoder(model, setup);
    whole = new PromptEncoder(model, setup, { prefixCache: false });
  });
  afterAll(() => {
    encoder?.dispose();
    whole?.dispose();
    model?.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** The plain formula; `contextForCos` stands in for torch's detach of t0 inside FeatureLoss. */
  function plainLoss(E: tf.Tensor3D, context: tf.Tensor2D, contextForCos: tf.Tensor2D, f: tf.Tensor2D, y: tf.Tensor2D): tf.Scalar[] {
    const norm = (x: tf.Tensor2D) => tf.div(x, tf.norm(x, 'euclidean', 1, true)) as tf.Tensor2D;
    const s = Math.exp(model.logitScale);
    const t = norm(whole.encode(E, context));
    const t0 = norm(whole.encode(undefined, context));
    const t0Cos = norm(whole.encode(undefined, contextForCos));
    const z = tf.mul(s, tf.matMul(f, t, false, true));
    const z0 = tf.mul(s, tf.matMul(f, t0, false, true));
    const ce = tf.neg(tf.mean(tf.sum(tf.mul(y, tf.logSoftmax(z)), 1)));
    const wc = tf.sum(tf.square(tf.sub(E, whole.initialLabels)));
    const cos = tf.mean(tf.sum(tf.mul(y, tf.sub(1, tf.sum(tf.mul(t, t0Cos), 1))), 1)); // this batch holds several classes
    const kd = tf.mul(weights.T ** 2, tf.neg(tf.mean(tf.sum(tf.mul(tf.softmax(tf.div(z, weights.T)), tf.logSoftmax(tf.div(z0, weights.T))), 1))));
    const total = tf.addN([ce, tf.mul(weights.wc, wc), tf.mul(weights.cos, cos), tf.mul(weights.kd, kd)]);
    return [total, ce, wc, cos, kd] as tf.Scalar[];
  }

  it('follows the context only in CoOp+LAMM', () => {
    const follows = (method: 'lamm' | 'coop' | 'coop+lamm') => {
      const c = resolveTrainConfig({ ...DEFAULT_TRAIN_CONFIG, method });
      return anchorFollowsContext(METHOD_SPECS[method].trainsContext, lossWeightsFor(c));
    };
    expect(follows('coop+lamm')).toBe(true);
    expect(follows('lamm')).toBe(false);
    expect(follows('coop')).toBe(false); // plain CE reads no t0
  });

  it('has the terms and gradients of the plain formula, in one pass and in chunks', () => {
    const labels = perturbedVariable(encoder.initialLabels, 0.05, 7);
    // A context already moved away from "a photo of a", as after some steps.
    const context = perturbedVariable(encoder.initialContext, 0.05, 8);
    const width = model.config.projectionDim;
    const f = randomUnitRows(5, 6, width);
    const y = oneHot([0, 1, 2, 3, 1, 2], 4);
    const zeroShot = tf.tidy(() => encoder.encode());

    const contextNow = tf.clone(context);
    const { value, grads } = tf.tidy(() => {
      const g = tf.grads((e: tf.Tensor, c: tf.Tensor) => plainLoss(e as tf.Tensor3D, c as tf.Tensor2D, contextNow, f, y)[0]);
      const [dE, dC] = g([labels, context]);
      return { value: plainLoss(labels, context, contextNow, f, y).map((t) => t.dataSync()[0]), grads: { dE, dC } };
    });

    const step = (anchor: boolean, tokensPerPass: number) => {
      const r = trainingStep(
        { encoder, labels, context, anchor, zeroShot, imageFeatures: f, oneHotLabels: y, weights, logitScale: model.logitScale },
        tokensPerPass,
      );
      const out = { terms: r.terms.dataSync().slice(), dE: r.grads[labels.name].dataSync().slice(), dC: r.grads[context.name].dataSync().slice() };
      tf.dispose([r.terms, r.predicted, ...Object.values(r.grads)]);
      return out;
    };
    const dEScale = Math.max(...Array.from(grads.dE.dataSync(), Math.abs));
    const dCScale = Math.max(...Array.from(grads.dC.dataSync(), Math.abs));
    const before = tf.memory().numTensors;
    for (const tokensPerPass of [1e9, 1]) {
      const got = step(true, tokensPerPass);
      // total, ce, wc, cos, kd by name (the plain formula has only these).
      const named = termsFromList(got.terms, 1);
      expect(maxAbsDiff([got.terms[0], named.ce, named.wc, named.cos, named.kd], value)).toBeLessThan(1e-5 * Math.max(...value.map(Math.abs)));
      expect(maxAbsDiff(got.dE, grads.dE.dataSync())).toBeLessThan(1e-4 * dEScale);
      expect(maxAbsDiff(got.dC, grads.dC.dataSync())).toBeLessThan(1e-4 * dCScale);
    }
    expect(tf.memory().numTensors).toBe(before);

    // The old step (t0 fixed at the initial context) misses the KD gradient through z0: the test can tell.
    const fixed = step(false, 1e9);
    expect(maxAbsDiff(fixed.dC, grads.dC.dataSync())).toBeGreaterThan(1e-2 * dCScale);
    tf.dispose([labels, context, contextNow, f, y, zeroShot, grads.dE, grads.dC]);
  });
});
