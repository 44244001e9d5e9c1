// bench/label-issues: how well out-of-sample label issues find planted mistakes. The demo
// dataset is generated, 10% of its training images (seeded) get another class as their label
// (a relabel in the project, as a careless annotator would leave them), and every present
// image is checked. Prints precision and recall per probe and filter, and the old in-sample
// rule (zero-shot CLIP gives another class ≥ 0.7) as the baseline. Goal: both ≥ 0.8.
//
// Usage: npx tsx bench/label-issues.ts [--rate 0.1] [--seeds 5] [--folds 5] [--split train|test]
//   --seeds N   repeat with seeds 1..N (which labels flip, and the folds) and print the means
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { initBackend, describeBackend } from '../src-main/backend';
import { loadClip } from '../src-main/clip';
import { mulberry32, shuffleInPlace } from '../src-main/clip/random';
import { relabel } from '../src-main/data/curation';
import { importFolder } from '../src-main/data/import';
import { findLabelIssues, ISSUE_FILTERS, PROBES } from '../src-main/data/label-issues';
import { ProjectStore, type SplitName } from '../src-main/data/store';
import { DEMO_MODEL_DIR, generateDemoDataset, loadRecipe } from '../src-main/demo/dataset';
import { runZeroShot } from '../src-main/lamm/zeroshot';

function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}
const rate = Number(option('rate') ?? 0.1);
const seedCount = Number(option('seeds') ?? 5);
const seeds = Array.from({ length: seedCount }, (_, k) => k + 1);
const folds = Number(option('folds') ?? 5);
const split = option('split') as SplitName | undefined;

const backend = await initBackend();
process.stderr.write(`backend: ${describeBackend(backend)}\n`);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lamm-bench-issues-'));
try {
  const data = await generateDemoDataset(path.join(dir, 'data'), loadRecipe());
  const store = ProjectStore.open(path.join(dir, 'bench.lamm.sqlite'));
  const { datasetId } = await importFolder(store, data.dir);
  const model = await loadClip(DEMO_MODEL_DIR);
  const classes = store.listClasses(datasetId);

  const train = store.listImages(datasetId, { split: 'train' });
  const checked = store.listImages(datasetId, split ? { split } : {}).length;
  const flips = Math.round(rate * train.length);
  console.log(
    `demo: ${classes.length} classes, ${checked} images checked, ${flips} of ${train.length} training labels flipped per seed (rate ${rate}), ${folds} folds, seeds ${seeds.join(',')}`,
  );
  const totals = new Map<string, { precision: number; recall: number }>();
  for (const seed of seeds) {
    // Plant the mistakes: each flipped image gets a uniformly drawn other class.
    const rand = mulberry32(seed);
    const flipped = new Map<number, number>();
    for (const img of shuffleInPlace([...train], rand).slice(0, flips)) {
      const others = classes.filter((c) => c.id !== img.classId);
      relabel(store, [img.id], others[Math.floor(rand() * others.length)].id);
      flipped.set(img.id, img.classId);
    }
    const planted = split === 'test' ? 0 : flipped.size;
    const report = (name: string, found: number[], extra = '') => {
      const hits = found.filter((id) => flipped.has(id)).length;
      const s = { precision: found.length ? hits / found.length : 1, recall: planted ? hits / planted : 1 };
      const t = totals.get(name) ?? { precision: 0, recall: 0 };
      totals.set(name, { precision: t.precision + s.precision / seeds.length, recall: t.recall + s.recall / seeds.length });
      console.log(
        `seed ${String(seed).padStart(2)}  ${name.padEnd(36)} issues ${String(found.length).padStart(4)}  precision ${s.precision.toFixed(3)}  recall ${s.recall.toFixed(3)}${extra}`,
      );
    };
    for (const probe of PROBES) {
      for (const filter of ISSUE_FILTERS) {
        const t0 = performance.now();
        const r = await findLabelIssues(store, model, datasetId, { probe, filter, folds, seed, split });
        // A planted issue's suggestion is right when it names the image's folder class.
        const right = r.issues.filter((i) => flipped.get(i.imageId) === i.suggestedClassId).length;
        report(
          `${probe} probe, ${filter}`,
          r.issues.map((i) => i.imageId),
          `  right suggestion ${right}/${r.issues.length}  ${((performance.now() - t0) / 1000).toFixed(1)} s`,
        );
      }
    }
    // The rule this replaced: a zero-shot run's prediction disagrees with the label at ≥ 0.7.
    const { runId } = await runZeroShot(store, model, { datasetId, split });
    const label = new Map(store.listImages(datasetId).map((i) => [i.id, i.classId]));
    report(
      'baseline: zero-shot ≥ 0.7',
      store
        .getPredictions(runId)
        .filter((p) => p.score >= 0.7 && p.predictedClassId !== label.get(p.imageId))
        .map((p) => p.imageId),
    );
    relabel(store, [...flipped.keys()], null);
  }
  console.log(`mean over ${seeds.length} seeds:`);
  for (const [name, t] of totals) console.log(`  ${name.padEnd(36)} precision ${t.precision.toFixed(3)}  recall ${t.recall.toFixed(3)}`);
  store.close();
  model.dispose();
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
