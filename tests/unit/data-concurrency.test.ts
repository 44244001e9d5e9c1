// Several processes on one project file: readers while a writer imports, and a writer killed
// in the middle of an import. The other processes are real `node` processes running the engine.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { importFolder } from '../../src-main/data/import';
import { ProjectStore } from '../../src-main/data/store';
import { thumbnailFile } from '../../src-main/data/thumbnails';
import { REPO_ROOT } from '../helpers/golden';
import { makeClassFolder, tempDir } from './data-fixtures';

const STORE_MODULE = pathToFileURL(path.join(REPO_ROOT, 'src-main/data/store.ts')).href;
const CURATION_MODULE = pathToFileURL(path.join(REPO_ROOT, 'src-main/data/curation.ts')).href;
const IMPORT_MODULE = pathToFileURL(path.join(REPO_ROOT, 'src-main/data/import.ts')).href;

/** Reads in a loop until `doneFlag` exists, checking each snapshot is consistent; prints a JSON report. */
const READER = `
import fs from 'node:fs';
import { ProjectStore } from '${STORE_MODULE}';
import { classCounts } from '${CURATION_MODULE}';
const [dbFile, doneFlag] = process.argv.slice(2);
const store = ProjectStore.open(dbFile, { readonly: true });
const seen = new Set();
const errors = [];
let reads = 0;
let last = 0;
process.stdout.write('ready\\n');
for (;;) {
  const finished = fs.existsSync(doneFlag);
  try {
    const snapshot = store.db.transaction(() => {
      const n = store.db.prepare('SELECT COUNT(*) AS n FROM images WHERE missing = 0').get().n;
      const datasets = store.listDatasets();
      const perClass = datasets.length ? classCounts(store, datasets[0].id).reduce((s, c) => s + c.total, 0) : 0;
      return { n, perClass };
    })();
    if (snapshot.n !== snapshot.perClass) errors.push('inconsistent snapshot ' + JSON.stringify(snapshot));
    if (snapshot.n < last) errors.push('count went back from ' + last + ' to ' + snapshot.n);
    last = snapshot.n;
    seen.add(snapshot.n);
  } catch (err) {
    errors.push(String(err.message));
  }
  reads++;
  if (finished) break;
  await new Promise((r) => setTimeout(r, 3));
}
store.close();
process.stdout.write(JSON.stringify({ reads, last, seen: [...seen], errors }) + '\\n');
`;

/** Imports, and kills itself with SIGKILL once `killAt` files are done. */
const KILLED_IMPORTER = `
import { ProjectStore } from '${STORE_MODULE}';
import { importFolder } from '${IMPORT_MODULE}';
const [dbFile, data, killAt] = process.argv.slice(2);
const store = ProjectStore.open(dbFile);
const ctx = { signal: new AbortController().signal, progress: (p) => { if (p.done >= Number(killAt)) process.kill(process.pid, 'SIGKILL'); } };
await importFolder(store, data, { batchSize: 8, concurrency: 4 }, ctx);
process.stdout.write('finished without being killed\\n');
`;

interface Child {
  stdout: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
  kill(): void;
}

function runScript(dir: string, name: string, source: string, args: string[]): Child {
  const file = path.join(dir, name);
  fs.writeFileSync(file, source);
  const child = spawn(process.execPath, ['--import', 'tsx', file, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const stdout: string[] = [];
  let stderr = '';
  let partial = '';
  child.stdout.on('data', (chunk: Buffer) => {
    partial += chunk.toString();
    const lines = partial.split('\n');
    partial = lines.pop()!;
    stdout.push(...lines);
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stderr })),
  );
  children.push(child);
  return { stdout, exited, kill: () => child.kill() };
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const children: ReturnType<typeof spawn>[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

describe('several processes on one project', () => {
  it('two processes read consistent snapshots while a third imports', async () => {
    const dir = tempDir();
    const data = path.join(dir, 'DATA');
    await makeClassFolder(data, { a: 80, b: 80, c: 80 });
    const dbFile = path.join(dir, 'shared.lamm');
    ProjectStore.open(dbFile).close(); // create and migrate before the readers open it read-only
    const doneFlag = path.join(dir, 'done');
    const readers = [runScript(dir, 'reader1.mts', READER, [dbFile, doneFlag]), runScript(dir, 'reader2.mts', READER, [dbFile, doneFlag])];
    await waitFor(() => readers.every((r) => r.stdout.includes('ready')), 'readers to start');

    const writer = ProjectStore.open(dbFile);
    try {
      const summary = await importFolder(writer, data, { batchSize: 10 });
      expect(summary.images).toBe(240);
    } finally {
      writer.close();
    }
    fs.writeFileSync(doneFlag, '');
    for (const reader of readers) {
      const { code, stderr } = await reader.exited;
      expect(code, stderr).toBe(0);
      const report = JSON.parse(reader.stdout.at(-1)!) as { reads: number; last: number; seen: number[]; errors: string[] };
      expect(report.errors).toEqual([]);
      expect(report.last).toBe(240);
      // It really read during the import: it saw the project part-way.
      expect(report.seen.some((n) => n > 0 && n < 240)).toBe(true);
    }
  });

  it('a process killed in the middle of an import leaves a consistent project that a re-run completes', async () => {
    const dir = tempDir();
    const data = path.join(dir, 'DATA');
    await makeClassFolder(data, { cats: 60, dogs: 60 });
    const dbFile = path.join(dir, 'killed.lamm');
    const importer = runScript(dir, 'importer.mts', KILLED_IMPORTER, [dbFile, data, '50']);
    const { signal, stderr } = await importer.exited;
    expect(signal, stderr).toBe('SIGKILL');
    expect(importer.stdout).not.toContain('finished without being killed');

    const store = ProjectStore.open(dbFile);
    try {
      expect(store.db.pragma('integrity_check', { simple: true })).toBe('ok');
      expect(store.db.pragma('foreign_key_check')).toEqual([]);
      const dataset = store.listDatasets()[0];
      expect(dataset.lastImport).toBeNull(); // it never finished
      const rows = store.listImages(dataset.id);
      expect(rows.length).toBeGreaterThan(0);
      expect(rows.length).toBeLessThan(120);
      for (const row of rows) {
        // Every committed row is whole and true to its file, thumbnail included.
        const bytes = fs.readFileSync(store.imageFile(row));
        expect(row.sha256).toBe(crypto.createHash('sha256').update(bytes).digest('hex'));
        expect(fs.existsSync(thumbnailFile(store.thumbnailDir!, row.sha256))).toBe(true);
        expect(store.getClass(row.classId).folder).toBe(row.path.split('/')[0]);
      }

      const summary = await importFolder(store, data);
      expect(summary).toMatchObject({ unchanged: rows.length, added: 120 - rows.length, removed: 0, moved: 0, changed: 0, images: 120, skipped: [] });
      const paths = store.listImages(dataset.id).map((i) => i.path);
      expect(new Set(paths).size).toBe(120);
      expect(store.getDataset(dataset.id).lastImport).toMatchObject({ images: 120 });
    } finally {
      store.close();
    }
  });
});
