// Electron's better-sqlite3 beside Node's: which build the Electron main picks (by the stamp the
// build script writes), the one seam in data/db.ts that loads it, the build script's offline skip,
// and the claim that every other native module is N-API (so only better-sqlite3 needs two builds).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  chooseSqliteBinding,
  ELECTRON_SQLITE_ADDON,
  ELECTRON_SQLITE_DIR,
  ELECTRON_SQLITE_STAMP,
  SQLITE_BINDING_ENV,
  stampMismatch,
  type BuildStamp,
  type NativeRuntime,
} from '../../src-main/api/electron-native';
import { openDatabase } from '../../src-main/data/db';
import { buildElectronSqlite, describeResult, ensureElectronSqlite, findElectron } from '../../scripts/electron-native';
import { spawnSync } from 'node:child_process';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const runtime: NativeRuntime = { electron: '45.5.0', modules: '150', platform: 'linux', arch: 'x64' };
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'lamm-electron-native-'));

function makeBuild(root: string, stamp: Partial<BuildStamp> | string | null): string {
  const dir = path.join(root, ELECTRON_SQLITE_DIR);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, ELECTRON_SQLITE_ADDON), 'addon');
  if (stamp !== null) fs.writeFileSync(path.join(dir, ELECTRON_SQLITE_STAMP), typeof stamp === 'string' ? stamp : JSON.stringify(stamp));
  return path.join(dir, ELECTRON_SQLITE_ADDON);
}

