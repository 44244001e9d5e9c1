// LAMM's four loss terms, the total and dL/dE against ../shared/golden (1e-4 relative), through
// the real pieces: the label-token setup, the prompt encoder (E spliced into the template) and
// the loss.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src-main/backend';
import { loadClip } from '../../src-main/clip/model';
import type { ClipModel } from '../../src-main/clip/types';
import { lossWeights } from '../../src-main/lamm/config';
import { batchLoss, lammLoss, oneHot } from '../../src-main/lamm/loss';
import { setupLabelTokens } from '../../src-main/lamm/prompts';
import { lossAndGradients } from '../../src-main/lamm/step';
import { PromptEncoder } from '../../src-main/lamm/text';
import { GOLDEN_MODEL_DIR, HAS_GOLDEN, RELATIVE, expectRelativeClose, loadGolden } from '../helpers/golden';

describe.skipIf(!HAS_GOLDEN)('LAMM loss conformance (golden)', () => {
  let model: ClipModel;
  let encoder: PromptEncoder;
  const g = HAS_GOLDEN ? loadGolden().lamm_loss : (undefined as never);

  beforeAll(async () => {
    await initBackend();
    model = await loadClip(GOLDEN_MODEL_DIR);
    encoder = new PromptEncoder(model, setupLabelTokens(model.tokenizer, g.classnames, g.template, model.config.text.maxPositions));
  });
  afterAll(() => {
    encoder?.dispose();
    model?.dispose();
  });

  it('sets up the label tokens as the reference does', () => {
    const s = encoder.setup;
    expect(s.promptIds).toEqual(g.prompt_ids);
    expect(s.labelStart).toBe(g.label_start);
    expect(s.minLen).toBe(g.min_len);
    expect(s.labelTokenIds).toEqual(g.prompt_ids.map((ids) => ids.slice(g.label_start, g.label_start + g.min_len)));
  });

  function lossAt(E: tf.Tensor3D) {
    const t0 = encoder.encode();
    const r = lammLoss(
      {
        textFeatures: encoder.encode(E),
        zeroShotFeatures: t0,
        imageFeatures: tf.tensor2d(g.image_features),
        oneHotLabels: oneHot(g.labels, g.classnames.length),
        labelEmbeddings: E,
        initialLabelEmbeddings: encoder.initialLabels,
        logitScale: model.logitScale,
      },
      lossWeights(g.lambda),
    );
    return r;
  }

  it('reproduces the four terms and the total', () => {
    const got = tf.tidy(() => {
      const r = lossAt(tf.tensor3d(g.label_embeddings));
      return {
        total: r.total.dataSync()[0],
        ce: r.terms.ce.dataSync()[0],
        wc: r.terms.wc.dataSync()[0],
        cos: r.terms.cos.dataSync()[0],
        kd: r.terms.kd.dataSync()[0],
      };
    });
    for (const k of ['ce', 'wc', 'cos', 'kd', 'total'] as const) {
      expect(Math.abs(got[k] - g.terms[k]), `${k}: ${got[k]} vs ${g.terms[k]}`).toBeLessThanOrEqual(RELATIVE * Math.abs(g.terms[k]));
    }
  });

  it('reproduces dL/dE', () => {
    const grad = tf.tidy(() =>
      tf
        .grad((E: tf.Tensor) => lossAt(E as tf.Tensor3D).total)(tf.tensor3d(g.label_embeddings))
        .dataSync(),
    );
    expectRelativeClose(grad, g.grad.flat(2), 'dL/dE');
  });

  it("reproduces dL/dE through the trainer's chunked step as well", () => {
    const E = tf.variable<tf.Rank.R3>(tf.tensor3d(g.label_embeddings));
    const t0 = encoder.encode();
    const f = tf.tensor2d(g.image_features);
    const y = oneHot(g.labels, g.classnames.length);
    const step = lossAndGradients(
      {
        encoder,
        labels: E,
        context: null,
        loss: batchLoss(
          { zeroShotFeatures: t0, imageFeatures: f, oneHotLabels: y, initialLabelEmbeddings: encoder.initialLabels, logitScale: model.logitScale },
          lossWeights(g.lambda),
        ),
      },
      1,
      1,
    );
    expect(Math.abs(step.terms.dataSync()[0] - g.terms.total)).toBeLessThanOrEqual(RELATIVE * g.terms.total);
    expectRelativeClose(step.grads[E.name].dataSync(), g.grad.flat(2), 'chunked dL/dE');
    tf.dispose([E, t0, f, y, step.terms, step.predicted, ...Object.values(step.grads)]);
  });

  it('leaks no tensors', () => {
    const before = tf.memory().numTensors;
    tf.tidy(() => lossAt(tf.tensor3d(g.label_embeddings)).total.dataSync());
    expect(tf.memory().numTensors).toBe(before);
  });
});
