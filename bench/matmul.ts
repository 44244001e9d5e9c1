// bench/matmul: GFLOP/s of tf.matMul on the wasm backend with its own kernel and with the
// native GEMM (src-main/native.ts), on the shapes the engine multiplies. One process, the two
// kernels interleaved round by round and the best round kept, so the ratios hold on a busy
// shared machine even when absolute numbers do not.
// Usage: npx tsx bench/matmul.ts [--rounds N]
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src-main/backend';
import { accelerateWasmMatMul, loadNativeGemm, nativeGemmUnavailableReason, restoreWasmMatMul } from '../src-main/native';

interface Case {
  name: string;
  a: number[];
  b: number[];
  transposeA?: boolean;
  transposeB?: boolean;
}

// Text: prompts × tokens ≈ 400 rows, width 512, MLP 2048. Vision ViT-B: 8 images × 197 tokens, width 768.
const CASES: Case[] = [
  { name: 'text linear 400×512 · 512×2048', a: [400, 512], b: [512, 2048] },
  { name: 'text linear 400×2048 · 2048×512', a: [400, 2048], b: [2048, 512] },
  { name: 'text linear 1600×512 · 512×512', a: [1600, 512], b: [512, 512] },
  { name: 'grad dx = dy · Wᵀ 400×2048 · (512×2048)ᵀ', a: [400, 2048], b: [512, 2048], transposeB: true },
  { name: 'grad dW = xᵀ · dy (400×512)ᵀ · 400×2048', a: [400, 512], b: [400, 2048], transposeA: true },
  { name: 'text attention q·kᵀ 800×[12×64 · (17×64)ᵀ]', a: [800, 12, 64], b: [800, 17, 64], transposeB: true },
  { name: 'text attention p·v 800×[12×17 · 17×64]', a: [800, 12, 17], b: [800, 17, 64] },
  { name: 'vision MLP 1576×768 · 768×3072', a: [1576, 768], b: [768, 3072] },
  { name: 'vision attention q·kᵀ 96×[197×64 · (197×64)ᵀ]', a: [96, 197, 64], b: [96, 197, 64], transposeB: true },
];

const roundsArg = process.argv.indexOf('--rounds');
const ROUNDS = roundsArg > 0 ? Number(process.argv[roundsArg + 1]) : 3;
/** Each timed round repeats a product for about this long. */
const ROUND_SECONDS = 0.3;

await initBackend('wasm');
const gemm = loadNativeGemm();
if (!gemm || !accelerateWasmMatMul()) {
  console.log(`native GEMM unavailable: ${nativeGemmUnavailableReason()}`);
  process.exit(1);
}
const { isa, threads } = gemm.info();
console.log(`wasm backend vs native GEMM (${isa}); ${ROUNDS} interleaved rounds, best kept; GFLOP/s`);
console.log(['shape', 'wasm', 'native 1 thr', `native ${threads} thr`, 'ratio'].join('\t'));

for (const c of CASES) {
  const a = tf.randomNormal(c.a) as tf.Tensor;
  const b = tf.randomNormal(c.b) as tf.Tensor;
  const out = tf.matMul(a, b, c.transposeA, c.transposeB);
  const flops = 2 * out.size * (c.transposeA ? c.a[c.a.length - 2] : c.a[c.a.length - 1]);
  out.dispose();
  const run = (): number => {
    const start = performance.now();
    tf.matMul(a, b, c.transposeA, c.transposeB).dispose();
    return (performance.now() - start) / 1000;
  };
  const best = { wasm: Infinity, one: Infinity, all: Infinity };
  // Mean over as many calls as fit in ROUND_SECONDS (at least one).
  const timeRound = (): number => {
    let total = 0;
    let calls = 0;
    while (calls === 0 || total < ROUND_SECONDS) {
      total += run();
      calls++;
    }
    return total / calls;
  };
  for (let round = 0; round < ROUNDS; round++) {
    restoreWasmMatMul();
    best.wasm = Math.min(best.wasm, timeRound());
    accelerateWasmMatMul();
    gemm.setThreads(1);
    best.one = Math.min(best.one, timeRound());
    gemm.setThreads(threads);
    best.all = Math.min(best.all, timeRound());
  }
  a.dispose();
  b.dispose();
  const rate = (seconds: number) => (flops / seconds / 1e9).toFixed(1);
  console.log([c.name, rate(best.wasm), rate(best.one), rate(best.all), `${(best.wasm / best.all).toFixed(1)}×`].join('\t'));
}
