// Reading results off any backend, in a module with no Node import: the GPU host page
// (gpu-host/compute.ts) bundles the trainer, which reads this way.
import type * as tf from '@tensorflow/tfjs';

/**
 * The tensor's values, read asynchronously, then the tensor disposed. The engine reads results this
 * way: a GPU backend (webgpu in Node) cannot read synchronously (dataSync throws there).
 */
export async function readAndDispose<T extends Float32Array | Int32Array = Float32Array>(t: tf.Tensor): Promise<T> {
  try {
    return (await t.data()) as T;
  } finally {
    t.dispose();
  }
}
