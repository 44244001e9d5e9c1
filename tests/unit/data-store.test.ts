import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { blobToFloats, floatsToBlob, LAMM_APPLICATION_ID, MIGRATIONS, openDatabase, SCHEMA_VERSION } from '../../src-main/data/db';
import { importFolder } from '../../src-main/data/import';
import { defaultPromptName, ProjectStore } from '../../src-main/data/store';
import { LOSS_TERMS, termsFromList } from '../../src-main/lamm/loss-terms';
import { makeClassFolder, storesClosedAfterEach, tempDir } from './data-fixtures';

const open = storesClosedAfterEach();

describe('project database', () => {
  it('opens in WAL mode with foreign keys, migrated to the latest schema, idempotently', () => {
    const file = path.join(tempDir(), 'p.lamm');
    const db = openDatabase(file);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(SCHEMA_VERSION).toBe(MIGRATIONS.length);
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map((r) => r.name);
    expect(tables).toEqual([
      'classes',
      'datasets',
      'embedding_maps',
      'features',
      'images',
      'label_embeddings',
      'leases',
      'models',
      'predictions',
      'run_classes',
      'run_log',
      'run_tensors',
      'runs',
    ]);
    db.close();
    const again = openDatabase(file);
    expect(again.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    again.close();
  });

  it('refuses files from a newer version, and read-only opens of missing files, in one line', () => {
    const dir = tempDir();
    const newer = path.join(dir, 'newer.lamm');
    const raw = new Database(newer);
    raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    raw.close();
    expect(() => openDatabase(newer)).toThrow(
      `cannot open project ${newer}: it was written by a newer LAMM Studio (schema ${SCHEMA_VERSION + 1} > ${SCHEMA_VERSION})`,
    );
    expect(() => ProjectStore.open(path.join(dir, 'absent.lamm'), { readonly: true })).toThrow(/^cannot open project .*absent\.lamm: /);
  });

  it('refuses a database that is not a LAMM project in one line, changing nothing in the file', () => {
    const file = path.join(tempDir(), 'foreign.sqlite');
    const raw = new Database(file);
    raw.exec("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes (body) VALUES ('keep me')");
    raw.close();
    const before = fs.readFileSync(file);
    expect(() => ProjectStore.open(file)).toThrow(
      new RegExp(`^cannot open project ${escapeRegExp(file)}: not a LAMM Studio project \\(it holds other tables: notes\\)$`),
    );
    expect(() => ProjectStore.open(file, { readonly: true })).toThrow(/not a LAMM Studio project/);
    expect(fs.readFileSync(file).equals(before)).toBe(true);
    expect(fs.readdirSync(path.dirname(file))).toEqual(['foreign.sqlite']);

    // Another application's id is refused even when its tables happen to look like ours.
    const other = path.join(tempDir(), 'other.sqlite');
    const db = new Database(other);
    db.exec(MIGRATIONS[0]);
    db.pragma('application_id = 1234');
    db.pragma('user_version = 1');
    db.close();
    const otherBefore = fs.readFileSync(other);
    expect(() => openDatabase(other)).toThrow(`cannot open project ${other}: not a LAMM Studio project (application_id 0x000004d2)`);
    expect(fs.readFileSync(other).equals(otherBefore)).toBe(true);
  });

  it('marks new projects, and LAMM projects made before the mark, with its application_id', () => {
    const dir = tempDir();
    const fresh = openDatabase(path.join(dir, 'new.lamm'));
    expect(fresh.pragma('application_id', { simple: true })).toBe(LAMM_APPLICATION_ID);
    fresh.close();
    // A project written by an earlier build: our schema (version 1), no application_id yet.
    const legacy = path.join(dir, 'legacy.lamm');
    const raw = new Database(legacy);
    raw.exec(MIGRATIONS[0]);
    raw.pragma('user_version = 1');
    raw.exec("INSERT INTO datasets (root, layout, created_at) VALUES ('/data', 'classes', 0)");
    raw.close();
    const store = open(legacy);
    expect(store.db.pragma('application_id', { simple: true })).toBe(LAMM_APPLICATION_ID);
    expect(store.db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(store.listDatasets().map((d) => d.root)).toEqual(['/data']);
    // An empty file (what some tools create first) becomes a project.
    const empty = path.join(dir, 'empty.lamm');
    fs.writeFileSync(empty, '');
    expect(open(empty).db.pragma('application_id', { simple: true })).toBe(LAMM_APPLICATION_ID);
  });

  it('round-trips float32 blobs, whatever the buffer alignment', () => {
    const values = new Float32Array([1.5, -2.25, 3.0e-8, 65504]);
    const blob = floatsToBlob(values);
    const unaligned = Buffer.concat([Buffer.from([7]), blob]).subarray(1);
    expect(Array.from(blobToFloats(unaligned))).toEqual(Array.from(values));
    expect(() => blobToFloats(Buffer.alloc(5))).toThrow('float32 blob has 5 bytes, not a multiple of 4');
  });

  it('turns folder names into prompt names', () => {
    expect(defaultPromptName('golden_retriever')).toBe('golden retriever');
    expect(defaultPromptName('sea-lion')).toBe('sea lion');
    expect(defaultPromptName('Black__and--white')).toBe('Black and white');
    expect(defaultPromptName('crème brûlée')).toBe('crème brûlée');
    expect(defaultPromptName('___')).toBe('___');
  });
});

describe('runs', () => {
  async function withDataset() {
    const dir = tempDir();
    await makeClassFolder(path.join(dir, 'DATA'), { a: 2, b: 2 });
    const store = open(path.join(dir, 'p.lamm'));
    const { datasetId } = await importFolder(store, path.join(dir, 'DATA'));
    const model = store.registerModel({ folder: '/models/clip', weightsSha256: 'w1', cacheKey: 'k1', config: { projectionDim: 4 } });
    return { store, datasetId, model, classes: store.listClasses(datasetId), images: store.listImages(datasetId) };
  }

  it('records a run: config, per-epoch log, label embeddings, predictions, then its end', async () => {
    const { store, datasetId, model, classes, images } = await withDataset();
    const runId = store.createRun({
      datasetId,
      modelId: model.id,
      kind: 'lamm',
      config: { shots: 1, seed: 3 },
      backend: 'wasm (1 thread)',
      classes: classes.map((c) => ({ classId: c.id, promptName: c.promptName })),
    });
    expect(store.getRun(runId)).toMatchObject({ id: runId, kind: 'lamm', status: 'running', config: { shots: 1, seed: 3 }, metrics: null, finishedAt: null });
    expect(store.getRunClasses(runId)).toEqual(classes.map((c) => ({ classId: c.id, promptName: c.promptName })));

    const epochs = [1, 2].map((epoch) => ({
      epoch,
      lr: 0.002 / epoch,
      loss: 1 / epoch,
      terms: termsFromList(LOSS_TERMS.map((_, i) => 0.1 * (i + 1))),
      trainAccuracy: 0.5 * epoch,
      testAccuracy: epoch === 2 ? 0.75 : null,
      seconds: 1.5,
    }));
    for (const e of epochs) store.appendRunLog(runId, e);
    expect(store.getRunLog(runId)).toEqual(epochs);

    const emb = classes.map((c, k) => ({ classId: c.id, tokens: 2, dim: 3, data: new Float32Array([k, 1, 2, 3, 4, 5.5]), init: new Float32Array(6).fill(k) }));
    store.saveLabelEmbeddings(runId, emb);
    expect(store.getLabelEmbeddings(runId)).toEqual(emb);
    expect(() => store.saveLabelEmbeddings(runId, [{ ...emb[0], tokens: 3 }])).toThrow(`label embedding of class ${emb[0].classId} must have 3×3 values`);

    const preds = images.map((img, i) => ({
      imageId: img.id,
      labelClassId: img.classId,
      predictedClassId: classes[i % 2].id,
      score: 0.9,
      probs: new Float32Array([0.9, 0.1]),
    }));
    store.savePredictions(runId, preds);
    expect(store.getPredictions(runId)).toEqual([...preds].sort((x, y) => x.imageId - y.imageId));
    expect(() => store.savePredictions(runId, [{ ...preds[0], imageId: 424242 }])).toThrow(/FOREIGN KEY/);

    store.finishRun(runId, { accuracy: 0.75, perClass: { a: 1, b: 0.5 } }, { totalSeconds: 3 });
    const done = store.getRun(runId);
    expect(done).toMatchObject({
      status: 'done',
      backend: 'wasm (1 thread)',
      metrics: { accuracy: 0.75, perClass: { a: 1, b: 0.5 } },
      timings: { totalSeconds: 3 },
      error: null,
    });
    expect(done.finishedAt).not.toBeNull();
  });

  it('marks failed and cancelled runs with a one-line reason and keeps their log; lists by dataset', async () => {
    const { store, datasetId, classes } = await withDataset();
    const make = () => store.createRun({ datasetId, modelId: null, kind: 'coop', config: {}, classes: [{ classId: classes[0].id, promptName: 'x' }] });
    const failed = make();
    store.appendRunLog(failed, { epoch: 1, lr: 1, loss: 1, terms: termsFromList(LOSS_TERMS.map(() => 1)), trainAccuracy: 0, testAccuracy: null, seconds: 1 });
    store.failRun(failed, new Error('out of memory\n  at somewhere'));
    const cancelled = make();
    store.failRun(cancelled, 'cancelled', { cancelled: true });
    expect(store.getRun(failed)).toMatchObject({ status: 'failed', error: 'out of memory' });
    expect(store.getRunLog(failed)).toHaveLength(1);
    expect(store.getRun(cancelled)).toMatchObject({ status: 'cancelled', error: 'cancelled' });
    expect(store.listRuns(datasetId).map((r) => r.id)).toEqual([failed, cancelled]);
    expect(store.listRuns(datasetId + 1)).toEqual([]);
    expect(() => store.getRun(9999)).toThrow('run 9999 does not exist in this project');
  });

  it("drops a model's cached features when its cache key changes, keeps them otherwise", async () => {
    const { store, model, images } = await withDataset();
    const insert = store.db.prepare('INSERT INTO features (model_id, view, image_id, data) VALUES (?, 0, ?, ?)');
    for (const img of images) insert.run(model.id, img.id, floatsToBlob(new Float32Array(4)));
    const count = () => (store.db.prepare('SELECT COUNT(*) AS n FROM features').get() as { n: number }).n;
    store.registerModel({ folder: '/models/clip', weightsSha256: 'w1', cacheKey: 'k1', config: {} });
    expect(count()).toBe(images.length);
    const again = store.registerModel({ folder: '/models/clip', weightsSha256: 'w2', cacheKey: 'k2', config: {} });
    expect(again.id).toBe(model.id);
    expect(again.weightsSha256).toBe('w2');
    expect(count()).toBe(0);
    expect(store.listModels()).toHaveLength(1);
  });
});

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
