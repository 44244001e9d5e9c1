// Work cut off by a dead process: a run whose process was SIGKILLed must not stay "running",
// and an import killed between writing a thumbnail's temp file and renaming it must not leave
// the temp file behind. The killed processes are real `node` processes running the engine.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../src-main/data/db';
import { importFolder } from '../../src-main/data/import';
import { currentOwner, ownedTempPath } from '../../src-main/data/owner';
import { ProjectStore } from '../../src-main/data/store';
import { thumbnailFile } from '../../src-main/data/thumbnails';
import { REPO_ROOT } from '../helpers/golden';
import { makeClassFolder, storesClosedAfterEach, tempDir } from './data-fixtures';

const STORE_MODULE = pathToFileURL(path.join(REPO_ROOT, 'src-main/data/store.ts')).href;
const IMPORT_MODULE = pathToFileURL(path.join(REPO_ROOT, 'src-main/data/import.ts')).href;

/** Starts a run, logs an epoch, says so and waits to be killed. */
const RUNNER = `
import { ProjectStore } from '${STORE_MODULE}';
const [dbFile] = process.argv.slice(2);
const store = ProjectStore.open(dbFile);
const runId = store.createRun({ datasetId: null, modelId: null, kind: 'lamm', config: { epochs: 50 }, classes: [] });
store.appendRunLog(runId, { epoch: 1, lr: 1e-5, loss: 2, ce: 2, wc: 0, cos: 0, kd: 0, trainAccuracy: 0.5, testAccuracy: null, seconds: 1 });
process.stdout.write(JSON.stringify({ runId }) + '\\n');
setInterval(() => {}, 1000);
`;

/** Imports, and SIGKILLs itself the moment the third thumbnail's temp file is written, before its rename. */
const KILLED_IMPORTER = `
import fs from 'node:fs';
import { ProjectStore } from '${STORE_MODULE}';
import { importFolder } from '${IMPORT_MODULE}';
const [dbFile, data] = process.argv.slice(2);
const rename = fs.promises.rename;
let renames = 0;
fs.promises.rename = async (from, to) => {
  if (String(from).endsWith('.tmp') && ++renames === 3) process.kill(process.pid, 'SIGKILL');
  return rename(from, to);
};
const store = ProjectStore.open(dbFile);
await importFolder(store, data, { batchSize: 1, concurrency: 1 });
process.stdout.write('finished without being killed\\n');
`;

