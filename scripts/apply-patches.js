#!/usr/bin/env node
// npm's postinstall, first step: applies patches/ (fixes to dependencies that upstream has not
// released, e.g. tfjs-backend-webgpu's rank-5 Pad shader) with patch-package. It never fails the
// install: without patch-package (a production install) or when a patch no longer applies it
// prints one line, and tests/unit/webgpu-pad.test.ts fails instead of the install.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
let bin;
try {
  bin = path.join(path.dirname(require.resolve('patch-package/package.json')), 'index.js');
} catch {
  bin = null;
}
if (!bin || !existsSync(bin)) {
  console.warn('patches: patch-package is not installed, dependencies stay unpatched (see patches/)');
} else {
  const r = spawnSync(process.execPath, [bin, '--error-on-fail'], { cwd: root, encoding: 'utf8' });
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  if (r.status === 0) console.log(`patches: applied (${(out.match(/✔/g) ?? []).length} package${(out.match(/✔/g) ?? []).length === 1 ? '' : 's'})`);
  else
    console.warn(
      `patches: patch-package failed, dependencies stay unpatched: ${out
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean)
        .slice(-3)
        .join(' | ')}`,
    );
}
