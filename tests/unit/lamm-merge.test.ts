// `lamm merge`: class-incremental LAMM runs become one classifier. Two runs trained by
// `lamm train --classes` on disjoint halves merge with the old classes' label embeddings byte
// for byte, the merged run evaluated on the union of both runs' test splits and usable like any
// run (Inspect's neighbours); a CoOp run is refused with a one-line reason.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadClip } from '../../src-main/clip';
import { ProjectStore } from '../../src-main/data/store';
import { runNeighbours } from '../../src-main/lamm/neighbours';
import { REPO_ROOT } from '../helpers/golden';
import { FIXTURE_CLASSES, makeTinyModel, tempDir, writeImageFolder } from './lamm-fixture';

const run = promisify(execFile);
const LAMM = path.join(REPO_ROOT, 'bin', 'lamm.js');
const QUICK = ['--shots', '3', '--epochs', '3', '--views', '2', '--batch-size', '4', '--lr', '0.01'];

async function lamm(...args: string[]): Promise<any> {
  const { stdout } = await run(process.execPath, [LAMM, ...args, '--json'], { cwd: REPO_ROOT, maxBuffer: 1 << 24 });
  return JSON.parse(stdout);
}
async function lammFails(...args: string[]): Promise<{ code: number; stderr: string }> {
  const err = await run(process.execPath, [LAMM, ...args, '--json'], { cwd: REPO_ROOT }).then(
    () => null,
    (e) => e,
  );
  expect(err, 'the command should have failed').not.toBeNull();
  return { code: err.code, stderr: err.stderr };
}

/** label_embeddings rows of a run as stored: class id → the raw bytes of E and E0. */
function rawEmbeddings(dbFile: string, runId: number): Map<number, Buffer> {
  const store = ProjectStore.open(dbFile, { readonly: true });
  try {
    const rows = store.db.prepare('SELECT class_id, data, init FROM label_embeddings WHERE run_id = ?').all(runId) as {
      class_id: number;
      data: Buffer;
      init: Buffer;
    }[];
    return new Map(rows.map((r) => [r.class_id, Buffer.concat([r.data, r.init])]));
  } finally {
    store.close();
  }
}

describe('lamm merge', () => {
  const dir = tempDir('merge');
  const data = path.join(dir, 'data');
  const db = path.join(dir, 'project.lamm');
  let modelDir = '';
  const [first, second, third, fourth] = FIXTURE_CLASSES.map((c) => c.folder);
  let a: number;
  let b: number;

  beforeAll(async () => {
    await writeImageFolder(data, 8);
    modelDir = makeTinyModel(dir);
    a = (await lamm('train', '--model', modelDir, '--data', data, '--db', db, '--classes', `${first},${second}`, ...QUICK)).runId;
    b = (await lamm('train', '--model', modelDir, '--data', data, '--db', db, '--classes', `${third},${fourth}`, ...QUICK)).runId;
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('merges disjoint LAMM runs: old embeddings byte-identical, accuracy on the union of their test splits', async () => {
    const before = new Map([...rawEmbeddings(db, a), ...rawEmbeddings(db, b)]);
    const out = await lamm('merge', '--db', db, '--runs', `${a},${b}`);
    expect(Object.keys(out).sort()).toEqual(['accuracy', 'classes', 'perClass', 'runId']);
    expect(out.classes).toBe(4);
    expect(Object.keys(out.perClass).sort()).toEqual([first, second, third, fourth].sort());

    const merged = rawEmbeddings(db, out.runId);
    expect([...merged.keys()].sort()).toEqual([...before.keys()].sort());
    for (const [classId, bytes] of before) expect(merged.get(classId)!.equals(bytes), `class ${classId}`).toBe(true);
    // The source runs are untouched too.
    for (const [classId, bytes] of rawEmbeddings(db, a)) expect(bytes.equals(before.get(classId)!)).toBe(true);

    const store = ProjectStore.open(db, { readonly: true });
    try {
      const predictions = store.getPredictions(out.runId);
      const testIds = (id: number) => store.getPredictions(id).map((p) => p.imageId);
      expect(predictions.map((p) => p.imageId).sort((x, y) => x - y)).toEqual([...testIds(a), ...testIds(b)].sort((x, y) => x - y));
      const right = predictions.filter((p) => p.predictedClassId === p.labelClassId).length;
      expect(out.accuracy).toBeCloseTo(right / predictions.length, 10);
      const classIds = new Set(store.getRunClasses(out.runId).map((c) => c.classId));
      for (const p of predictions) expect(classIds.has(p.predictedClassId)).toBe(true);
      expect(store.getRun(out.runId)).toMatchObject({ kind: 'lamm', status: 'done' });
    } finally {
      store.close();
    }

    // A merged run is a run like any other: Inspect's neighbours read it.
    const model = await loadClip(modelDir);
    const store2 = ProjectStore.open(db, { readonly: true });
    try {
      const report = await runNeighbours(store2, model, out.runId, { k: 3 });
      expect(report.map((r) => r.folder)).toEqual([first, second, third, fourth]);
      for (const r of report) expect(r.tokens.length).toBeGreaterThan(0);
    } finally {
      store2.close();
      model.dispose();
    }
  });

  it('refuses a CoOp run with a one-line reason and writes nothing', async () => {
    const coop = (await lamm('train', '--model', modelDir, '--data', data, '--db', db, '--classes', `${third},${fourth}`, '--method', 'coop', ...QUICK)).runId;
    const runCount = () => {
      const store = ProjectStore.open(db, { readonly: true });
      try {
        return store.listRuns().length;
      } finally {
        store.close();
      }
    };
    const before = runCount();
    const { code, stderr } = await lammFails('merge', '--db', db, '--runs', `${a},${coop}`);
    expect(code).toBe(1);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(new RegExp(`^lamm merge: run ${coop} is coop: only LAMM runs merge`));
    expect(runCount()).toBe(before);
  });

  it('refuses bad run lists and overlapping classes', async () => {
    expect((await lammFails('merge', '--db', db, '--runs', `${a}`)).stderr).toContain('--runs needs at least two run ids');
    expect((await lammFails('merge', '--db', db, '--runs', `${a},x`)).stderr).toContain('--runs must be run ids separated by commas');
    expect((await lammFails('merge', '--db', db, '--runs', `${a},${a}`)).stderr).toContain('names a run twice');
    expect((await lammFails('merge', '--db', path.join(dir, 'nope.lamm'), '--runs', `${a},${b}`)).stderr).toContain('no project file at');
    const c = (await lamm('train', '--model', modelDir, '--data', data, '--db', db, '--classes', `${second},${third}`, ...QUICK)).runId;
    expect((await lammFails('merge', '--db', db, '--runs', `${a},${c}`)).stderr).toContain(`class "${second}" is in more than one run`);
  });
});