const children: ReturnType<typeof spawn>[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

function runScript(dir: string, name: string, source: string, args: string[]) {
  const file = path.join(dir, name);
  fs.writeFileSync(file, source);
  const child = spawn(process.execPath, ['--import', 'tsx', file, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ signal: NodeJS.Signals | null; stderr: string }>((resolve) => child.on('close', (_code, signal) => resolve({ signal, stderr })));
  const firstLine = async (): Promise<string> => {
    const until = Date.now() + 60_000;
    while (!stdout.includes('\n')) {
      if (Date.now() > until || child.exitCode !== null) throw new Error(`no output from ${name}: ${stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return stdout.split('\n')[0];
  };
  return { child, exited, firstLine, stdout: () => stdout };
}

const open = storesClosedAfterEach();

describe('work of a process that died', () => {
  it('marks the runs of a SIGKILLed process interrupted on the next open, and only those', async () => {
    const dir = tempDir();
    const dbFile = path.join(dir, 'runs.lamm');
    const runner = runScript(dir, 'runner.mts', RUNNER, [dbFile]);
    const { runId } = JSON.parse(await runner.firstLine()) as { runId: number };
    runner.child.kill('SIGKILL');
    expect((await runner.exited).signal).toBe('SIGKILL');

    const before = open(dbFile);
    // Opened while the killer was still alive? No: it is dead, so this open already mended it.
    expect(before.getRun(runId).status).toBe('interrupted');
    expect(before.getRun(runId).error).toMatch(/^its process \(pid \d+ on .+\) ended before the run did$/);
    expect(before.getRun(runId).finishedAt).not.toBeNull();
    expect(before.getRunLog(runId).map((e) => e.epoch)).toEqual([1]); // what it logged is kept

    // A run of this (living) process stays running; so does one owned on another machine. A
    // lease naming this pid with another start time is a dead process whose pid was reused.
    const mine = before.createRun({ datasetId: null, modelId: null, kind: 'lamm', config: {}, classes: [] });
    const remote = before.createRun({ datasetId: null, modelId: null, kind: 'lamm', config: {}, classes: [] });
    const reused = before.createRun({ datasetId: null, modelId: null, kind: 'lamm', config: {}, classes: [] });
    before.db.prepare("UPDATE leases SET host = 'elsewhere.example' WHERE run_id = ?").run(remote);
    before.db.prepare("UPDATE leases SET process_start = 'an earlier process' WHERE run_id = ?").run(reused);
    const again = open(dbFile);
    expect([mine, remote, reused].map((id) => again.getRun(id).status)).toEqual(['running', 'running', 'interrupted']);
    expect(again.getRun(runId).status).toBe('interrupted');

    // A new run starts and ends normally, and ending it releases its lease.
    const next = again.createRun({ datasetId: null, modelId: null, kind: 'lamm', config: {}, classes: [] });
    again.finishRun(next, { accuracy: 0.9, perClass: {} });
    expect(again.getRun(next).status).toBe('done');
    expect(again.db.prepare('SELECT COUNT(*) AS n FROM leases WHERE run_id = ?').get(next)).toEqual({ n: 0 });
    expect(again.listRuns().map((r) => r.status)).toEqual(['interrupted', 'running', 'running', 'interrupted', 'done']);
  });

  it('knows its own process by pid and start time', () => {
    const me = currentOwner();
    expect(me.pid).toBe(process.pid);
    expect(me.host).toBe(os.hostname());
    if (process.platform === 'linux') expect(me.start).toMatch(/^[0-9a-f-]+:\d+$/);
  });

  it('sweeps the temp thumbnails of an import killed mid-write, keeping those of a living import', async () => {
    const dir = tempDir();
    const data = path.join(dir, 'DATA');
    await makeClassFolder(data, { a: 4, b: 4 });
    const dbFile = path.join(dir, 'thumbs.lamm');
    const importer = runScript(dir, 'importer.mts', KILLED_IMPORTER, [dbFile, data]);
    const { signal, stderr } = await importer.exited;
    expect(signal, stderr).toBe('SIGKILL');
    expect(importer.stdout()).not.toContain('finished without being killed');

    const thumbDir = `${dbFile}.thumbs`;
    const temps = () =>
      fs
        .readdirSync(thumbDir, { recursive: true })
        .map(String)
        .filter((f) => f.endsWith('.tmp'));
    expect(temps()).toHaveLength(1); // the kill really left one behind
    const finished = fs
      .readdirSync(thumbDir, { recursive: true })
      .map(String)
      .filter((f) => f.endsWith('.webp'));
    expect(finished).toHaveLength(2);

    // A temp file of this living process (an import in progress here) must survive the sweep.
    const writer = open(dbFile);
    expect(temps()).toEqual([]);
    const release = writer.holdImportLease();
    const live = ownedTempPath(thumbnailFile(thumbDir, 'ab'.repeat(32)));
    fs.mkdirSync(path.dirname(live), { recursive: true });
    fs.writeFileSync(live, 'in flight');
    open(dbFile);
    expect(fs.existsSync(live)).toBe(true);
    release();
    fs.rmSync(live);
    for (const f of finished) expect(fs.statSync(path.join(thumbDir, f)).size).toBeGreaterThan(0);

    // The re-run completes the import and leaves no lease behind.
    const summary = await importFolder(writer, data);
    expect(summary.images).toBe(8);
    expect(writer.db.prepare('SELECT COUNT(*) AS n FROM leases').get()).toEqual({ n: 0 });
  });

  it('migrates a project of an earlier build without losing run rows, and interrupts its stuck runs', () => {
    const file = path.join(tempDir(), 'v2.lamm');
    const raw = new Database(file);
    raw.exec(MIGRATIONS[0]);
    raw.exec(MIGRATIONS[1]);
    raw.pragma('user_version = 2');
    raw.exec(`INSERT INTO runs (id, kind, status, config_json, created_at) VALUES (1, 'lamm', 'done', '{}', 0), (2, 'lamm', 'running', '{}', 0);
      INSERT INTO run_log VALUES (1, 1, 0.1, 1, 1, 0, 0, 0, 0.5, 0.6, 1), (2, 1, 0.1, 1, 1, 0, 0, 0, 0.5, NULL, 1);
      INSERT INTO run_tensors VALUES (1, 'text_features', '[1]', x'0000803f')`);
    raw.close();
    const store = open(file);
    expect(store.listRuns().map((r) => [r.id, r.status])).toEqual([
      [1, 'done'],
      [2, 'interrupted'],
    ]);
    expect(store.getRun(2).error).toBe('it was left running by an earlier version that recorded no owner');
    expect(store.getRunLog(1)).toHaveLength(1);
    expect(store.getRunLog(2)).toHaveLength(1);
    expect(store.db.prepare('SELECT COUNT(*) AS n FROM run_tensors').get()).toEqual({ n: 1 });
    expect(store.db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(store.db.pragma('foreign_key_check')).toEqual([]);
    // Foreign keys still cascade from the rebuilt table.
    store.db.prepare('DELETE FROM runs WHERE id = 1').run();
    expect(store.getRunLog(1)).toHaveLength(0);
  });
});
