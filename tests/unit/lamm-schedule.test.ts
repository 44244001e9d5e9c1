import { describe, expect, it } from 'vitest';
import { learningRate } from '../../src-main/lamm/schedule';
import { epochBatches, stepsPerEpoch } from '../../src-main/lamm/sampling';
import { mulberry32 as seededRandom } from '../../src-main/clip/random';
import { DEFAULT_TRAIN_CONFIG, effectiveLossWeights, resolveTrainConfig } from '../../src-main/lamm/config';

describe('learning-rate schedule', () => {
  const c = { lr: 0.002, epochs: 50, warmupEpochs: 1, warmupLr: 1e-5 };

  it("holds the warm-up rate for the first epoch, then follows Dassl's cosine 0.5·lr·(1+cos(π(e−1)/E))", () => {
    expect(learningRate(0, c)).toBe(1e-5);
    // The cosine starts once the warm-up is over: the first epoch after it runs at the full rate.
    expect(learningRate(1, c)).toBeCloseTo(0.002, 12);
    expect(learningRate(2, c)).toBeCloseTo(0.5 * 0.002 * (1 + Math.cos(Math.PI / 50)), 12);
    expect(learningRate(26, c)).toBeCloseTo(0.001, 12);
    expect(learningRate(49, c)).toBeCloseTo(0.5 * 0.002 * (1 + Math.cos((48 * Math.PI) / 50)), 12);
  });

  it("reproduces the rates torch logs for CoOp's vit_b16_ep50 config (warm-up 1 epoch at 1e-5)", () => {
    // ConstantWarmupScheduler.step(): warm-up epochs step the wrapper, later ones the successor
    // CosineAnnealingLR(T_max = 50), whose own epoch counter therefore starts at the first post-warm-up epoch.
    let successorEpoch = -1;
    const dassl = Array.from({ length: 50 }, (_, e) => {
      if (e < 1) return 1e-5;
      successorEpoch++;
      return 0.5 * 0.002 * (1 + Math.cos((Math.PI * successorEpoch) / 50));
    });
    dassl.forEach((want, e) => expect(learningRate(e, c)).toBeCloseTo(want, 14));
  });

  it('decreases monotonically after the warm-up and stays positive', () => {
    for (let e = 2; e < 50; e++) {
      expect(learningRate(e, c)).toBeLessThan(learningRate(e - 1, c));
      expect(learningRate(e, c)).toBeGreaterThan(0);
    }
  });

  it('starts the cosine at the full rate without warm-up', () => {
    expect(learningRate(0, { ...c, warmupEpochs: 0 })).toBe(0.002);
  });
});

describe('epoch sampling', () => {
  it('visits every image once per epoch, with views in range, in a seeded order', () => {
    const batches = epochBatches(20, 8, 32, seededRandom(3));
    expect(batches).toHaveLength(1);
    expect(batches[0].map((s) => s.image).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(batches[0].every((s) => s.view >= 0 && s.view < 8)).toBe(true);
    expect(epochBatches(20, 8, 32, seededRandom(3))).toEqual(batches);
    expect(epochBatches(20, 8, 32, seededRandom(4))).not.toEqual(batches);
  });

  it('drops the incomplete last batch once there is a full one (drop_last)', () => {
    const batches = epochBatches(70, 8, 32, seededRandom(1));
    expect(batches.map((b) => b.length)).toEqual([32, 32]);
    expect(stepsPerEpoch(70, 32)).toBe(2);
    expect(stepsPerEpoch(10, 32)).toBe(1);
    expect(epochBatches(64, 1, 32, seededRandom(1)).map((b) => b.length)).toEqual([32, 32]);
  });

  it('draws different views across epochs from one generator', () => {
    const random = seededRandom(7);
    const a = epochBatches(40, 8, 40, random)[0];
    const b = epochBatches(40, 8, 40, random)[0];
    expect(a).not.toEqual(b);
  });
});

describe('train config', () => {
  it('fills the released defaults', () => {
    const c = resolveTrainConfig({ shots: 4 });
    expect(c).toMatchObject({ ...DEFAULT_TRAIN_CONFIG, shots: 4 });
    expect(effectiveLossWeights(c)).toMatchObject({ wc: 1, cos: 1, kd: 0.05, T: 2 });
  });

  it('scales λ_wc by 1/K on request and keeps other λ overrides', () => {
    const c = resolveTrainConfig({ shots: 4, wcScale: 'inverse-shots', lambdas: { kd: 0.1 } });
    expect(effectiveLossWeights(c)).toMatchObject({ wc: 0.25, cos: 1, kd: 0.1, T: 2 });
  });

  it('rejects impossible values with a one-line reason', () => {
    expect(() => resolveTrainConfig({ shots: 0 })).toThrow(/shots must be a positive integer/);
    expect(() => resolveTrainConfig({ template: 'a photo' })).toThrow(/\{\}/);
    expect(() => resolveTrainConfig({ lambdas: { T: 0 } })).toThrow(/lambdas.T/);
    expect(() => resolveTrainConfig({ method: 'sgd' as never })).toThrow(/method/);
  });
});
