// The Electron build as electron-vite bundles it (global-setup builds it): every main and preload
// file parses, every package it imports is one the packaged app carries (a runtime dependency,
// not a dev one; optional ones are loaded in a try), the bundled main process starts under Node
// with a stand-in for Electron's API (tests/e2e/fake-electron) and serves the window, its IPC and
// the demo, and the bundled workers run under Node, which Electron's main process is: a
// training job on the train worker, UMAP and the label-issue probes on the compute worker, each
// equal to the same work run from source. (The window itself needs Electron: electron-smoke.)
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src-main/backend';
import { runOffThread } from '../../src-main/jobs/compute';
import { silentContext } from '../../src-main/jobs/context';
import { startTraining } from '../../src-main/jobs/training';
import { setBundledWorkerDir } from '../../src-main/jobs/workers';
import { makeProject, makeTinyModel, tempDir } from '../unit/lamm-fixture';
import { ROOT } from './harness';

const OUT = path.join(ROOT, 'out');
const jsFiles = (dir: string): string[] =>
  fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? jsFiles(path.join(dir, e.name)) : /\.[cm]?js$/.test(e.name) ? [path.join(dir, e.name)] : []));

describe('the bundled Electron main process', () => {
  let dir: string;
  beforeAll(() => {
    dir = tempDir('bundle');
  });
  afterAll(() => {
    setBundledWorkerDir(null);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('parses: every file of out/main and out/preload', () => {
    const files = [...jsFiles(path.join(OUT, 'main')), ...jsFiles(path.join(OUT, 'preload'))];
    expect(files.map((f) => path.relative(OUT, f))).toEqual(expect.arrayContaining(['main/index.js', 'main/train-worker.js', 'main/compute-worker.js']));
    for (const file of files) execFileSync(process.execPath, ['--check', file], { stdio: 'pipe' });
  });

  it('imports only packages the packaged app carries', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    const carried = new Set(['electron', ...Object.keys(pkg.dependencies), ...Object.keys(pkg.optionalDependencies ?? {})]);
    const imported = new Set<string>();
    for (const file of jsFiles(path.join(OUT, 'main')))
      for (const m of fs.readFileSync(file, 'utf8').matchAll(/\bfrom\s*["']([^"']+)["']|\bimport\s*\(\s*["']([^"']+)["']\s*\)|^import\s*["']([^"']+)["']/gm)) {
        const spec = m[1] ?? m[2] ?? m[3];
        if (spec.startsWith('.') || spec.startsWith('node:') || builtinModules.includes(spec)) continue;
        imported.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]);
      }
    expect(imported.size).toBeGreaterThan(3);
    expect([...imported].filter((name) => !carried.has(name))).toEqual([]);
  });

  it('starts under a stand-in Electron: serves the page, answers the window only, opens the demo, quits', async () => {
    const stdout = execFileSync(
      process.execPath,
      ['--import', path.join(ROOT, 'tests/e2e/fake-electron/register.mjs'), path.join(OUT, 'main/index.js'), '--demo'],
      {
        cwd: ROOT,
        env: { ...process.env, LAMM_STATE_DIR: path.join(dir, 'state') },
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: 240_000,
      },
    ).toString();
    const line = stdout.split('\n').find((l) => l.startsWith('FAKE_ELECTRON_REPORT '));
    expect(line, stdout).toBeDefined();
    const r = JSON.parse(line!.slice('FAKE_ELECTRON_REPORT '.length));
    expect(r.driverError).toBeUndefined();
    expect(r.window.url).toBe('app://lamm/index.html');
    expect(r.window.sandbox).toBe(true);
    expect(fs.existsSync(r.window.preload)).toBe(true);
    expect(r.page).toEqual({ status: 200, csp: expect.stringContaining("script-src 'self';"), hasRoot: true });
    expect(r.traversal).toBe(404);
    expect(r.schemes).toEqual(['app', 'lamm-thumb']);
    expect(r.listJobs).toBe(true);
    expect(r.badParams).toEqual({ ok: false, error: 'openProject: expected object, received number' });
    expect(r.stranger).toEqual({ ok: false, error: 'request from an unknown page refused' });
    expect(r.demo).toEqual({ status: 'done', images: 448, models: 1 });
    expect(r.menu).toBe(true);
  });

  it('runs UMAP and the probes on the bundled compute worker as from source', async () => {
    await initBackend();
    const n = 40;
    const p = 8;
    const x = Float32Array.from({ length: n * p }, (_, i) => Math.sin(i * 1.3));
    const labels = Int32Array.from({ length: n }, (_, i) => i % 2);
    const umap = () => runOffThread('umap', { x: x.slice(), n, p, params: { nNeighbors: 5, minDist: 0.1, nEpochs: 30, seed: 1 } }, silentContext());
    const probe = () => runOffThread('probe', { x: x.slice(), labels, width: p, classes: 2, opts: { folds: 2, steps: 10 } }, silentContext());
    const [umapFromSource, probeFromSource] = [await umap(), await probe()];
    setBundledWorkerDir(pathToFileURL(path.join(OUT, 'main/')));
    try {
      expect(await umap()).toEqual(umapFromSource);
      expect(await probe()).toEqual(probeFromSource);
    } finally {
      setBundledWorkerDir(null);
    }
  });

  it('trains a run on the bundled train worker', async () => {
    const project = await makeProject(dir, 4);
    project.store.close();
    const modelDir = makeTinyModel(dir);
    setBundledWorkerDir(pathToFileURL(path.join(OUT, 'main/')));
    try {
      const outcome = await startTraining({ dbFile: project.dbFile, modelDir, config: { shots: 2, epochs: 1, views: 1, batchSize: 4 } }).done;
      expect(outcome.runId).toBeGreaterThan(0);
      expect(outcome.trained.accuracy).toBeGreaterThanOrEqual(0);
      expect(outcome.backend).toMatch(/wasm|cpu|webgpu|tensorflow/);
    } finally {
      setBundledWorkerDir(null);
    }
  });
});
