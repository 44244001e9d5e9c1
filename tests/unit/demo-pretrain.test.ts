// Pretraining the demo CLIP, on a model and batch small enough for a unit test: the folder it
// writes loads through loadClip, rare words keep their untrained embeddings, nothing leaks,
// and the faster matMul gradient gives the default gradient's numbers.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src-main/backend';
import { loadClip } from '../../src-main/clip';
import { parseClipConfig, readJsonFile } from '../../src-main/clip/config';
import { readSafetensors, readSafetensorsHeader } from '../../src-main/clip/safetensors';
import { randomHfTensors } from '../../src-main/clip/weights';
import { DEMO_PRETRAIN, pretrainDemoClip, withFastMatMulGradients, type PretrainSettings } from '../../src-main/demo/pretrain';
import { RARE_WORDS } from '../../src-main/demo/vocabulary';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lamm-demo-pretrain-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
beforeAll(async () => {
  await initBackend();
});

const SMALL: PretrainSettings = {
  ...DEMO_PRETRAIN,
  steps: 3,
  warmupSteps: 1,
  batchSize: 16,
  model: {
    text: { width: 16, layers: 1, heads: 2, context: 16 },
    vision: { width: 16, layers: 1, heads: 2, imageSize: 16, patch: 8 },
    projection: 8,
  },
};

describe('pretrainDemoClip', () => {
  it('writes a Hugging Face CLIP folder that loadClip reads, rare words left untrained', async () => {
    const dir = path.join(tmp, 'model');
    const before = tf.memory().numTensors;
    const report = await pretrainDemoClip(dir, SMALL);
    expect(tf.memory().numTensors).toBe(before);
    expect(Number.isFinite(report.finalLoss)).toBe(true);
    expect(report.steps).toBe(3);
    for (const f of [
      'config.json',
      'model.safetensors',
      'vocab.json',
      'merges.txt',
      'preprocessor_config.json',
      'tokenizer_config.json',
      'special_tokens_map.json',
      'demo_pretrain.json',
    ]) {
      expect(fs.existsSync(path.join(dir, f)), f).toBe(true);
    }
    expect(fs.readdirSync(tmp).some((f) => f.includes('.partial-'))).toBe(false);
    const header = readSafetensorsHeader(fs.readFileSync(path.join(dir, 'model.safetensors')), 'weights');
    expect(new Set(Object.values(header.entries).map((e) => e.dtype))).toEqual(new Set(['F16']));

    const model = await loadClip(dir);
    try {
      expect(model.config.text.vocabSize).toBe(report.vocabSize);
      expect(model.config.text.maxPositions).toBe(16);
      const features = model.encodeText([model.tokenizer.encodeWithSpecials('a photo of a gules lozenge.')]);
      expect(features.shape).toEqual([1, 8]);
      features.dispose();

      // Rows of words no caption uses still hold their random initialisation (to F16 rounding); taught words moved.
      const config = parseClipConfig(readJsonFile(path.join(dir, 'config.json'), 'config'));
      const init = randomHfTensors(config, SMALL.seed).get('text_model.embeddings.token_embedding.weight')!.data;
      const saved = readSafetensors(path.join(dir, 'model.safetensors')).tensors.get('text_model.embeddings.token_embedding.weight')!.data;
      const width = config.text.hiddenSize;
      const rowDiff = (word: string) => {
        const [id] = model.tokenizer.encode(word);
        let m = 0;
        for (let j = 0; j < width; j++) m = Math.max(m, Math.abs(saved[id * width + j] - init[id * width + j]));
        return m;
      };
      for (const w of RARE_WORDS) expect(rowDiff(w), w).toBeLessThan(1e-4);
      expect(rowDiff('red')).toBeGreaterThan(1e-4);
    } finally {
      model.dispose();
    }
  });

  it("replaces an earlier demo model but never a folder of the user's", async () => {
    const dir = path.join(tmp, 'again');
    await pretrainDemoClip(dir, { ...SMALL, steps: 1 });
    const report = await pretrainDemoClip(dir, { ...SMALL, steps: 2 });
    expect(report.steps).toBe(2);
    const mine = path.join(tmp, 'mine');
    fs.mkdirSync(mine);
    fs.writeFileSync(path.join(mine, 'thesis.txt'), 'keep me');
    await expect(pretrainDemoClip(mine, SMALL)).rejects.toThrow(/not empty and holds no demo model/);
    expect(fs.readdirSync(mine)).toEqual(['thesis.txt']);
  });
});

describe('withFastMatMulGradients', () => {
  it('gives the default gradients and restores the default afterwards', async () => {
    const original = tf.getGradient('BatchMatMul');
    const a = tf.randomNormal([5, 3], 0, 1, 'float32', 1) as tf.Tensor2D;
    const b = tf.randomNormal([3, 4], 0, 1, 'float32', 2) as tf.Tensor2D;
    const c = tf.randomNormal([4, 2], 0, 1, 'float32', 3) as tf.Tensor2D;
    const loss = (x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.square(tf.matMul(tf.matMul(x as tf.Tensor2D, y as tf.Tensor2D), c)));
    const grads = () => tf.grads(loss)([a, b]);
    const expected = grads();
    const fast = await withFastMatMulGradients(async () => grads());
    for (let i = 0; i < 2; i++) {
      const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(expected[i], fast[i]))).dataSync()[0]);
      expect(diff).toBeLessThan(1e-5);
    }
    expect(tf.getGradient('BatchMatMul')).toBe(original);
    tf.dispose([a, b, c, ...expected, ...fast]);
  });
});
