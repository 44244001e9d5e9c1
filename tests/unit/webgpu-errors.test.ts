// WebGPU never yields a silently wrong result: the patched rank-5 Pad (the gradient of a 5-D
// slice; tfjs 4.22.0's shader for it is invalid WGSL) equals the cpu backend, an invalid kernel
// fails with a one-line error naming it, so does a buffer beyond the device's limits, and a
// device lost mid-run fails the training run (marked failed in the store). Skipped with the
// reason where no WebGPU adapter can be had. (Device loss: webgpu-lost.test.ts, its own process.)
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { clearGpuFaultForTest, gpuFault } from '../../src-main/webgpu';
import { startWebGpuForTests } from '../helpers/webgpu';

const backend = await startWebGpuForTests();

/** A kernel whose WGSL does not compile, launched as tfjs launches its own. */
class BrokenProgram {
  variableNames = ['x'];
  outputShape: number[];
  shaderKey = 'broken';
  dispatchLayout = { x: [0] };
  dispatch: [number, number, number] = [1, 1, 1];
  workgroupSize: [number, number, number] = [64, 1, 1];
  size = true;
  constructor(shape: number[]) {
    this.outputShape = shape;
  }
  getUserCode(): string {
    // A shader that does not compile, with the entry point tfjs would have put in for ${main("index")}.
    return '@compute @workgroup_size(64) fn _start() { this is not WGSL }';
  }
}

describe.skipIf(!backend)('webgpu errors and the rank-5 Pad patch', () => {
  it('pads and differentiates a 5-D slice as the cpu backend does (patches/ applied)', async () => {
    const shape = [2, 3, 2, 2, 3];
    const x = Float32Array.from({ length: 72 }, (_, i) => Math.sin(i));
    const paddings: [number, number][] = [
      [0, 1],
      [1, 0],
      [0, 1],
      [1, 1],
      [2, 0],
    ];
    const compute = () =>
      tf.tidy(() => {
        const t = tf.tensor(x, shape);
        const padded = tf.pad(t, paddings, 0.5);
        const grad = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.slice(v, [0, 1, 0, 0, 1], [2, 2, 2, 1, 2]), 3)))(t);
        return tf.concat([padded.flatten(), grad.flatten()]);
      });
    await tf.setBackend('cpu');
    const expected = compute().dataSync();
    await tf.setBackend('webgpu');
    const got = compute();
    const values = await got.data();
    got.dispose();
    expect(gpuFault()).toBeNull();
    expect(Array.from(values)).toEqual(Array.from(expected));
  });

  it('an invalid kernel fails the next read with a one-line error naming it', async () => {
    const webgpu = tf.backend() as any;
    const input = tf.ones([8]);
    const out = webgpu.runWebGPUProgram(new BrokenProgram([8]), [input], 'float32');
    const t = tf.engine().makeTensorFromTensorInfo(out);
    await expect(t.data()).rejects.toThrow(/^GPU error in kernel BrokenProgram on .+: .*WGSL/);
    expect(gpuFault()!.message).not.toContain('\n');
    // Once faulted every kernel refuses to run: no result computed after an error is trusted.
    expect(() => tf.add(input, 1)).toThrow(/BrokenProgram/);
    tf.dispose([t, input]);
    clearGpuFaultForTest();
    expect(Array.from(await tf.add(tf.ones([2]), 1).data())).toEqual([2, 2]);
  });

  it('a buffer beyond the device limits fails with a one-line error naming the kernel', async () => {
    const limit = (tf.backend() as any).device.limits.maxBufferSize as number;
    const run = async () => {
      const t = tf.fill([Math.ceil(limit / 4) + 1024], 1);
      try {
        await t.data();
      } finally {
        t.dispose();
      }
    };
    await expect(run()).rejects.toThrow(/^GPU .*(kernel|reading).*Fill/i);
  });
});
