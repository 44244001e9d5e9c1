#!/usr/bin/env node
// `npm start`: builds the app (seconds), then opens it on the bundled demo project. Electron
// when its binary is installed; otherwise (an offline install: ELECTRON_SKIP_BINARY_DOWNLOAD)
// it says so and serves the same UI with `lamm serve --demo`, printing the URL to open.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

/** The Electron binary, or null: require('electron') throws, or names a missing file, when it was not downloaded. */
function electronBinary() {
  try {
    const binary = require('electron');
    return typeof binary === 'string' && existsSync(binary) ? binary : null;
  } catch {
    return null;
  }
}

function run(command, args) {
  const child = spawn(command, args, { cwd: root, stdio: 'inherit' });
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

const build = spawnSync(process.execPath, [path.join(root, 'node_modules/electron-vite/bin/electron-vite.js'), 'build'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
if (build.status !== 0) {
  process.stderr.write('npm start: building the app failed (see above)\n');
  process.exit(build.status ?? 1);
}

const electron = electronBinary();
if (electron) {
  run(electron, ['.', '--demo']);
} else {
  process.stdout.write(
    'Electron is not installed here (its binary was not downloaded), so LAMM Studio runs as a local web app instead.\n' +
      'Open the URL below in a browser. (Install Electron with network access to get the desktop window.)\n\n',
  );
  run(process.execPath, [path.join(root, 'bin/lamm.js'), 'serve', '--demo']);
}
