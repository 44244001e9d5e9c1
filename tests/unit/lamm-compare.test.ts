import { describe, expect, it } from 'vitest';
import { compareRunPredictions, type PredictionLike } from '../../src-main/lamm/compare';

const classes = [
  { id: 10, folder: 'cat' },
  { id: 20, folder: 'dog' },
  { id: 30, folder: 'fox' },
];
const p = (imageId: number, labelClassId: number, predictedClassId: number): PredictionLike => ({ imageId, labelClassId, predictedClassId });

describe('compareRunPredictions', () => {
  const base = { runId: 1, predictions: [p(1, 10, 10), p(2, 10, 20), p(3, 20, 20), p(4, 20, 10), p(5, 30, 30)] };
  const trained = { runId: 2, predictions: [p(1, 10, 20), p(2, 10, 10), p(3, 20, 20), p(4, 20, 20), p(5, 30, 30)] };
  const result = compareRunPredictions(base, trained, classes);

  it('counts accuracy over the shared images, per class and overall', () => {
    expect(result.accuracy).toEqual({ base: 3 / 5, trained: 4 / 5 });
    expect(result.perClass).toEqual([
      { classId: 10, folder: 'cat', base: 0.5, trained: 0.5, delta: 0 },
      { classId: 20, folder: 'dog', base: 0.5, trained: 1, delta: 0.5 },
      { classId: 30, folder: 'fox', base: 1, trained: 1, delta: 0 },
    ]);
  });

  it("draws the trained run's confusion matrix, rows true and columns predicted", () => {
    expect(result.confusion).toEqual({
      labels: ['cat', 'dog', 'fox'],
      matrix: [
        [1, 1, 0],
        [0, 2, 0],
        [0, 0, 1],
      ],
    });
  });

  it('lists the images whose correctness flipped, either way', () => {
    expect(result.flips).toEqual([
      { imageId: 1, trueClassId: 10, baseClassId: 10, trainedClassId: 20, fixed: false },
      { imageId: 2, trueClassId: 10, baseClassId: 20, trainedClassId: 10, fixed: true },
      { imageId: 4, trueClassId: 20, baseClassId: 10, trainedClassId: 20, fixed: true },
    ]);
  });

  it('compares only images both runs predicted and classes the comparison covers', () => {
    const partial = compareRunPredictions(
      { runId: 1, predictions: base.predictions.slice(0, 2) },
      { runId: 2, predictions: [...trained.predictions, p(9, 99, 10)] },
      classes,
    );
    expect(partial.accuracy).toEqual({ base: 0.5, trained: 0.5 });
    expect(partial.perClass.map((c) => c.folder)).toEqual(['cat']);
  });

  it('refuses runs with no test image in common', () => {
    expect(() => compareRunPredictions({ runId: 1, predictions: [p(1, 10, 10)] }, { runId: 2, predictions: [p(2, 10, 10)] }, classes)).toThrow(
      'runs 1 and 2 have no test image in common',
    );
  });
});
