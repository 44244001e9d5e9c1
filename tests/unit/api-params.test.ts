// Every call's parameters are checked at run time against the contract's schemas in the one
// dispatch point every adapter goes through (issue 9, item 9): a wrong shape never reaches the
// service, and the caller gets one line naming the method, the field and what was wrong.
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { METHOD_NAMES, type LammHandlers } from '../../src-main/api/contract';
import { dispatch } from '../../src-main/api/rpc';
import { LammService } from '../../src-main/api/service';
import { tempDir } from './lamm-fixture';

/** Handlers that only record what reached them. */
function recorder() {
  const calls: [string, unknown][] = [];
  const handlers = new Proxy({} as LammHandlers, {
    get: (_t, method: string) => (params: unknown) => {
      calls.push([method, params]);
      return 'ok';
    },
  });
  return { calls, handlers };
}

async function errorOf(handlers: LammHandlers, method: string, params: unknown): Promise<string> {
  const res = await dispatch(handlers, { type: 'request', id: 1, method, params });
  if (res.ok) throw new Error(`${method} accepted ${JSON.stringify(params)}`);
  return res.error;
}

describe('rpc parameters are validated against the contract', () => {
  it('no method of the contract lets a number for its parameters reach the service', async () => {
    const { calls, handlers } = recorder();
    for (const method of METHOD_NAMES) {
      const error = await errorOf(handlers, method, 5);
      expect(error.startsWith(`${method}: `), error).toBe(true);
      expect(error).not.toContain('\n');
    }
    expect(calls).toEqual([]);
  });

  it('names the method, the field and the problem in one line', async () => {
    const { calls, handlers } = recorder();
    const cases: [string, unknown, string][] = [
      ['openProject', 5, 'openProject: expected object, received number'],
      ['openProject', { dbPath: 5 }, 'openProject: dbPath: expected string, received number'],
      ['openProject', {}, 'openProject: dbPath: expected string, received undefined'],
      ['openProject', { dbPath: 'a', evil: 1 }, 'openProject: unrecognized key: "evil"'],
      ['getStatus', { x: 1 }, 'getStatus: takes no parameters'],
      ['updateImages', { ids: [1, '2'] }, 'updateImages: ids[1]: expected number, received string'],
      ['updateImages', { ids: [1.5] }, 'updateImages: ids[0]: expected int, received number'],
      ['startTraining', { lambdas: { kd: 'x' } }, 'startTraining: lambdas.kd: expected number, received string'],
      ['startTraining', { method: 'sgd' }, 'startTraining: method: expected one of "lamm"|"coop"|"coop+lamm"'],
      ['exportRun', { runId: 1, format: 'zip', out: 'x' }, 'exportRun: format: expected one of "safetensors"|"npy"|"json"'],
      ['classifyImages', { exportPath: 'e', images: [] }, 'classifyImages: images: give at least one image to classify'],
      ['pickPath', { kind: 'folder', title: null }, 'pickPath: title: expected string, received null'],
    ];
    for (const [method, params, message] of cases) expect(await errorOf(handlers, method, params)).toBe(message);
    expect(calls).toEqual([]);
  });

  it('passes valid parameters through unchanged, and no-parameter calls as undefined', async () => {
    const { calls, handlers } = recorder();
    const valid: [string, unknown][] = [
      ['openProject', { dbPath: '/tmp/p.lamm' }],
      ['createProject', { dbPath: 'p.lamm', dataFolder: undefined }],
      ['startTraining', { method: 'coop+lamm', shots: 4, lambdas: { kd: 0.1 } }],
      ['startTraining', {}],
      ['updateImages', { ids: [1, 2], excluded: true }],
      ['pickPath', { kind: 'save' }],
    ];
    for (const [method, params] of valid) {
      const res = await dispatch(handlers, { type: 'request', id: 2, method, params });
      expect(res, method).toMatchObject({ ok: true, result: 'ok' });
    }
    await dispatch(handlers, { type: 'request', id: 3, method: 'getStatus', params: null });
    expect(calls).toEqual([...valid, ['getStatus', undefined]]);
  });

  describe('against the real service', () => {
    const dir = tempDir('params');
    const service = new LammService({ host: 'server', stateDir: path.join(dir, 'state'), version: '0.0.1' });
    afterAll(() => service.close());

    it('openProject(5) is refused before it reaches path.resolve', async () => {
      expect(await errorOf(service, 'openProject', 5)).toBe('openProject: expected object, received number');
      expect(await errorOf(service, 'openProject', { dbPath: 5 })).toBe('openProject: dbPath: expected string, received number');
      // A valid call still gets the service's own answer.
      expect(await errorOf(service, 'openProject', { dbPath: path.join(dir, 'none.lamm') })).toContain('no project file at');
    });
  });
});
