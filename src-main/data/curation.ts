// Curation: what a person looks at and changes before training. Counts per class and split;
// edits (exclude, relabel, move to a split, rename a prompt) that live in the project and
// survive re-imports; and questions answered from CLIP features: text search, near-duplicate
// pairs (plus exact duplicates by hash). Label issues live in label-issues.ts.
import * as tf from '@tensorflow/tfjs';
import { readAndDispose } from '../backend';
import { embedTexts, normalizeRow, type ClipModel } from '../clip';
import type { JobContext } from '../jobs/context';
import { featuresFor, loadFeatures } from './features';
import type { ClassInfo, ProjectStore, SplitName } from './store';

export interface DuplicateGroup {
  imageIds: number[];
  /** Smallest cosine similarity inside the group. */
  similarity: number;
}

export interface SearchHit {
  imageId: number;
  score: number;
}

/** Near-duplicates: cosine of view-0 features at or above this (resized/re-encoded copies score ~0.95+). */
export const DEFAULT_DUPLICATE_THRESHOLD = 0.95;
export const DEFAULT_SEARCH_LIMIT = 50;
/** Rows of the similarity matrix computed at once (block × N floats in memory). */
const SIMILARITY_BLOCK = 256;
const MAX_PROMPT_NAME = 200;

// ---------- counts ----------

export interface ClassCounts extends ClassInfo {
  /** Non-excluded images per split. */
  train: number;
  test: number;
  excluded: number;
  /** All present images, excluded ones included. */
  total: number;
}

export function classCounts(store: ProjectStore, datasetId: number): ClassCounts[] {
  const rows = store
    .stmt(`SELECT c.id, c.dataset_id, c.folder, c.display_name, c.prompt_name,
      SUM(i.excluded = 0 AND i.split = 'train') AS train,
      SUM(i.excluded = 0 AND i.split = 'test')  AS test,
      SUM(i.excluded) AS excluded,
      COUNT(*) AS total
    FROM classes c JOIN image_labels i ON i.class_id = c.id AND i.missing = 0
    WHERE c.dataset_id = ? GROUP BY c.id ORDER BY c.folder`)
    .all(datasetId) as {
    id: number;
    dataset_id: number;
    folder: string;
    display_name: string;
    prompt_name: string;
    train: number;
    test: number;
    excluded: number;
    total: number;
  }[];
  return rows.map((r) => ({
    id: r.id,
    datasetId: r.dataset_id,
    folder: r.folder,
    displayName: r.display_name,
    promptName: r.prompt_name,
    train: r.train,
    test: r.test,
    excluded: r.excluded,
    total: r.total,
  }));
}

// ---------- edits ----------

/** Runs `update` for every id inside one transaction; an unknown id rolls all of them back. */
function editImages(store: ProjectStore, imageIds: readonly number[], update: (id: number) => number): number {
  return store.write(() => {
    let changed = 0;
    for (const id of imageIds) {
      if (!store.stmt('SELECT 1 FROM images WHERE id = ?').get(id)) throw new Error(`image ${id} does not exist in this project`);
      changed += update(id);
    }
    return changed;
  });
}

export function setExcluded(store: ProjectStore, imageIds: readonly number[], excluded: boolean): number {
  const set = store.stmt('UPDATE images SET excluded = ? WHERE id = ? AND excluded != ?');
  return editImages(store, imageIds, (id) => set.run(excluded ? 1 : 0, id, excluded ? 1 : 0).changes);
}

/** Gives images another class of their dataset; null (or their folder's class) undoes a relabel. */
export function relabel(store: ProjectStore, imageIds: readonly number[], classId: number | null): number {
  const target = classId === null ? null : store.getClass(classId);
  const set = store.stmt(`UPDATE images SET label_class_id = CASE WHEN ? = folder_class_id THEN NULL ELSE ? END WHERE id = ?`);
  return editImages(store, imageIds, (id) => {
    if (target && store.getImage(id).datasetId !== target.datasetId) throw new Error(`class "${target.folder}" belongs to another dataset than image ${id}`);
    return set.run(classId, classId, id).changes;
  });
}

/** Moves images to a split; null (or the split they had anyway) undoes a move. */
export function moveToSplit(store: ProjectStore, imageIds: readonly number[], split: SplitName | null): number {
  if (split !== null && split !== 'train' && split !== 'test') throw new Error(`split must be "train" or "test", got "${String(split)}"`);
  const set = store.stmt(`UPDATE images SET split_override = CASE WHEN ? = base_split THEN NULL ELSE ? END WHERE id = ?`);
  return editImages(store, imageIds, (id) => set.run(split, split, id).changes);
}

/** Sets the words a class goes by in prompts (whitespace collapsed). */
export function renamePrompt(store: ProjectStore, classId: number, promptName: string): ClassInfo {
  const name = promptName.replace(/\s+/g, ' ').trim();
  if (!name) throw new Error('a prompt name cannot be empty');
  if (name.length > MAX_PROMPT_NAME) throw new Error(`a prompt name can have at most ${MAX_PROMPT_NAME} characters`);
  store.getClass(classId);
  store.stmt('UPDATE classes SET prompt_name = ? WHERE id = ?').run(name, classId);
  return store.getClass(classId);
}

// ---------- duplicates ----------

/** Groups of present images with identical bytes. */
export function exactDuplicateGroups(store: ProjectStore, datasetId: number): { sha256: string; imageIds: number[] }[] {
  const rows = store
    .stmt(`SELECT sha256, group_concat(id) AS ids FROM (SELECT sha256, id FROM images WHERE dataset_id = ? AND missing = 0 ORDER BY id)
    GROUP BY sha256 HAVING COUNT(*) > 1 ORDER BY MIN(id)`)
    .all(datasetId) as { sha256: string; ids: string }[];
  return rows.map((r) => ({ sha256: r.sha256, imageIds: r.ids.split(',').map(Number) }));
}

