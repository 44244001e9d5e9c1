// A WebGPU device lost mid-run (a driver reset, an unplugged GPU) fails the training run with a
// one-line error, and the store marks the run failed. Its own file: a lost device stays lost
// for the process. Skipped with the reason where no WebGPU adapter can be had.
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadClip } from '../../src-main/clip/model';
import type { ClipModel } from '../../src-main/clip/types';
import type { ProjectStore } from '../../src-main/data/store';
import { trainRun } from '../../src-main/lamm/run';
import { loseDeviceForTest } from '../../src-main/webgpu';
import { startWebGpuForTests } from '../helpers/webgpu';
import { FIXTURE_CLASSES, makeProject, makeTinyModel, tempDir } from './lamm-fixture';

const backend = await startWebGpuForTests();

describe.skipIf(!backend)('webgpu device loss', () => {
  let dir: string;
  beforeAll(() => {
    dir = tempDir('webgpu-lost');
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('a device lost mid-run fails the training run with one line, marked failed in the store', async () => {
    let store: ProjectStore | null = null;
    let model: ClipModel | null = null;
    try {
      model = await loadClip(makeTinyModel(dir));
      ({ store } = await makeProject(dir, 3, FIXTURE_CLASSES.slice(0, 2)));
      const s = store;
      let steps = 0;
      const config = { shots: 2, epochs: 3, views: 1, batchSize: 2, lr: 0.01, warmupEpochs: 1 };
      const run = trainRun(
        s,
        model,
        {
          classes: FIXTURE_CLASSES.slice(0, 2)
            .map((c) => c.folder)
            .sort(),
          config,
        },
        {
          onStep: () => {
            if (++steps === 2) loseDeviceForTest();
          },
        },
      );
      await expect(run).rejects.toThrow(/^GPU device lost in kernel .+ on .+: /);
      const failed = s.listRuns().at(-1)!;
      expect(failed.status).toBe('failed');
      expect(s.getRun(failed.id).error).toMatch(/GPU device lost/);
    } finally {
      store?.close();
    }
  });
});
