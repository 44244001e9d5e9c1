// bench/scaling: LAMM step time at 100 and at 1000 classes (16 shots, ViT-B/16-sized random
// model, cached features) in one process, and the ratio (DESIGN §6: at most linear, ≤ 10×).
// Usage: npx tsx bench/scaling.ts [--steps N]
import { describeBackend, initBackend } from '../src-main/backend';
import { benchTrain } from '../src-main/lamm/speed-bench';

const i = process.argv.indexOf('--steps');
const steps = i > 0 ? Number(process.argv[i + 1]) : 2;
console.log(`backend: ${describeBackend(await initBackend())}`);
const small = await benchTrain({ classes: 100, shots: 16, steps });
const large = await benchTrain({ classes: 1000, shots: 16, steps });
for (const r of [small, large])
  console.log(`${String(r.classes).padStart(5)} classes × ${r.shots} shots: ${r.stepSeconds.toFixed(3)} s/step, peak RSS ${r.peakRssMB} MB`);
const ratio = large.stepSeconds / small.stepSeconds;
console.log(`step time ratio 1000/100 classes: ${ratio.toFixed(2)} (linear: 10; target <= 10: ${ratio <= 10 ? 'ok' : 'MISSED'})`);
