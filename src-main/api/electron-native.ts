// Electron's own build of better-sqlite3, kept beside Node's. better-sqlite3 is the one native
// module here that is not N-API (it registers with node_register_module_v<ABI>), so the build
// in node_modules (Node's ABI: CLI, tests, `lamm serve`) cannot load in Electron's main process
// and Electron's cannot load in Node. scripts/electron-native.ts makes Electron's build into
// native/electron/ (packaged: resources/native/electron/) with a stamp saying which runtime it
// is for; the Electron main picks it here and hands it to better-sqlite3's `nativeBinding`.
// Every other native module is N-API and loads in both as it is (tests/unit/electron-native.test.ts
// checks each built file): sharp (@img/sharp-*), the GEMM addon (native/), @tensorflow/tfjs-node(-gpu)
// and the `webgpu` package's dawn.node.
import fs from 'node:fs';
import path from 'node:path';

/** Relative to the app root in development and to `process.resourcesPath` when packaged. */
export const ELECTRON_SQLITE_DIR = path.join('native', 'electron');
export const ELECTRON_SQLITE_ADDON = 'better_sqlite3.node';
export const ELECTRON_SQLITE_STAMP = 'better_sqlite3.json';
/**
 * What data/db.ts passes as `nativeBinding`. An environment variable rather than a setter so the
 * training worker thread (its own module instance, a copy of this process's env) sees it too.
 */
export const SQLITE_BINDING_ENV = 'LAMM_SQLITE_BINDING';

/** The runtime a build is for: Electron's version, its NODE_MODULE_VERSION, platform and arch. */
export interface NativeRuntime {
  electron: string;
  modules: string;
  platform: string;
  arch: string;
}

/** native/electron/better_sqlite3.json, written by scripts/electron-native.ts after a check under Electron. */
export interface BuildStamp extends NativeRuntime {
  betterSqlite3: string;
  /** 'prebuild' (downloaded by prebuild-install) or 'node-gyp' (compiled against Electron's headers). */
  via: string;
}

export type BindingChoice = { file: string; stamp: BuildStamp } | { error: string };

/** The command that makes the build; named in every message about a missing one. */
export const BUILD_COMMAND = 'npm run build:electron-native';

/** Why `stamp` does not fit `runtime` (the ABI, platform and arch must match), or null. */
export function stampMismatch(stamp: Partial<BuildStamp>, runtime: NativeRuntime): string | null {
  for (const key of ['modules', 'platform', 'arch'] as const) {
    if (String(stamp[key]) !== String(runtime[key])) {
      return `is for ${describe(stamp)}, this is ${describe(runtime)}`;
    }
  }
  return null;
}

function describe(r: Partial<NativeRuntime>): string {
  return `Electron ${r.electron ?? '?'} (ABI ${r.modules ?? '?'}, ${r.platform ?? '?'}-${r.arch ?? '?'})`;
}

/** The first usable Electron build under `roots` (in order), or why there is none. */
export function chooseSqliteBinding(roots: readonly string[], runtime: NativeRuntime): BindingChoice {
  const reasons: string[] = [];
  for (const root of roots) {
    const dir = path.join(root, ELECTRON_SQLITE_DIR);
    const file = path.join(dir, ELECTRON_SQLITE_ADDON);
    if (!fs.existsSync(file)) {
      reasons.push(`no ${file}`);
      continue;
    }
    const stamp = readStamp(path.join(dir, ELECTRON_SQLITE_STAMP));
    if (!stamp) {
      reasons.push(`${file} has no readable ${ELECTRON_SQLITE_STAMP}`);
      continue;
    }
    const mismatch = stampMismatch(stamp, runtime);
    if (mismatch) {
      reasons.push(`${file} ${mismatch}`);
      continue;
    }
    return { file, stamp };
  }
  return { error: `Electron's build of better-sqlite3 is missing (${reasons.join('; ') || 'nowhere to look'}): run \`${BUILD_COMMAND}\`` };
}

export function readStamp(file: string): BuildStamp | null {
  try {
    const stamp = JSON.parse(fs.readFileSync(file, 'utf8')) as BuildStamp;
    return stamp && typeof stamp === 'object' && typeof stamp.modules === 'string' ? stamp : null;
  } catch {
    return null;
  }
}
