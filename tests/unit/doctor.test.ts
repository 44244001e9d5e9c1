// `lamm doctor --json`: one entry per backend of the automatic order, a one-line reason and fix
// for each that does not load, every WebGPU route's outcome, and the backend the order picks.
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { BACKEND_ORDER } from '../../src-main/backend';
import { ADAPTER_ROUTES } from '../../src-main/webgpu';
import { REPO_ROOT } from '../helpers/golden';

const run = promisify(execFile);
const require = createRequire(import.meta.url);
const installed = (pkg: string) => {
  try {
    require.resolve(`${pkg}/package.json`);
    return true;
  } catch {
    return false;
  }
};

describe('lamm doctor', () => {
  it('reports each backend, each adapter route and what the automatic order picks', async () => {
    const env = { ...process.env };
    delete env.LAMM_BACKEND;
    const { stdout } = await run(process.execPath, [path.join(REPO_ROOT, 'bin/lamm.js'), 'doctor', '--json'], { env, maxBuffer: 1 << 22 });
    const r = JSON.parse(stdout);
    expect(r.backends.map((b: any) => b.name)).toEqual([...BACKEND_ORDER]);
    for (const b of r.backends) {
      expect(typeof b.loads).toBe('boolean');
      if (!b.loads) {
        expect(b.reason, b.name).toMatch(/\S/);
        expect(b.fix, b.name).toMatch(/\S/);
        expect(`${b.reason}${b.fix}`).not.toContain('\n');
      }
    }
    const byName = Object.fromEntries(r.backends.map((b: any) => [b.name, b]));
    if (!installed('@tensorflow/tfjs-node-gpu')) {
      expect(byName['tfjs-node-gpu'].reason).toMatch(/not installed.*403/);
      expect(byName['tfjs-node-gpu'].fix).toMatch(/TFJS_NODE_CDN_STORAGE=.*npm install @tensorflow\/tfjs-node-gpu@4\.22\.0.*TFJS_NODE_BASE_URI/);
    }
    expect(r.adapters.map((a: any) => a.route)).toEqual(ADAPTER_ROUTES.map((a) => a.name));
    for (const a of r.adapters) expect(a.adapter === null ? a.reason : a.adapter.api, a.route).toMatch(/\S/);
    // The pick is the first backend that loads, webgpu only on a hardware adapter.
    const first = r.backends.find((b: any) => b.loads).name;
    expect(r.automatic.startsWith(first)).toBe(true);
    const hardware = r.adapters.some((a: any) => a.adapter && !a.adapter.software);
    expect(byName.webgpu.loads).toBe(hardware);
    expect(byName.cpu.loads).toBe(true);
    expect(r.forced).toBeNull();
  });
});
