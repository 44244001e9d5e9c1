// Electron's build of better-sqlite3 (see src-main/api/electron-native.ts for why there are two):
// `npm run build:electron-native`, npm's postinstall, `npm start` and `npm run dist` run this.
//
//   1. Electron's binary: the electron package (45) has no install script and fetches it on first use;
//      this downloads it here (node_modules/electron/install.js) unless ELECTRON_SKIP_BINARY_DOWNLOAD=1.
//   2. better-sqlite3 for Electron's ABI: its prebuilt binary (prebuild-install --runtime electron),
//      else compiled against Electron's headers (node-gyp --target --dist-url), each in a scratch
//      copy, so node_modules/better-sqlite3/build (Node's build) is never touched.
//   3. Checked by loading it in Electron (ELECTRON_RUN_AS_NODE) and running a query, then kept in
//      native/electron/ with a stamp naming the runtime; an up-to-date build is left alone.
//
// Without an Electron binary (offline) it prints one line and succeeds; --required (npm run dist)
// makes any failure an error. --force rebuilds; --verbose shows the tools' output.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  BUILD_COMMAND,
  ELECTRON_SQLITE_ADDON,
  ELECTRON_SQLITE_DIR,
  ELECTRON_SQLITE_STAMP,
  readStamp,
  stampMismatch,
  type BuildStamp,
  type NativeRuntime,
} from '../src-main/api/electron-native';
import { findNodeGyp } from './find-node-gyp.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const TAG = 'Electron better-sqlite3';
const require = createRequire(import.meta.url);
/** Electron's header tarballs, for node-gyp (as @electron/rebuild uses). */
export const ELECTRON_HEADERS_URL = 'https://electronjs.org/headers';

export interface ElectronInstall {
  /** The Electron executable, or null when it was not downloaded. */
  binary: string | null;
  version: string;
  /** NODE_MODULE_VERSION, from the package's abi_version file. */
  modules: string;
  packageDir: string;
}

/** The installed electron package and its binary, without downloading anything (require('electron') would). */
export function findElectron(): ElectronInstall | null {
  let packageDir: string;
  try {
    packageDir = path.dirname(require.resolve('electron/package.json', { paths: [ROOT] }));
  } catch {
    return null;
  }
  const { version } = JSON.parse(fs.readFileSync(path.join(packageDir, 'package.json'), 'utf8')) as { version: string };
  const modules = readOr(path.join(packageDir, 'abi_version'), '').trim();
  // The same lookup as the package's index.js, minus its download.
  const relative = readOr(path.join(packageDir, 'path.txt'), '').trim();
  const override = process.env.ELECTRON_OVERRIDE_DIST_PATH;
  const candidate = override ? path.join(override, relative || 'electron') : relative ? path.join(packageDir, 'dist', relative) : null;
  return { binary: candidate && fs.existsSync(candidate) ? candidate : null, version, modules, packageDir };
}

/** Downloads Electron's binary (its own installer); the reason when that is not possible. */
export function downloadElectron(install: ElectronInstall, verbose: boolean): string | null {
  if (process.env.ELECTRON_SKIP_BINARY_DOWNLOAD && process.env.ELECTRON_SKIP_BINARY_DOWNLOAD !== '0') return 'ELECTRON_SKIP_BINARY_DOWNLOAD is set';
  const [major, minor] = process.versions.node.split('.').map(Number);
  if (major < 22 || (major === 22 && minor < 12)) return `its installer needs Node >= 22.12 (this is ${process.version})`;
  process.stderr.write(`${TAG}: downloading Electron ${install.version}…\n`);
  const r = spawnSync(process.execPath, [path.join(install.packageDir, 'install.js')], { encoding: 'utf8', stdio: verbose ? 'inherit' : 'pipe' });
  if (r.status !== 0) return `downloading Electron ${install.version} failed: ${lastLine(`${r.stdout ?? ''}\n${r.stderr ?? ''}`)}`;
  return null;
}

export interface BuildTarget extends NativeRuntime {
  /** The executable that loads the result (ELECTRON_RUN_AS_NODE) to check it. */
  binary: string;
  /** prebuild-install's runtime ('electron'); node-gyp's headers. */
  runtime: string;
  distUrl: string;
  /** Where node-gyp keeps the headers: Electron's apart from Node's. */
  devdir: string;
}

export function electronTarget(install: ElectronInstall & { binary: string }, arch = process.arch): BuildTarget {
  return {
    binary: install.binary,
    electron: install.version,
    modules: install.modules,
    platform: process.platform,
    arch,
    runtime: 'electron',
    distUrl: ELECTRON_HEADERS_URL,
    devdir: path.join(os.homedir(), '.electron-gyp'),
  };
}

