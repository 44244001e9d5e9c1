// The GPU host window with Electron replaced by fakes: hidden, sandboxed, context-isolated, no
// Node; window.open denied and navigation refused; its port carries the client's calls; a page
// without WebGPU or one that dies fails with one line.
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { gpuWindowOptions, openGpuHost, type ElectronParts } from '../../src-main/gpu-host/electron-host';
import { GPU_PORT_CHANNEL, type FromHost, type ToHost } from '../../src-main/gpu-host/protocol';

/** MessagePortMain over Node's MessagePort: 'message' events carry { data }. */
class FakePortMain {
  constructor(readonly port: MessagePort) {}
  postMessage(m: unknown) {
    this.port.postMessage(m);
  }
  on(_event: 'message', fn: (e: { data: unknown }) => void) {
    this.port.on('message', (data) => fn({ data }));
  }
  start() {}
  close() {
    this.port.close();
  }
}

/** A page: answers init as `adapter` says, and embedTexts with one zero row per text. */
function fakePage(port: FakePortMain, adapter: boolean) {
  port.port.on('message', (m: ToHost) => {
    if (!('op' in m)) return;
    const reply = (r: FromHost) => port.port.postMessage(r);
    if (m.op === 'init') {
      reply(
        adapter
          ? {
              id: m.id,
              ok: true,
              result: { backend: 'webgpu', adapter: { vendor: 'nvidia', architecture: 'ampere', device: '', description: '', software: false } },
            }
          : { id: m.id, ok: false, error: 'navigator.gpu found no adapter' },
      );
    } else if (m.op === 'embedTexts') {
      reply({ id: m.id, ok: true, result: (m.params as { texts: string[] }).texts.map(() => new Float32Array(4)) });
    }
  });
}

function fakeElectron(adapter: boolean) {
  const made: any[] = [];
  const parts: ElectronParts = {
    MessageChannelMain: class {
      port1: FakePortMain;
      port2: FakePortMain;
      constructor() {
        const c = new MessageChannel();
        this.port1 = new FakePortMain(c.port1);
        this.port2 = new FakePortMain(c.port2);
      }
    } as any,
    BrowserWindow: class {
      destroyed = false;
      handlers: Record<string, (...a: any[]) => void> = {};
      winHandlers: Record<string, () => void> = {};
      record: any;
      webContents: any;
      constructor(options: any) {
        this.record = { options, loaded: null as string | null, posted: [] as unknown[], openHandler: null as any };
        made.push(this);
        this.webContents = {
          setWindowOpenHandler: (fn: any) => {
            this.record.openHandler = fn;
          },
          on: (event: string, fn: any) => {
            this.handlers[event] = fn;
          },
          postMessage: (channel: string, _msg: unknown, ports: FakePortMain[]) => {
            this.record.posted.push(channel);
            // What the preload and compute.ts do with the port.
            fakePage(ports[0], adapter);
          },
        };
      }
      on(event: string, fn: () => void) {
        this.winHandlers[event] = fn;
      }
      async loadURL(url: string) {
        this.record.loaded = url;
      }
      isDestroyed() {
        return this.destroyed;
      }
      destroy() {
        this.destroyed = true;
      }
    } as any,
  };
  return { parts, made };
}

describe('GPU host window', () => {
  it('is hidden and gives its page no Node: sandbox, context isolation, no node integration, not throttled', () => {
    const o = gpuWindowOptions('/app/out/preload/gpu.cjs');
    expect(o.show).toBe(false);
    expect(o.webPreferences).toMatchObject({
      preload: '/app/out/preload/gpu.cjs',
      sandbox: true,
      contextIsolation: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      webSecurity: true,
      backgroundThrottling: false,
    });
  });

  it('loads only the given page, denies window.open and navigation, and serves calls over the port it hands over', async () => {
    const { parts, made } = fakeElectron(true);
    const host = await openGpuHost(parts, '/p/gpu.cjs', 'app://lamm/gpu.html');
    const w = made[0];
    expect(w.record.loaded).toBe('app://lamm/gpu.html');
    expect(w.record.posted).toEqual([GPU_PORT_CHANNEL]);
    expect(w.record.openHandler({ url: 'https://example.com/' })).toEqual({ action: 'deny' });
    let prevented = false;
    w.handlers['will-navigate']({ preventDefault: () => (prevented = true) }, 'https://example.com/');
    expect(prevented).toBe(true);
    expect(host.info.adapter.software).toBe(false);
    expect(await host.client.call('embedTexts', { texts: ['a', 'b'] })).toHaveLength(2);

    // A training worker's relay: a port of its own, handed over the same channel.
    const relay = host.openRelay();
    expect(w.record.posted).toEqual([GPU_PORT_CHANNEL, GPU_PORT_CHANNEL]);
    const answer = new Promise<FromHost>((resolve) => {
      const off = relay.onMessage((m) => {
        off();
        resolve(m);
      });
    });
    relay.postMessage({ id: 7, op: 'embedTexts', params: { texts: ['c'] } });
    expect(await answer).toMatchObject({ id: 7, ok: true });

    // The page's process dies mid-call: the call fails with one line, later calls too, the window goes.
    const pending = host.client.call('init', {});
    w.handlers['render-process-gone']({}, { reason: 'crashed' });
    await expect(pending).rejects.toThrow(/^the GPU host page stopped \(crashed\)$/);
    await expect(host.client.call('embedTexts', { texts: ['x'] })).rejects.toThrow(/^the GPU host page stopped \(crashed\)$/);
    expect(w.destroyed).toBe(true);
  });

  it('a page without WebGPU: rejects with its reason and destroys the window', async () => {
    const { parts, made } = fakeElectron(false);
    await expect(openGpuHost(parts, '/p/gpu.cjs', 'app://lamm/gpu.html')).rejects.toThrow(/^navigator.gpu found no adapter$/);
    expect(made[0].destroyed).toBe(true);
  });
});
