// `lamm bench train` prints the documented JSON (on the small demo model, so it runs in seconds).
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEMO_MODEL_DIR } from '../../src-main/demo/dataset';
import { REPO_ROOT } from '../helpers/golden';

describe('lamm bench train', () => {
  it('prints one JSON object with the step and epoch times, backend, threads and peak RSS, on the --backend given', () => {
    const stdout = execFileSync(
      process.execPath,
      [
        path.join(REPO_ROOT, 'bin/lamm.js'),
        'bench',
        'train',
        '--classes',
        '6',
        '--shots',
        '8',
        '--steps',
        '1',
        '--model',
        DEMO_MODEL_DIR,
        '--backend',
        'cpu',
        '--json',
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const out = JSON.parse(stdout);
    expect(Object.keys(out).sort()).toEqual(
      ['backend', 'backendLine', 'classes', 'epochSeconds', 'peakRssMB', 'shots', 'stepSeconds', 'stepsPerEpoch', 'threads'].sort(),
    );
    expect(out).toMatchObject({ classes: 6, shots: 8, stepsPerEpoch: 1, backend: 'cpu', backendLine: 'cpu (1 thread)' });
    expect(out.stepSeconds).toBeGreaterThan(0);
    expect(out.epochSeconds).toBeCloseTo(out.stepSeconds * out.stepsPerEpoch, 9);
    expect(out.threads).toBeGreaterThanOrEqual(1);
    expect(out.peakRssMB).toBeGreaterThan(0);
  });

  it('refuses an unknown benchmark in one line', () => {
    let err: { status: number; stderr: string } | null = null;
    try {
      execFileSync(process.execPath, [path.join(REPO_ROOT, 'bin/lamm.js'), 'bench', 'import'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      err = e as { status: number; stderr: string };
    }
    expect(err?.status).toBe(2);
    expect(err?.stderr.trim().split('\n')).toHaveLength(1);
  });
});
