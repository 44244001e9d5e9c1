// A run's classifier tensors that the schema has no column for: the normalised text features
// of its prompts (the linear head every evaluation, comparison, merge and export uses), the
// zero-shot features it was compared with, and CoOp's learned context (table run_tensors,
// migration 2 in data/db.ts).
import { blobToFloats, floatsToBlob } from './db';
import type { ProjectStore } from './store';

export type RunTensorName = 'text_features' | 'zero_shot_features' | 'context';

export interface StoredTensor {
  shape: number[];
  data: Float32Array;
}

export function saveRunTensor(store: ProjectStore, runId: number, name: RunTensorName, t: StoredTensor): void {
  if (t.shape.reduce((a, b) => a * b, 1) !== t.data.length) throw new Error(`run tensor ${name}: shape [${t.shape}] does not match ${t.data.length} values`);
  store
    .stmt('INSERT OR REPLACE INTO run_tensors (run_id, name, shape, data) VALUES (?, ?, ?, ?)')
    .run(runId, name, JSON.stringify(t.shape), floatsToBlob(t.data));
}

export function getRunTensor(store: ProjectStore, runId: number, name: RunTensorName): StoredTensor | null {
  const row = store.stmt('SELECT shape, data FROM run_tensors WHERE run_id = ? AND name = ?').get(runId, name) as { shape: string; data: Buffer } | undefined;
  return row ? { shape: JSON.parse(row.shape) as number[], data: blobToFloats(row.data) } : null;
}
