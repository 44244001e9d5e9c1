// The Map's picking: which points a lasso encloses (even-odd, any polygon) and the nearest point to a click.
import { describe, expect, it } from 'vitest';
import { nearestPoint, pointsInPolygon } from '../../src-renderer/src/components/lasso';

const grid = () => {
  // Points on a 5 × 5 grid at 0..4.
  const x = new Float32Array(25);
  const y = new Float32Array(25);
  for (let i = 0; i < 25; i++) {
    x[i] = i % 5;
    y[i] = Math.floor(i / 5);
  }
  return { x, y };
};

describe('pointsInPolygon', () => {
  it('finds the points inside a square, in index order', () => {
    const { x, y } = grid();
    const square: [number, number][] = [
      [0.5, 0.5],
      [2.5, 0.5],
      [2.5, 2.5],
      [0.5, 2.5],
    ];
    expect(pointsInPolygon(x, y, square)).toEqual([6, 7, 11, 12]);
    // The same square drawn the other way round.
    expect(pointsInPolygon(x, y, [...square].reverse())).toEqual([6, 7, 11, 12]);
  });

  it('leaves out the notch of a concave polygon', () => {
    const { x, y } = grid();
    // A U from (0.5, 0.5) to (3.5, 3.5) with the middle column above y = 1.5 cut away.
    const u: [number, number][] = [
      [0.5, 0.5],
      [3.5, 0.5],
      [3.5, 3.5],
      [2.5, 3.5],
      [2.5, 1.5],
      [1.5, 1.5],
      [1.5, 3.5],
      [0.5, 3.5],
    ];
    const inside = pointsInPolygon(x, y, u);
    expect(inside).toEqual([6, 7, 8, 11, 13, 16, 18]);
    expect(inside).not.toContain(12); // (2, 2): in the notch
  });

  it('encloses nothing with fewer than three vertices or far away', () => {
    const { x, y } = grid();
    expect(
      pointsInPolygon(x, y, [
        [0, 0],
        [4, 4],
      ]),
    ).toEqual([]);
    expect(
      pointsInPolygon(x, y, [
        [10, 10],
        [11, 10],
        [11, 11],
      ]),
    ).toEqual([]);
  });
});

describe('nearestPoint', () => {
  it('picks the closest point within the radius, or none', () => {
    const { x, y } = grid();
    expect(nearestPoint(x, y, 2.1, 2.9, 0.5)).toBe(17); // (2, 3)
    expect(nearestPoint(x, y, 2.5, 2.5, 0.2)).toBe(-1);
    expect(nearestPoint(new Float32Array(0), new Float32Array(0), 0, 0, 1)).toBe(-1);
  });
});
