// `lamm train --shots 4` on the demo with LAMM_BACKEND=webgpu meets the demo's accuracy checks
// (as demo-model.test.ts asks of the default backend) and reports the webgpu backend and its
// adapter. Skipped with the reason where no WebGPU adapter can be had.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { DEMO_MODEL_DIR, loadRecipe } from '../../src-main/demo/dataset';
import { nameKind } from '../../src-main/demo/evaluate';
import { REPO_ROOT } from '../helpers/golden';
import { startWebGpuForTests } from '../helpers/webgpu';

const backend = await startWebGpuForTests();
const run = promisify(execFile);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lamm-webgpu-demo-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const recipe = loadRecipe();
const meanOf = (perClass: Record<string, number>, kind: string) => {
  const accs = recipe.classes.filter((c) => nameKind(c) === kind).map((c) => perClass[c.folder]);
  return accs.reduce((a, b) => a + b, 0) / accs.length;
};

async function lamm(...args: string[]): Promise<any> {
  const { stdout } = await run(process.execPath, [path.join(REPO_ROOT, 'bin', 'lamm.js'), ...args, '--json'], {
    cwd: REPO_ROOT,
    maxBuffer: 1 << 24,
    env: { ...process.env, LAMM_BACKEND: 'webgpu' },
  });
  return JSON.parse(stdout);
}

describe.skipIf(!backend)('the demo on webgpu', () => {
  it('gains at least 20 points from `lamm train --shots 4`, on the jargon classes, plain ones kept', async () => {
    const data = path.join(tmp, 'data');
    await lamm('demo', '--out', data);
    const result = await lamm('train', '--model', DEMO_MODEL_DIR, '--data', data, '--shots', '4', '--db', path.join(tmp, 'demo.lamm'));
    const { zeroShot, trained } = result;
    console.log(`[webgpu] demo: zero-shot ${zeroShot.accuracy.toFixed(3)}, trained ${trained.accuracy.toFixed(3)} on ${result.backend}`);
    expect(result.backend).toMatch(/^webgpu on .+ \((Vulkan|OpenGL ES|Metal|D3D12), (software|hardware)\)$/);
    expect(trained.accuracy - zeroShot.accuracy).toBeGreaterThanOrEqual(0.2);
    expect(meanOf(trained.perClass, 'plain')).toBeGreaterThanOrEqual(meanOf(zeroShot.perClass, 'plain') - 0.05);
    expect(meanOf(trained.perClass, 'jargon') - meanOf(zeroShot.perClass, 'jargon')).toBeGreaterThanOrEqual(0.5);
  });
});
