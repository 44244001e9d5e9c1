#!/usr/bin/env node
// `npm start`: builds the app (seconds), then opens it on the bundled demo project. Electron
// when its binary is installed or can be downloaded now (with Electron's own better-sqlite3
// build made first, see scripts/electron-native.ts); otherwise (offline, or
// ELECTRON_SKIP_BINARY_DOWNLOAD=1) it says why and serves the same UI with `lamm serve --demo`,
// printing the URL to open.
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function run(command, args, env = process.env) {
  const child = spawn(command, args, { cwd: root, stdio: 'inherit', env });
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

const build = spawnSync(process.execPath, [path.join(root, 'node_modules/electron-vite/bin/electron-vite.js'), 'build'], {
  cwd: root,
  stdio: ['ignore', 'ignore', 'inherit'],
});
if (build.status !== 0) {
  process.stderr.write('npm start: building the app failed (see above)\n');
  process.exit(build.status ?? 1);
}

register();
const { describeResult, ensureElectronSqlite, findElectron } = await import('./electron-native.ts');
const native = ensureElectronSqlite({ download: true });
const electron = findElectron()?.binary ?? null;
// A Linux box reached over SSH has Electron but nowhere to show its window.
const noDisplay = process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY;

if (electron && !noDisplay && (native.status === 'ready' || native.status === 'built')) {
  if (native.status === 'built') console.log(describeResult(native));
  // ELECTRON_RUN_AS_NODE would make the binary a plain Node: never pass it on to the app.
  const { ELECTRON_RUN_AS_NODE: _drop, ...env } = process.env;
  run(electron, ['.', '--demo'], env);
} else {
  const why = !electron
    ? native.status === 'skipped'
      ? native.reason
      : 'Electron is not installed'
    : noDisplay
      ? 'there is no display (DISPLAY and WAYLAND_DISPLAY are unset)'
      : describeResult(native);
  process.stdout.write(
    `LAMM Studio runs as a local web app instead of the desktop window: ${why}.\n` +
      'Open the URL below in a browser. (README, "The desktop app": how to get the window.)\n\n',
  );
  run(process.execPath, [path.join(root, 'bin/lamm.js'), 'serve', '--demo']);
}