const betterSqliteDir = () => path.dirname(require.resolve('better-sqlite3/package.json', { paths: [ROOT] }));
const betterSqliteVersion = () => (JSON.parse(fs.readFileSync(path.join(betterSqliteDir(), 'package.json'), 'utf8')) as { version: string }).version;

/** Makes, checks and installs the build into `outDir`; returns how it was made, or throws with the reasons. */
export function buildElectronSqlite(target: BuildTarget, outDir: string, verbose: boolean): BuildStamp {
  const source = betterSqliteDir();
  const version = betterSqliteVersion();
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'lamm-electron-sqlite-'));
  const failures: string[] = [];
  try {
    for (const [via, make] of [
      ['prebuild', prebuilt],
      ['node-gyp', compiled],
    ] as const) {
      const dir = path.join(scratch, via);
      fs.mkdirSync(dir);
      const made = make(source, dir, target, verbose);
      if (typeof made !== 'object') {
        failures.push(`${via}: ${made}`);
        continue;
      }
      const checked = checkUnderRuntime(target, source, made.file);
      if (typeof checked === 'string') {
        failures.push(`${via}: built, but ${checked}`);
        continue;
      }
      const stamp: BuildStamp = {
        electron: target.electron,
        modules: checked.modules,
        platform: target.platform,
        arch: target.arch,
        betterSqlite3: version,
        via,
      };
      fs.mkdirSync(outDir, { recursive: true });
      // Copy, then rename: a half-written addon is never picked up.
      const tmp = path.join(outDir, `.${ELECTRON_SQLITE_ADDON}.tmp`);
      fs.copyFileSync(made.file, tmp);
      fs.renameSync(tmp, path.join(outDir, ELECTRON_SQLITE_ADDON));
      fs.writeFileSync(path.join(outDir, ELECTRON_SQLITE_STAMP), `${JSON.stringify(stamp, null, 2)}\n`);
      return stamp;
    }
    throw new Error(failures.join('; '));
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

/** prebuild-install run in a folder holding only better-sqlite3's package.json: it unpacks build/Release there. */
/** The built addon, or why there is none. */
type Made = { file: string } | string;

function prebuilt(source: string, dir: string, target: BuildTarget, verbose: boolean): Made {
  fs.copyFileSync(path.join(source, 'package.json'), path.join(dir, 'package.json'));
  let bin: string;
  try {
    bin = require.resolve('prebuild-install/bin.js', { paths: [source, ROOT] });
  } catch {
    return 'prebuild-install not found';
  }
  const args = [
    bin,
    `--runtime=${target.runtime}`,
    `--target=${target.electron}`,
    `--arch=${target.arch}`,
    `--platform=${target.platform}`,
    ...(verbose ? ['--verbose'] : []),
  ];
  const r = spawnSync(process.execPath, args, {
    cwd: dir,
    encoding: 'utf8',
    stdio: verbose ? 'inherit' : 'pipe',
    env: { ...process.env, npm_config_build_from_source: '' },
  });
  const file = path.join(dir, 'build', 'Release', ELECTRON_SQLITE_ADDON);
  if (r.status === 0 && fs.existsSync(file)) return { file };
  return `no prebuilt binary (${lastLine(`${r.stdout ?? ''}\n${r.stderr ?? ''}`)})`;
}

/** node-gyp against Electron's headers, in a copy of the sources (binding.gyp, src, deps). */
function compiled(source: string, dir: string, target: BuildTarget, verbose: boolean): Made {
  for (const entry of ['binding.gyp', 'package.json', 'src', 'deps']) fs.cpSync(path.join(source, entry), path.join(dir, entry), { recursive: true });
  const gyp = findNodeGyp();
  if (!gyp) return 'node-gyp not found (it ships with npm)';
  const args = [
    gyp,
    'rebuild',
    '--release',
    `--target=${target.electron}`,
    `--arch=${target.arch}`,
    `--dist-url=${target.distUrl}`,
    `--devdir=${target.devdir}`,
  ];
  // npm's `nodedir` setting (/usr on Debian) would win over --target and build for Node: cleared.
  const env = {
    ...process.env,
    npm_config_runtime: target.runtime,
    npm_config_target: target.electron,
    npm_config_disturl: target.distUrl,
    npm_config_nodedir: '',
  };
  const r = spawnSync(process.execPath, args, { cwd: dir, encoding: 'utf8', stdio: verbose ? 'inherit' : 'pipe', env });
  const file = path.join(dir, 'build', 'Release', ELECTRON_SQLITE_ADDON);
  if (r.status === 0 && fs.existsSync(file)) return { file };
  return `node-gyp failed (${firstError(`${r.stdout ?? ''}\n${r.stderr ?? ''}`)})`;
}

/** Loads the addon in the target runtime and runs a query; its NODE_MODULE_VERSION, or why it failed. */
function checkUnderRuntime(target: BuildTarget, source: string, addon: string): { modules: string } | string {
  const probe = path.join(path.dirname(addon), 'probe.cjs');
  fs.writeFileSync(
    probe,
    `const Database = require(${JSON.stringify(source)});
const db = new Database(':memory:', { nativeBinding: ${JSON.stringify(addon)} });
const row = db.prepare('SELECT sqlite_version() AS v, 6 * 7 AS x').get();
if (row.x !== 42) throw new Error('wrong query result');
console.log(JSON.stringify({ modules: process.versions.modules }));\n`,
  );
  const r = spawnSync(target.binary, [probe], { encoding: 'utf8', env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' } });
  if (r.status !== 0) return `${path.basename(target.binary)} could not load it: ${firstError(r.stderr ?? '')}`;
  try {
    const { modules } = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { modules: string };
    return modules === target.modules ? { modules } : `it loaded in ABI ${modules}, expected ${target.modules}`;
  } catch {
    return `unexpected output from the check: ${lastLine(r.stdout)}`;
  }
}

export interface EnsureOptions {
  download?: boolean;
  force?: boolean;
  verbose?: boolean;
  outDir?: string;
}

export type EnsureResult = { status: 'ready' | 'built'; file: string; stamp: BuildStamp } | { status: 'skipped' | 'failed'; reason: string };

/** Steps 1-3 above; never throws. */
export function ensureElectronSqlite(opts: EnsureOptions = {}): EnsureResult {
  const outDir = opts.outDir ?? path.join(ROOT, ELECTRON_SQLITE_DIR);
  const install = findElectron();
  if (!install) return { status: 'skipped', reason: 'the electron package is not installed' };
  if (!install.binary) {
    const why = opts.download ? downloadElectron(install, !!opts.verbose) : 'not downloading it here';
    const again = why ? install : findElectron();
    if (!again?.binary) return { status: 'skipped', reason: `Electron ${install.version}'s binary is not installed (${why ?? 'its installer left none'})` };
    install.binary = again.binary;
  }
  const target = electronTarget(install as ElectronInstall & { binary: string });
  const file = path.join(outDir, ELECTRON_SQLITE_ADDON);
  const stamp = readStamp(path.join(outDir, ELECTRON_SQLITE_STAMP));
  const fresh =
    stamp && fs.existsSync(file) && !stampMismatch(stamp, target) && stamp.electron === target.electron && stamp.betterSqlite3 === betterSqliteVersion();
  if (!opts.force && fresh) return { status: 'ready', file, stamp };
  try {
    const built = buildElectronSqlite(target, outDir, !!opts.verbose);
    return { status: 'built', file, stamp: built };
  } catch (err) {
    return { status: 'failed', reason: (err as Error).message };
  }
}

export function describeResult(r: EnsureResult): string {
  const rel = (f: string) => path.relative(ROOT, f) || f;
  switch (r.status) {
    case 'ready':
      return `${TAG}: ${rel(r.file)} is up to date (Electron ${r.stamp.electron}, ABI ${r.stamp.modules})`;
    case 'built':
      return `${TAG}: built ${rel(r.file)} for Electron ${r.stamp.electron} (ABI ${r.stamp.modules}, ${r.stamp.via}); Node's build is untouched`;
    case 'skipped':
      return `${TAG}: skipped, ${r.reason}; \`${BUILD_COMMAND}\` makes it once Electron is installed`;
    case 'failed':
      return `${TAG}: not built (${r.reason})`;
  }
}

function readOr(file: string, fallback: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return fallback;
  }
}

function lines(log: string): string[] {
  return log
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
}

function lastLine(log: string): string {
  return (lines(log).at(-1) ?? 'no output').slice(0, 300);
}

function firstError(log: string): string {
  const all = lines(log);
  return (all.find((l) => /error/i.test(l) && !l.startsWith('gyp info')) ?? all.at(-1) ?? 'no output').slice(0, 300);
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const flags = new Set(process.argv.slice(2));
  const result = ensureElectronSqlite({ download: !flags.has('--no-download'), force: flags.has('--force'), verbose: flags.has('--verbose') });
  const line = describeResult(result);
  const ok = result.status === 'ready' || result.status === 'built';
  (ok ? console.log : console.warn)(line);
  // Install and start never fail for want of Electron (the CLI and `lamm serve` need none); packaging does.
  if (flags.has('--required') && !ok) process.exitCode = 1;
}
