#!/usr/bin/env node
// The README's test command: type-check, format + lint (Biome), unit + conformance tests (vitest), then the browser
// end-to-end tests, and a closing `N passed, N failed, N skipped` line that CI reads.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const outDir = path.join(root, 'test-output');
fs.mkdirSync(outDir, { recursive: true });
const skipE2E = process.argv.includes('--no-e2e');

function run(cmd, args) {
  console.log(`\n$ ${cmd} ${args.join(' ')}`);
  return spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: process.env }).status ?? 1;
}

function vitest(name, extraArgs) {
  const report = path.join(outDir, `${name}.json`);
  fs.rmSync(report, { force: true });
  const status = run(process.execPath, [
    path.join(root, 'node_modules/vitest/vitest.mjs'),
    'run',
    ...extraArgs,
    '--reporter=default',
    '--reporter=json',
    `--outputFile.json=${report}`,
  ]);
  let counts = { passed: 0, failed: 0, skipped: 0 };
  if (fs.existsSync(report)) {
    const r = JSON.parse(fs.readFileSync(report, 'utf8'));
    counts = { passed: r.numPassedTests, failed: r.numFailedTests, skipped: r.numPendingTests + (r.numTodoTests ?? 0) };
    // A suite that fails to load has no tests; count it as a failure so it cannot pass silently.
    const brokenFiles = (r.testResults ?? []).filter((f) => f.status === 'failed' && (f.assertionResults ?? []).length === 0).length;
    counts.failed += brokenFiles;
  } else if (status !== 0) {
    counts.failed += 1;
  }
  if (status !== 0 && counts.failed === 0) counts.failed = 1;
  return counts;
}

const total = { passed: 0, failed: 0, skipped: 0 };
const add = (c) => {
  total.passed += c.passed;
  total.failed += c.failed;
  total.skipped += c.skipped;
};

const typecheck = run(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '--noEmit', '-p', 'tsconfig.json']);
add(typecheck === 0 ? { passed: 1, failed: 0, skipped: 0 } : { passed: 0, failed: 1, skipped: 0 });
// Formatting and lint (biome.jsonc, the import-cycle rule among them): one check that fails on any finding.
const lint = run(path.join(root, 'node_modules/.bin/biome'), ['ci', '.']);
add(lint === 0 ? { passed: 1, failed: 0, skipped: 0 } : { passed: 0, failed: 1, skipped: 0 });
add(vitest('unit', []));
if (!skipE2E) add(vitest('e2e', ['--config', 'vitest.e2e.config.ts']));

console.log(`\n${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`);
process.exit(total.failed > 0 ? 1 : 0);
