// Train/test splits and K-shot selection. A folder with train/ and test/ inside keeps those
// splits; otherwise each class is split by a seeded ranking of its images' content hashes,
// so the split survives renames and moves, and adding or removing a few images moves only
// the images at the cut, never reshuffles the whole test set. Exact duplicates rank side by
// side, so they rarely straddle train and test.
import { deriveSeed, mulberry32, shuffleInPlace } from '../clip/random';
import type { ClassInfo, ProjectStore, SplitName } from './store';

interface SplitCandidate {
  id: number;
  sha256: string;
  path: string;
  class_id: number;
  base_split: SplitName;
}

/** Images of a class that go to test: the fraction rounded, but at least one and never all when a class has two or more. */
export function testCount(classSize: number, testFraction: number): number {
  if (classSize < 2 || testFraction <= 0) return 0;
  return Math.min(classSize - 1, Math.max(1, Math.round(classSize * testFraction)));
}

/**
 * Recomputes the seeded stratified split of a dataset without folder splits (call inside
 * store.write()). Stratified by each image's current label; excluded images take part, so
 * excluding one never moves the others. User moves (split_override) are left alone.
 * Returns how many images changed split.
 */
export function assignSeededSplit(store: ProjectStore, datasetId: number): number {
  const dataset = store.getDataset(datasetId);
  if (dataset.layout !== 'classes') return 0;
  const rows = store
    .stmt('SELECT id, sha256, path, class_id, base_split FROM image_labels WHERE dataset_id = ? AND missing = 0')
    .all(datasetId) as SplitCandidate[];
  const byClass = new Map<number, SplitCandidate[]>();
  for (const r of rows) {
    const list = byClass.get(r.class_id) ?? [];
    list.push(r);
    byClass.set(r.class_id, list);
  }
  const update = store.stmt('UPDATE images SET base_split = ? WHERE id = ?');
  let changed = 0;
  for (const list of byClass.values()) {
    const ranked = list
      .map((r) => ({ r, key: deriveSeed(dataset.splitSeed, r.sha256) }))
      .sort((a, b) => a.key - b.key || compare(a.r.sha256, b.r.sha256) || compare(a.r.path, b.r.path));
    const nTest = testCount(ranked.length, dataset.testFraction);
    ranked.forEach(({ r }, rank) => {
      const split: SplitName = rank < nTest ? 'test' : 'train';
      if (split !== r.base_split) {
        update.run(split, r.id);
        changed++;
      }
    });
  }
  return changed;
}

/** Changes a dataset's split seed and/or test fraction and re-splits it at once. Returns how many images moved. */
export function setSeededSplit(store: ProjectStore, datasetId: number, settings: { seed?: number; testFraction?: number }): number {
  return store.write(() => {
    store.setSplitSettings(datasetId, settings);
    return assignSeededSplit(store, datasetId);
  });
}

export interface ShotSelection {
  shots: number;
  seed: number;
  /** Per class (in folder order): the chosen training images. */
  classes: { classId: number; folder: string; imageIds: number[] }[];
}

/**
 * K training images per class, drawn with `seed` from each class's non-excluded train split.
 * Each class draws from its own seed stream, so adding a class never changes another's shots.
 * Throws, naming the class, when K exceeds what a class has.
 */
export function selectShots(store: ProjectStore, datasetId: number, opts: { shots: number; seed: number; classes?: ClassInfo[] }): ShotSelection {
  const { shots, seed } = opts;
  if (!Number.isInteger(shots) || shots < 1) throw new Error(`shots must be a positive integer, got ${shots}`);
  if (!Number.isInteger(seed)) throw new Error(`seed must be an integer, got ${seed}`);
  const classes = opts.classes ?? store.listClasses(datasetId);
  if (classes.length === 0) throw new Error('the dataset has no classes with images');
  const pick = store.stmt(`SELECT id FROM image_labels
    WHERE dataset_id = ? AND class_id = ? AND split = 'train' AND excluded = 0 AND missing = 0 ORDER BY sha256, id`);
  return {
    shots,
    seed,
    classes: classes.map((c) => {
      const pool = (pick.all(datasetId, c.id) as { id: number }[]).map((r) => r.id);
      if (pool.length < shots) {
        throw new Error(`class "${c.folder}" has ${pool.length} training image${pool.length === 1 ? '' : 's'}, fewer than the ${shots} shots asked for`);
      }
      shuffleInPlace(pool, mulberry32(deriveSeed(seed, 'shots', c.folder)));
      return { classId: c.id, folder: c.folder, imageIds: pool.slice(0, shots) };
    }),
  };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
