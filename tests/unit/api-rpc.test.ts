// The contract's transport layer: a typed client over a message pipe, dispatch onto handlers,
// pushed events, and failures as one-line messages.
import { describe, expect, it } from 'vitest';
import { METHOD_NAMES, type LammHandlers } from '../../src-main/api/contract';
import { createClient, dispatch, EventHub, MessageClientTransport, RemoteError, type ServerMessage } from '../../src-main/api/rpc';

/** A fake service: only the methods the tests call; `this` must survive dispatch. */
class FakeService {
  readonly hub = new EventHub();
  calls: string[] = [];
  private readonly prefix = 'renamed to ';
  renameClass(p: { classId: number; promptName: string }) {
    this.calls.push(`renameClass ${p.classId}`);
    return { id: p.classId, folder: 'f', promptName: this.prefix + p.promptName, counts: { train: 1, test: 2, excluded: 0, total: 3 } };
  }
  async listClasses() {
    throw new Error('no project is open\nstack details the user never sees');
  }
  cancelJob() {
    return undefined; // a handler without a result still answers
  }
}

function wire(service: FakeService) {
  const handlers = service as unknown as LammHandlers;
  const transport = new MessageClientTransport((msg) => {
    // JSON both ways, as over the WebSocket.
    const request = JSON.parse(JSON.stringify(msg));
    void dispatch(handlers, request).then((res) => transport.receive(JSON.parse(JSON.stringify(res)) as ServerMessage));
  });
  service.hub.subscribe((event, payload) => transport.receive({ type: 'event', event, payload }));
  return { api: createClient(transport), transport };
}

describe('rpc', () => {
  it('maps typed calls to handlers with their `this`, and results back', async () => {
    const service = new FakeService();
    const { api } = wire(service);
    const row = await api.renameClass({ classId: 7, promptName: 'red square' });
    expect(row.promptName).toBe('renamed to red square');
    expect(service.calls).toEqual(['renameClass 7']);
    await expect(api.cancelJob({ jobId: 'x' })).resolves.toBeNull();
  });

  it('turns a thrown error into a RemoteError with only its first line', async () => {
    const { api } = wire(new FakeService());
    const err = await api.listClasses().catch((e) => e);
    expect(err).toBeInstanceOf(RemoteError);
    expect(err.message).toBe('no project is open');
    expect(err.method).toBe('listClasses');
  });

  it('refuses methods outside the contract', async () => {
    const res = await dispatch(new FakeService() as unknown as LammHandlers, { type: 'request', id: 3, method: 'constructor', params: null });
    expect(res).toEqual({ type: 'response', id: 3, ok: false, error: 'unknown method "constructor"' });
    const api = createClient(new MessageClientTransport(() => {}));
    expect((api as unknown as Record<string, unknown>).notAMethod).toBeUndefined();
  });

  it('delivers pushed events to typed subscribers until they unsubscribe', async () => {
    const service = new FakeService();
    const { api } = wire(service);
    const seen: string[] = [];
    const off = api.on('job:progress', (p) => seen.push(`${p.jobId}:${p.progress.done}/${p.progress.total}`));
    service.hub.emit('job:progress', { jobId: 'train-1', progress: { stage: 'train', done: 1, total: 4 } });
    service.hub.emit('job:log', { jobId: 'train-1', level: 'info', message: 'other event', time: '' });
    off();
    service.hub.emit('job:progress', { jobId: 'train-1', progress: { stage: 'train', done: 2, total: 4 } });
    expect(seen).toEqual(['train-1:1/4']);
  });

  it('fails pending calls when the pipe closes, so no caller waits forever', async () => {
    const transport = new MessageClientTransport(() => {});
    const api = createClient(transport);
    const pending = api.getStatus();
    transport.failAll('lost the connection');
    await expect(pending).rejects.toThrow('lost the connection');
  });

  it('lists every contract method once', () => {
    expect(new Set(METHOD_NAMES).size).toBe(METHOD_NAMES.length);
  });
});