export interface DuplicatePair {
  a: number;
  b: number;
  /** Cosine similarity of their view-0 features. */
  similarity: number;
  /** Same bytes (same SHA-256). */
  exact: boolean;
}

/**
 * Pairs among `imageIds` whose cached view-0 features have cosine ≥ threshold, most similar
 * first; exact duplicates always included. Blocked matrix products keep memory at
 * SIMILARITY_BLOCK × N. The TensorFlow.js backend must be initialised (loading a model does it).
 */
export async function nearDuplicatePairs(
  store: ProjectStore,
  modelId: number,
  imageIds: readonly number[],
  threshold = DEFAULT_DUPLICATE_THRESHOLD,
): Promise<DuplicatePair[]> {
  const ids = [...imageIds];
  const n = ids.length;
  const pairs = new Map<string, DuplicatePair>();
  if (n >= 2) {
    const features = loadFeatures(store, modelId, ids, 0, { normalize: true });
    const width = features.length / n;
    // A transposed copy once: plain (non-transposed) matMul is the fast path on wasm.
    const allT = tf.tidy(() => tf.tensor2d(features, [n, width]).transpose());
    try {
      for (let start = 0; start < n - 1; start += SIMILARITY_BLOCK) {
        const rows = Math.min(SIMILARITY_BLOCK, n - start);
        const sims = await readAndDispose(tf.tidy(() => tf.matMul(tf.tensor2d(features.subarray(start * width, (start + rows) * width), [rows, width]), allT)));
        for (let r = 0; r < rows; r++) {
          const i = start + r;
          for (let j = i + 1; j < n; j++) {
            const s = sims[r * n + j];
            if (s >= threshold) pairs.set(`${ids[i]}:${ids[j]}`, { a: ids[i], b: ids[j], similarity: Math.min(1, s), exact: false });
          }
        }
      }
    } finally {
      allT.dispose();
    }
  }
  const sha = new Map(ids.map((id) => [id, store.getImage(id).sha256]));
  const byHash = new Map<string, number[]>();
  for (const id of ids) byHash.set(sha.get(id)!, [...(byHash.get(sha.get(id)!) ?? []), id]);
  for (const group of byHash.values()) {
    for (let x = 0; x < group.length; x++) {
      for (let y = x + 1; y < group.length; y++) pairs.set(`${group[x]}:${group[y]}`, { a: group[x], b: group[y], similarity: 1, exact: true });
    }
  }
  return [...pairs.values()].sort((p, q) => q.similarity - p.similarity || p.a - q.a || p.b - q.b);
}

/** Computes the view-0 features it needs, then nearDuplicatePairs over a dataset's present images. */
export async function findNearDuplicates(
  store: ProjectStore,
  model: ClipModel,
  datasetId: number,
  opts: { threshold?: number } = {},
  ctx?: JobContext,
): Promise<DuplicatePair[]> {
  const images = store.listImages(datasetId, { includeExcluded: true });
  const { summary, present } = await featuresFor(store, model, images, ctx);
  return nearDuplicatePairs(
    store,
    summary.modelId,
    present.map((i) => i.id),
    opts.threshold,
  );
}

/** Connected groups of duplicate pairs; a group's similarity is its weakest link. */
export function groupDuplicates(pairs: readonly DuplicatePair[]): DuplicateGroup[] {
  const parent = new Map<number, number>();
  const find = (x: number): number => {
    while (parent.get(x)! !== x) {
      parent.set(x, parent.get(parent.get(x)!)!);
      x = parent.get(x)!;
    }
    return x;
  };
  for (const p of pairs) {
    if (!parent.has(p.a)) parent.set(p.a, p.a);
    if (!parent.has(p.b)) parent.set(p.b, p.b);
    parent.set(find(p.a), find(p.b));
  }
  const groups = new Map<number, DuplicateGroup>();
  for (const p of pairs) {
    const root = find(p.a);
    const g = groups.get(root) ?? { imageIds: [], similarity: 1 };
    g.similarity = Math.min(g.similarity, p.similarity);
    for (const id of [p.a, p.b]) if (!g.imageIds.includes(id)) g.imageIds.push(id);
    groups.set(root, g);
  }
  return [...groups.values()]
    .map((g) => ({ ...g, imageIds: g.imageIds.sort((x, y) => x - y) }))
    .sort((x, y) => y.similarity - x.similarity || x.imageIds[0] - y.imageIds[0]);
}

// ---------- text search ----------

/** Images of a dataset ranked by cosine between CLIP's text features of `query` and their view-0 features. */
export async function searchByText(
  store: ProjectStore,
  model: ClipModel,
  datasetId: number,
  query: string,
  opts: { limit?: number } = {},
  ctx?: JobContext,
): Promise<SearchHit[]> {
  const text = query.trim();
  if (!text) throw new Error('the search text is empty');
  const limit = opts.limit ?? DEFAULT_SEARCH_LIMIT;
  const images = store.listImages(datasetId, { includeExcluded: true });
  const { summary, present } = await featuresFor(store, model, images, ctx);
  const modelId = summary.modelId;
  const ids = present.map((i) => i.id);
  if (ids.length === 0) return [];
  const [q] = await embedTexts(model, [text], ctx);
  normalizeRow(q);
  const features = loadFeatures(store, modelId, ids, 0, { normalize: true });
  const width = q.length;
  const hits = ids.map((imageId, i) => {
    let score = 0;
    for (let k = 0; k < width; k++) score += features[i * width + k] * q[k];
    return { imageId, score };
  });
  return hits.sort((x, y) => y.score - x.score || x.imageId - y.imageId).slice(0, limit);
}
