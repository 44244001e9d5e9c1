// The wasm Identity that shares buffers: clones stay valid after the original goes, nothing
// leaks, and gradients (whose saved tensors are clones) are unchanged.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src-main/backend';

describe.skipIf(process.env.LAMM_BACKEND !== undefined && process.env.LAMM_BACKEND !== 'wasm')('wasm Identity shares data', () => {
  beforeAll(async () => {
    await initBackend();
  });

  it('is in use on the wasm backend', () => {
    expect(tf.getBackend()).toBe('wasm');
    const x = tf.tensor1d([1, 2, 3]);
    const y = x.clone();
    expect(y.dataId).toBe(x.dataId); // one buffer, two references
    tf.dispose([x, y]);
  });

  it('keeps a clone alive and correct after the original is disposed, then frees the buffer', () => {
    const start = tf.memory();
    const x = tf.tensor2d([
      [1, 2],
      [3, 4],
    ]);
    const y = x.clone();
    x.dispose();
    expect(Array.from(y.dataSync())).toEqual([1, 2, 3, 4]);
    const z = tf.add(y, 1);
    expect(Array.from(z.dataSync())).toEqual([2, 3, 4, 5]);
    tf.dispose([y, z]);
    expect(tf.memory().numTensors).toBe(start.numTensors);
    expect(tf.memory().numBytes).toBe(start.numBytes);
    expect((tf.backend() as unknown as { dataIdMap: { has(id: tf.DataId): boolean } }).dataIdMap.has(y.dataId)).toBe(false);
  });

  it('leaves a variable untouched when its clone is used and the variable is reassigned', () => {
    const v = tf.variable(tf.tensor1d([1, 2]));
    const snapshot = v.clone();
    v.assign(tf.tensor1d([5, 6]));
    expect(Array.from(snapshot.dataSync())).toEqual([1, 2]);
    expect(Array.from(v.dataSync())).toEqual([5, 6]);
    tf.dispose([v, snapshot]);
  });

  it('gives the textbook gradient through ops that save their inputs', () => {
    const x = tf.tensor1d([0.5, -1, 2]);
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.sigmoid(t), tf.square(t))))(x);
    const expected = [0.5, -1, 2].map((v) => {
      const s = 1 / (1 + Math.exp(-v));
      return s * (1 - s) * v * v + s * 2 * v;
    });
    Array.from(g.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(expected[i], 5));
    tf.dispose([x, g]);
  });
});
