// Electron main's wiring with Electron replaced by fakes: the window it opens, the contract
// over IPC (and who may call it), and the thumbnail protocol it registers.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { IPC_CALL, THUMB_SCHEME } from '../../src-main/api/ipc';

const fake = vi.hoisted(() => ({
  windows: [] as { options: any; loaded: string | null }[],
  ipc: new Map<string, (...args: any[]) => unknown>(),
  protocols: new Map<string, (req: Request) => Promise<Response>>(),
  privileged: [] as any[],
  userData: '',
}));

vi.mock('electron', () => {
  class BrowserWindow {
    static getAllWindows = () => fake.windows;
    webContents = { setWindowOpenHandler: vi.fn(), on: vi.fn(), send: vi.fn() };
    record: { options: any; loaded: string | null };
    constructor(options: any) {
      this.record = { options, loaded: null };
      fake.windows.push(this.record);
    }
    once = vi.fn();
    on = vi.fn();
    show = vi.fn();
    isDestroyed = () => false;
    loadFile = (f: string) => ((this.record.loaded = f), Promise.resolve());
    loadURL = (u: string) => ((this.record.loaded = u), Promise.resolve());
  }
  return {
    app: {
      requestSingleInstanceLock: () => true,
      getPath: () => fake.userData,
      getVersion: () => '9.9.9',
      whenReady: () => Promise.resolve(),
      on: vi.fn(),
      quit: vi.fn(),
      isPackaged: true,
    },
    BrowserWindow,
    ipcMain: { handle: (channel: string, fn: (...args: any[]) => unknown) => fake.ipc.set(channel, fn) },
    protocol: {
      registerSchemesAsPrivileged: (s: any[]) => fake.privileged.push(...s),
      handle: (scheme: string, fn: (req: Request) => Promise<Response>) => fake.protocols.set(scheme, fn),
    },
    dialog: { showOpenDialog: vi.fn(), showSaveDialog: vi.fn() },
    shell: { openExternal: vi.fn() },
    Menu: { setApplicationMenu: vi.fn(), buildFromTemplate: (t: unknown) => t },
  };
});

beforeAll(async () => {
  fake.userData = fs.mkdtempSync(path.join(os.tmpdir(), 'lamm-electron-'));
  await import('../../src-main/index');
  await new Promise((r) => setTimeout(r, 10)); // whenReady's then-callback
});

const rendererHtml = path.resolve('src-main/../renderer/index.html');

describe('Electron main', () => {
  it('opens one window with the locked-down options and the bundled preload', () => {
    expect(fake.windows).toHaveLength(1);
    const w = fake.windows[0];
    expect(w.options.webPreferences).toMatchObject({ contextIsolation: true, nodeIntegration: false, sandbox: true });
    expect(w.options.webPreferences.preload).toMatch(/preload[\\/]index\.cjs$/);
    expect(w.loaded).toMatch(/renderer[\\/]index\.html$/);
  });

  it('answers contract calls from the app page over IPC', async () => {
    const handler = fake.ipc.get(IPC_CALL)!;
    const appPage = pathToFileURL(fake.windows[0].loaded!).href;
    const res = (await handler({ senderFrame: { url: appPage } }, 'getStatus', null)) as any;
    expect(res.ok).toBe(true);
    expect(res.result).toMatchObject({ host: 'electron', version: '9.9.9', project: null });
    const bad = (await handler({ senderFrame: { url: appPage } }, 'openProject', { dbPath: path.join(fake.userData, 'missing.sqlite') })) as any;
    expect(bad).toEqual({ ok: false, error: `no project file at ${path.join(fake.userData, 'missing.sqlite')}` });
  });

  it('refuses calls from any other page', async () => {
    const handler = fake.ipc.get(IPC_CALL)!;
    expect(await handler({ senderFrame: { url: 'https://evil.example/' } }, 'getStatus', null)).toEqual({ ok: false, error: 'request from an unknown page refused' });
    expect(await handler({ senderFrame: { url: pathToFileURL(rendererHtml + '.evil.html').href } }, 'getStatus', null)).toMatchObject({ ok: false });
  });

  it('registers lamm-thumb:// as a privileged scheme with a handler that serves nothing without a project', async () => {
    expect(fake.privileged).toEqual([expect.objectContaining({ scheme: THUMB_SCHEME })]);
    const handle = fake.protocols.get(THUMB_SCHEME)!;
    expect((await handle(new Request('lamm-thumb://image/1'))).status).toBe(404);
    expect((await handle(new Request('lamm-thumb://image/..%2F..%2Fetc%2Fpasswd'))).status).toBe(400);
  });
});
