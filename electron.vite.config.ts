// Builds the three parts of the app into out/: the Electron main process (ESM), the preload
// (CommonJS: sandboxed preloads cannot be modules) and the renderer, which `lamm serve` also
// serves. `electron-vite build` needs no Electron binary.
import { defineConfig } from 'electron-vite';
import react from '@vitejs/plugin-react';
import { resolve } from 'node:path';

const root = import.meta.dirname;

export const rendererConfig = {
  root: resolve(root, 'src-renderer'),
  base: './', // relative asset URLs: the same build works over app:// (Electron) and http (lamm serve)
  plugins: [react()],
  build: {
    outDir: resolve(root, 'out/renderer'),
    emptyOutDir: true,
    chunkSizeWarningLimit: 2000,
    // gpu.html: the hidden GPU host window's page (src-main/gpu-host/compute.ts), Electron only.
    rollupOptions: { input: { index: resolve(root, 'src-renderer/index.html'), gpu: resolve(root, 'src-renderer/gpu.html') } },
  },
};

export default defineConfig({
  main: {
    build: {
      outDir: resolve(root, 'out/main'),
      // Each worker is its own entry: a worker thread loads it by file (jobs/workers.ts).
      rollupOptions: {
        input: {
          index: resolve(root, 'src-main/index.ts'),
          'train-worker': resolve(root, 'src-main/jobs/train-worker.ts'),
          'compute-worker': resolve(root, 'src-main/jobs/compute-worker.ts'),
        },
        // Optional native backends: loaded at run time when installed (backend.ts), never bundled.
        external: ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'],
      },
    },
  },
  preload: {
    build: {
      outDir: resolve(root, 'out/preload'),
      rollupOptions: {
        input: { index: resolve(root, 'src-main/preload.ts'), gpu: resolve(root, 'src-main/gpu-preload.ts') },
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: rendererConfig,
});
