// The method table is what the config check, the trainer's loss, the CLI's usage and merge read.
import { describe, expect, it } from 'vitest';
import { train } from '../../src-main/commands/train';
import { resolveTrainConfig } from '../../src-main/lamm/config';
import { WEIGHTED_LOSS_TERMS } from '../../src-main/lamm/loss-terms';
import { isTrainMethod, METHOD_SPECS, TRAIN_METHODS } from '../../src-main/lamm/methods';
import { lossWeightsFor } from '../../src-main/lamm/trainer';

describe('method table', () => {
  it('lists the three methods of DESIGN §3 with what each trains', () => {
    expect(TRAIN_METHODS).toEqual(['lamm', 'coop', 'coop+lamm']);
    expect(TRAIN_METHODS.map((m) => [METHOD_SPECS[m].trainsLabels, METHOD_SPECS[m].trainsContext])).toEqual([
      [true, false],
      [false, true],
      [true, true],
    ]);
    // Only pure LAMM keeps each class's trained tokens its own, so only its runs merge.
    expect(TRAIN_METHODS.filter((m) => METHOD_SPECS[m].mergeable)).toEqual(['lamm']);
  });

  it('is what the config accepts and the CLI offers', () => {
    for (const m of TRAIN_METHODS) expect(resolveTrainConfig({ method: m }).method).toBe(m);
    expect(() => resolveTrainConfig({ method: 'maple' as never })).toThrow('method "maple" is not one of lamm, coop, coop+lamm');
    expect(isTrainMethod('toString')).toBe(false);
    expect(train.usage).toContain(`--method ${TRAIN_METHODS.join('|')}`);
  });

  it('gives a cross-entropy method no weighted loss term', () => {
    for (const m of TRAIN_METHODS) {
      const w = lossWeightsFor(resolveTrainConfig({ method: m }));
      for (const t of WEIGHTED_LOSS_TERMS) expect(w[t.weight] > 0, `${m} ${t.name}`).toBe(METHOD_SPECS[m].loss === 'lamm' && t.defaultWeight > 0);
    }
  });
});