describe('chooseSqliteBinding', () => {
  it('picks a build stamped for this ABI, platform and arch', () => {
    const root = tmp();
    const file = makeBuild(root, { ...runtime, betterSqlite3: '12.11.1', via: 'prebuild' });
    const choice = chooseSqliteBinding([root], runtime);
    expect(choice).toEqual({ file, stamp: expect.objectContaining({ modules: '150', via: 'prebuild' }) });
  });

  it('takes the first usable root (packaged resources before anything else)', () => {
    const stale = tmp();
    makeBuild(stale, { ...runtime, modules: '140', electron: '41.7.1' });
    const good = tmp();
    const file = makeBuild(good, { ...runtime });
    expect(chooseSqliteBinding([stale, good], runtime)).toMatchObject({ file });
    const first = tmp();
    const firstFile = makeBuild(first, { ...runtime });
    expect(chooseSqliteBinding([first, good], runtime)).toMatchObject({ file: firstFile });
  });

  it('refuses missing, unstamped, unreadable and other-runtime builds, naming each and the fix', () => {
    const none = tmp();
    const unstamped = tmp();
    makeBuild(unstamped, null);
    const garbled = tmp();
    makeBuild(garbled, '{not json');
    const otherAbi = tmp();
    makeBuild(otherAbi, { ...runtime, electron: '41.7.1', modules: '145' });
    const otherArch = tmp();
    makeBuild(otherArch, { ...runtime, arch: 'arm64' });
    const choice = chooseSqliteBinding([none, unstamped, garbled, otherAbi, otherArch], runtime);
    expect('error' in choice).toBe(true);
    const error = (choice as { error: string }).error;
    expect(error).toContain(`no ${path.join(none, ELECTRON_SQLITE_DIR, ELECTRON_SQLITE_ADDON)}`);
    expect(error).toContain(`${path.join(unstamped, ELECTRON_SQLITE_DIR, ELECTRON_SQLITE_ADDON)} has no readable ${ELECTRON_SQLITE_STAMP}`);
    expect(error).toContain(`${path.join(garbled, ELECTRON_SQLITE_DIR, ELECTRON_SQLITE_ADDON)} has no readable`);
    expect(error).toContain('is for Electron 41.7.1 (ABI 145, linux-x64), this is Electron 45.5.0 (ABI 150, linux-x64)');
    expect(error).toContain('(ABI 150, linux-arm64)');
    expect(error).toMatch(/run `npm run build:electron-native`$/);
    expect(error.split('\n')).toHaveLength(1);
  });

  it('compares the ABI, not the Electron patch version', () => {
    expect(stampMismatch({ ...runtime, electron: '45.4.1' }, runtime)).toBeNull();
    expect(stampMismatch({ ...runtime, modules: '149' }, runtime)).toMatch(/ABI 149/);
    expect(stampMismatch({ ...runtime, platform: 'darwin' }, runtime)).toMatch(/darwin/);
    expect(stampMismatch({}, runtime)).toMatch(/Electron \? \(ABI \?/);
  });
});

describe(`data/db.ts loads the addon named by ${SQLITE_BINDING_ENV}`, () => {
  const saved = process.env[SQLITE_BINDING_ENV];
  afterEach(() => {
    if (saved === undefined) delete process.env[SQLITE_BINDING_ENV];
    else process.env[SQLITE_BINDING_ENV] = saved;
  });

  it("opens a project through an explicitly named build (here Node's own, copied elsewhere)", () => {
    const copy = path.join(tmp(), ELECTRON_SQLITE_ADDON);
    fs.copyFileSync(path.join(ROOT, 'node_modules/better-sqlite3/build/Release/better_sqlite3.node'), copy);
    process.env[SQLITE_BINDING_ENV] = copy;
    const db = openDatabase(':memory:');
    expect(db.prepare('SELECT 6 * 7 AS x').get()).toEqual({ x: 42 });
    db.close();
  });

  it('fails with one clear line when the named build cannot load (as a Node build would in Electron)', () => {
    const bogus = path.join(tmp(), ELECTRON_SQLITE_ADDON);
    fs.writeFileSync(bogus, 'not an ELF file');
    process.env[SQLITE_BINDING_ENV] = bogus;
    expect(() => openDatabase(':memory:')).toThrow(/^cannot open project :memory:: /);
  });
});

describe('scripts/electron-native.ts without an Electron binary', () => {
  const saved = process.env.ELECTRON_OVERRIDE_DIST_PATH;
  afterEach(() => {
    if (saved === undefined) delete process.env.ELECTRON_OVERRIDE_DIST_PATH;
    else process.env.ELECTRON_OVERRIDE_DIST_PATH = saved;
  });

  it('finds the electron package and its binary only where the binary exists', () => {
    const dist = tmp();
    process.env.ELECTRON_OVERRIDE_DIST_PATH = dist;
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    expect(findElectron()).toMatchObject({ binary: null, version: pkg.devDependencies.electron, modules: expect.stringMatching(/^\d+$/) });
    fs.writeFileSync(path.join(dist, 'electron'), '');
    expect(findElectron()?.binary).toBe(path.join(dist, 'electron'));
  });

  it('skips with one line and touches nothing', () => {
    process.env.ELECTRON_OVERRIDE_DIST_PATH = tmp();
    const outDir = path.join(tmp(), 'out');
    const result = ensureElectronSqlite({ download: false, outDir });
    expect(result).toMatchObject({ status: 'skipped', reason: expect.stringMatching(/^Electron [\d.]+'s binary is not installed/) });
    expect(describeResult(result)).toMatch(/^Electron better-sqlite3: skipped, .*`npm run build:electron-native` makes it once Electron is installed$/);
    expect(fs.existsSync(outDir)).toBe(false);
  });
});

// The whole build with Node standing in for Electron (no download here): prebuild-install finds a
// "prebuilt" tarball (Node's build) in a local folder, the result is loaded by the target runtime
// and queried, then kept with its stamp; Node's build in node_modules is left as it was.
describe.skipIf(spawnSync('tar', ['--version']).status !== 0)('buildElectronSqlite', () => {
  const key = 'prebuild-install_local-prebuilds';
  const saved = process.env[key];
  afterEach(() => {
    if (saved === undefined) delete process.env[key];
    else process.env[key] = saved;
  });

  it("installs a checked build and its stamp beside, never over, Node's", () => {
    const nodeBuild = path.join(ROOT, 'node_modules/better-sqlite3/build/Release/better_sqlite3.node');
    const before = fs.statSync(nodeBuild);
    const pkg = tmp();
    fs.mkdirSync(path.join(pkg, 'build', 'Release'), { recursive: true });
    fs.copyFileSync(nodeBuild, path.join(pkg, 'build', 'Release', ELECTRON_SQLITE_ADDON));
    const prebuilds = tmp();
    const { version } = JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules/better-sqlite3/package.json'), 'utf8'));
    const tarball = `better-sqlite3-v${version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
    expect(spawnSync('tar', ['czf', path.join(prebuilds, tarball), '-C', pkg, 'build']).status).toBe(0);
    process.env[key] = prebuilds;
    const out = path.join(tmp(), 'native', 'electron');
    const target = {
      binary: process.execPath,
      electron: process.versions.node,
      modules: process.versions.modules,
      platform: process.platform,
      arch: process.arch,
      runtime: 'node',
      distUrl: 'http://127.0.0.1:9/',
      devdir: tmp(),
    };
    const stamp = buildElectronSqlite(target, out, false);
    expect(stamp).toEqual({
      electron: process.versions.node,
      modules: process.versions.modules,
      platform: process.platform,
      arch: process.arch,
      betterSqlite3: version,
      via: 'prebuild',
    });
    expect(chooseSqliteBinding([path.dirname(path.dirname(out))], target)).toMatchObject({ file: path.join(out, ELECTRON_SQLITE_ADDON) });
    const after = fs.statSync(nodeBuild);
    expect([after.mtimeMs, after.size, after.ino]).toEqual([before.mtimeMs, before.size, before.ino]);
  });
});

// Only better-sqlite3 needs a build per runtime: an N-API addon exports napi_register_module_v1
// and loads in Node and Electron alike; a V8-ABI addon exports node_register_module_v<ABI>.
describe('native modules the app loads', () => {
  const registers = (file: string) => {
    const text = fs.readFileSync(file).toString('latin1');
    return { napi: text.includes('napi_register_module_v1'), abi: /node_register_module_v\d+/.exec(text)?.[0] ?? null };
  };
  const findNode = (dir: string): string[] =>
    !fs.existsSync(dir)
      ? []
      : fs
          .readdirSync(dir, { recursive: true, encoding: 'utf8' })
          .filter((f) => f.endsWith('.node') && !f.includes('obj.target'))
          .map((f) => path.join(dir, f));

  it('better-sqlite3 is not N-API (hence native/electron/)', () => {
    const r = registers(path.join(ROOT, 'node_modules/better-sqlite3/build/Release/better_sqlite3.node'));
    expect(r.napi).toBe(false);
    expect(r.abi).toBe(`node_register_module_v${process.versions.modules}`);
  });

  it('sharp, the native GEMM, tfjs-node(-gpu) and webgpu (dawn.node), where installed, are N-API', () => {
    const files = [
      ...findNode(path.join(ROOT, 'node_modules/@img')),
      ...findNode(path.join(ROOT, 'native/build/Release')),
      ...findNode(path.join(ROOT, 'node_modules/@tensorflow/tfjs-node/lib')),
      ...findNode(path.join(ROOT, 'node_modules/@tensorflow/tfjs-node-gpu/lib')),
      ...findNode(path.join(ROOT, 'node_modules/webgpu')),
    ];
    expect(files.some((f) => f.includes('sharp'))).toBe(true); // sharp is a dependency: always there
    for (const f of files) expect(registers(f), path.relative(ROOT, f)).toEqual({ napi: true, abi: null });
  });
});
