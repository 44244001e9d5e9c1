// bench/label-issues: how well out-of-sample label issues find planted mistakes. The demo
// dataset is generated, 10% of its training images (seeded) get another class as their label
// (a relabel in the project, as a careless annotator would leave them), and every present
// image is checked. Prints precision and recall per probe and filter, and the old in-sample
// rule (zero-shot CLIP gives another class ≥ 0.7) as the baseline. Goal: both ≥ 0.8.
//
// Usage: npx tsx bench/label-issues.ts [--rate 0.1] [--seed 1] [--folds 5] [--split train|test]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { initBackend, describeBackend } from '../src-main/backend';
import { loadClip } from '../src-main/clip';
import { mulberry32, shuffleInPlace } from '../src-main/clip/random';
import { findLikelyMislabels, relabel } from '../src-main/data/curation';
import { importFolder } from '../src-main/data/import';
import { findLabelIssues, ISSUE_FILTERS, PROBES } from '../src-main/data/label-issues';
import { ProjectStore, type SplitName } from '../src-main/data/store';
import { DEMO_MODEL_DIR, generateDemoDataset, loadRecipe } from '../src-main/demo/dataset';

function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}
const rate = Number(option('rate') ?? 0.1);
const seed = Number(option('seed') ?? 1);
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

  // Plant the mistakes: each flipped image gets a uniformly drawn other class.
  const rand = mulberry32(seed);
  const train = shuffleInPlace(store.listImages(datasetId, { split: 'train' }), rand);
  const flipped = new Map<number, number>();
  for (const img of train.slice(0, Math.round(rate * train.length))) {
    const others = classes.filter((c) => c.id !== img.classId);
    const to = others[Math.floor(rand() * others.length)];
    relabel(store, [img.id], to.id);
    flipped.set(img.id, img.classId);
  }
  const checkedPool = store.listImages(datasetId, split ? { split } : {}).length;
  console.log(`demo: ${classes.length} classes, ${checkedPool} images checked, ${flipped.size} of ${train.length} training labels flipped (rate ${rate}, seed ${seed}), ${folds} folds`);

  const score = (found: number[]) => {
    const hits = found.filter((id) => flipped.has(id)).length;
    const planted = split === 'test' ? 0 : flipped.size;
    return { found: found.length, precision: found.length ? hits / found.length : 1, recall: planted ? hits / planted : 1 };
  };
  const line = (name: string, s: ReturnType<typeof score>, extra = '') =>
    console.log(`${name.padEnd(34)} issues ${String(s.found).padStart(4)}  precision ${s.precision.toFixed(3)}  recall ${s.recall.toFixed(3)}${extra}`);

  for (const probe of PROBES) {
    for (const filter of ISSUE_FILTERS) {
      const t0 = performance.now();
      const report = await findLabelIssues(store, model, datasetId, { probe, filter, folds, seed, split });
      const s = score(report.issues.map((i) => i.imageId));
      // A planted issue's suggestion is right when it names the image's folder class.
      const right = report.issues.filter((i) => flipped.get(i.imageId) === i.suggestedClassId).length;
      line(`${probe} probe, ${filter}`, s, `  right suggestion ${right}/${s.found}  ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
  }
  const inSample = await findLikelyMislabels(store, model, datasetId, {});
  line('baseline: zero-shot ≥ 0.7 (in-sample)', score(inSample.map((m) => m.imageId)));
  store.close();
  model.dispose();
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
