// A run's classifier tensors that the schema has no column for: the normalised text features
// of its prompts (the linear head every evaluation, comparison, merge and export uses), the
// zero-shot features it was compared with, and CoOp's learned context.
// TODO(data): this table belongs in db.ts's MIGRATIONS as migration 2; until then it is created
// here, idempotently, on first use.
import { blobToFloats, floatsToBlob } from '../data/db';
import type { ProjectStore } from '../data/store';

export type RunTensorName = 'text_features' | 'zero_shot_features' | 'context';

export interface StoredTensor {
  shape: number[];
  data: Float32Array;
}

const ensured = new WeakSet<object>();

function ensureTable(store: ProjectStore): void {
  if (ensured.has(store.db)) return;
  store.db.exec(`CREATE TABLE IF NOT EXISTS run_tensors (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    name   TEXT NOT NULL,
    shape  TEXT NOT NULL,   -- JSON array
    data   BLOB NOT NULL,   -- float32 little-endian
    PRIMARY KEY (run_id, name)
  )`);
  ensured.add(store.db);
}

export function saveRunTensor(store: ProjectStore, runId: number, name: RunTensorName, t: StoredTensor): void {
  ensureTable(store);
  if (t.shape.reduce((a, b) => a * b, 1) !== t.data.length) throw new Error(`run tensor ${name}: shape [${t.shape}] does not match ${t.data.length} values`);
  store.db.prepare('INSERT OR REPLACE INTO run_tensors (run_id, name, shape, data) VALUES (?, ?, ?, ?)')
    .run(runId, name, JSON.stringify(t.shape), floatsToBlob(t.data));
}

export function getRunTensor(store: ProjectStore, runId: number, name: RunTensorName): StoredTensor | null {
  ensureTable(store);
  const row = store.db.prepare('SELECT shape, data FROM run_tensors WHERE run_id = ? AND name = ?').get(runId, name) as { shape: string; data: Buffer } | undefined;
  return row ? { shape: JSON.parse(row.shape) as number[], data: blobToFloats(row.data) } : null;
}
