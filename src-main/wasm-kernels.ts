// Replacements for tfjs-backend-wasm (4.22) kernels that copy where sharing is safe.
//
// Identity: the engine clones every tensor it saves for a backward pass, and the stock wasm
// Identity copies the data (a thousand copies of activations per LAMM step, ~15% of it). The
// cpu backend shares the buffer and counts references instead; so can wasm, exactly as its own
// Reshape does, because no wasm kernel writes into an input (outputs are fresh `makeOutput`s,
// and Variable.assign swaps buffers rather than writing in place).
import * as tf from '@tensorflow/tfjs';

interface WasmBackendRefs {
  incRef(dataId: tf.DataId): void;
}

let replaced = false;

export function shareWasmIdentity(): void {
  if (replaced) return;
  const stock = tf.getKernel('Identity', 'wasm');
  if (!stock) return;
  tf.unregisterKernel('Identity', 'wasm');
  tf.registerKernel({
    kernelName: 'Identity',
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend }) => {
      const x = inputs.x as tf.TensorInfo;
      if (x.dtype === 'string') return (stock.kernelFunc as tf.KernelFunc)({ inputs, backend, attrs: {} });
      (backend as unknown as WasmBackendRefs).incRef(x.dataId);
      return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
    },
  });
  replaced = true;
}
