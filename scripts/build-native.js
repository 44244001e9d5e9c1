#!/usr/bin/env node
// `npm run build:native`, and npm's postinstall: compiles the optional native GEMM (native/,
// see src-main/native.ts) with node-gyp, checks the result on a small product, and prints one
// line. It never fails: without a compiler the engine keeps TensorFlow.js's own wasm matMul.
// LAMM_NATIVE=0 skips it; --verbose shows node-gyp's output.
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findNodeGyp } from './find-node-gyp.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const nativeDir = path.join(root, 'native');
const addonFile = path.join(nativeDir, 'build', 'Release', 'lamm_native.node');
const verbose = process.argv.includes('--verbose');
const TAG = 'lamm native GEMM';

try {
  main();
} catch (err) {
  warn(err instanceof Error ? err.message : String(err));
}

function main() {
  if (process.env.LAMM_NATIVE === '0') {
    console.log(`${TAG}: skipped (LAMM_NATIVE=0)`);
    return;
  }
  const gyp = findNodeGyp();
  if (!gyp) return warn('node-gyp not found (it ships with npm)');
  const args = [gyp, 'rebuild', '--release', ...nodedirArgs()];
  const result = spawnSync(process.execPath, args, { cwd: nativeDir, encoding: 'utf8', stdio: verbose ? 'inherit' : 'pipe' });
  if (result.error) return warn(result.error.message);
  if (result.status !== 0) {
    rmSync(addonFile, { force: true }); // never leave a stale binary from an earlier build
    return warn(`node-gyp failed: ${firstError(`${result.stdout ?? ''}\n${result.stderr ?? ''}`)}`);
  }
  const info = selfTest();
  console.log(`${TAG}: built ${path.relative(root, addonFile)} (${info.available.join(', ')}; ${info.isa} in use)`);
}

/** Loads the addon and checks one small transposed, batched product against plain JS. */
function selfTest() {
  const addon = createRequire(import.meta.url)(addonFile);
  const [batch, m, n, k] = [2, 5, 7, 3];
  const heap = new Float32Array(batch * (m * k + k * n + m * n));
  heap.forEach((_, i) => {
    heap[i] = ((i * 7) % 11) - 5;
  });
  const bOffset = batch * m * k;
  const cOffset = bOffset + batch * k * n;
  addon.gemm(heap.buffer, 0, 4 * bOffset, 4 * cOffset, batch, batch, m, n, k, true, false);
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let sum = 0;
        for (let p = 0; p < k; p++) sum += heap[b * m * k + p * m + i] * heap[bOffset + b * k * n + p * n + j];
        if (heap[cOffset + (b * m + i) * n + j] !== sum) {
          rmSync(addonFile, { force: true });
          throw new Error('the built addon computes wrong products; removed it');
        }
      }
    }
  }
  return addon.info();
}

/**
 * Node's headers: npm passes its `nodedir` setting to node-gyp itself; run directly, use the
 * headers installed beside this Node (distribution packages and official tarballs have them)
 * rather than letting node-gyp download them.
 */
function nodedirArgs() {
  if (process.env.npm_config_nodedir) return [];
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  return existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? [`--nodedir=${prefix}`] : [];
}

function firstError(log) {
  const lines = log
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  return (lines.find((line) => /error/i.test(line) && !line.startsWith('gyp info')) ?? lines.at(-1) ?? 'no output').slice(0, 300);
}

function warn(reason) {
  console.warn(`${TAG}: not built, matMul stays on TensorFlow.js wasm (${reason})`);
}
