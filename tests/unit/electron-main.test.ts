// Electron main's wiring with Electron replaced by fakes: the window it opens (on app://), the
// contract over IPC (and who may call it), the protocols it registers, the permission handlers,
// the start-up switches, the native-binding choice and the Help menu.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { IPC_CALL, THUMB_SCHEME } from '../../src-main/api/ipc';
import { APP_SCHEME, APP_URL } from '../../src-main/api/app-protocol';
import { SQLITE_BINDING_ENV } from '../../src-main/api/electron-native';

const fake = vi.hoisted(() => ({
  windows: [] as { options: any; loaded: string | null; win: any }[],
  ipc: new Map<string, (...args: any[]) => unknown>(),
  protocols: new Map<string, (req: Request) => Promise<Response>>(),
  privileged: [] as any[],
  switches: [] as [string, string?][],
  permissionRequest: null as null | ((wc: unknown, permission: string, cb: (ok: boolean) => void, details: { requestingUrl: string }) => void),
  permissionCheck: null as null | ((wc: unknown, permission: string, origin: string) => boolean),
  devicePermission: null as null | ((details: unknown) => boolean),
  menu: null as any,
  errorBoxes: [] as string[],
  userData: '',
}));

vi.mock('electron', () => {
  class BrowserWindow {
    static getAllWindows = () => fake.windows;
    webContents = { setWindowOpenHandler: vi.fn(), on: vi.fn(), send: vi.fn(), mainFrame: { url: '', parent: null } };
    record: { options: any; loaded: string | null; win: any };
    constructor(options: any) {
      this.record = { options, loaded: null, win: this };
      fake.windows.push(this.record);
    }
    once = vi.fn();
    on = vi.fn();
    show = vi.fn();
    isDestroyed = () => false;
    loadFile = (f: string) => {
      this.record.loaded = f;
      return Promise.resolve();
    };
    loadURL = (u: string) => {
      this.record.loaded = u;
      this.webContents.mainFrame.url = u;
      return Promise.resolve();
    };
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
      commandLine: { appendSwitch: (name: string, value?: string) => fake.switches.push(value === undefined ? [name] : [name, value]) },
    },
    session: {
      defaultSession: {
        setPermissionRequestHandler: (fn: any) => (fake.permissionRequest = fn),
        setPermissionCheckHandler: (fn: any) => (fake.permissionCheck = fn),
        setDevicePermissionHandler: (fn: any) => (fake.devicePermission = fn),
      },
    },
    BrowserWindow,
    ipcMain: { handle: (channel: string, fn: (...args: any[]) => unknown) => fake.ipc.set(channel, fn) },
    protocol: {
      registerSchemesAsPrivileged: (s: any[]) => fake.privileged.push(...s),
      handle: (scheme: string, fn: (req: Request) => Promise<Response>) => fake.protocols.set(scheme, fn),
    },
    dialog: { showOpenDialog: vi.fn(), showSaveDialog: vi.fn(), showErrorBox: (_title: string, text: string) => fake.errorBoxes.push(text) },
    shell: { openExternal: vi.fn() },
    Menu: { setApplicationMenu: (m: unknown) => (fake.menu = m), buildFromTemplate: (t: unknown) => t },
  };
});

beforeAll(async () => {
  fake.userData = fs.mkdtempSync(path.join(os.tmpdir(), 'lamm-electron-'));
  await import('../../src-main/index');
  await new Promise((r) => setTimeout(r, 10)); // whenReady's then-callback
});

describe('Electron main', () => {
  /** An IPC event from the app window's top frame, as Electron builds it. */
  const fromApp = () => {
    const wc = fake.windows[0].win.webContents;
    return { sender: wc, senderFrame: wc.mainFrame };
  };

  it('opens one window with the locked-down options and the bundled preload, on app://', () => {
    expect(fake.windows).toHaveLength(1);
    const w = fake.windows[0];
    expect(w.options.webPreferences).toMatchObject({ contextIsolation: true, nodeIntegration: false, sandbox: true });
    expect(w.options.webPreferences.preload).toMatch(/preload[\\/]index\.cjs$/);
    expect(w.loaded).toBe(APP_URL);
  });

  it('answers contract calls from the app page over IPC', async () => {
    const handler = fake.ipc.get(IPC_CALL)!;
    const res = (await handler(fromApp(), 'getStatus', null)) as any;
    expect(res.ok).toBe(true);
    expect(res.result).toMatchObject({ host: 'electron', version: '9.9.9', project: null });
    const bad = (await handler(fromApp(), 'openProject', { dbPath: path.join(fake.userData, 'missing.sqlite') })) as any;
    expect(bad).toEqual({ ok: false, error: `no project file at ${path.join(fake.userData, 'missing.sqlite')}` });
  });

  it('refuses calls from any other page, frame or window', async () => {
    const handler = fake.ipc.get(IPC_CALL)!;
    const refused = { ok: false, error: 'request from an unknown page refused' };
    const wc = fake.windows[0].win.webContents;
    // The app window's top frame, navigated elsewhere (navigation is blocked, but not trusted either).
    expect(await handler({ sender: wc, senderFrame: { url: 'https://evil.example/', parent: null } }, 'getStatus', null)).toEqual(refused);
    // A subframe of the app window showing an app:// URL.
    expect(await handler({ sender: wc, senderFrame: { url: APP_URL, parent: wc.mainFrame } }, 'getStatus', null)).toEqual(refused);
    // Another frame object claiming the app URL, another window, no frame at all (destroyed).
    expect(await handler({ sender: wc, senderFrame: { url: APP_URL, parent: null } }, 'getStatus', null)).toEqual(refused);
    expect(await handler({ sender: {}, senderFrame: wc.mainFrame }, 'getStatus', null)).toEqual(refused);
    expect(await handler({ sender: wc, senderFrame: null }, 'getStatus', null)).toEqual(refused);
    expect(await handler({ senderFrame: { url: 'file:///etc/passwd' } }, 'getStatus', null)).toEqual(refused);
  });

  it('serves the UI from app:// (the built renderer folder only)', async () => {
    expect(fake.privileged).toContainEqual({ scheme: APP_SCHEME, privileges: expect.objectContaining({ standard: true, secure: true }) });
    const handle = fake.protocols.get(APP_SCHEME)!;
    expect((await handle(new Request('app://lamm/..%2F..%2Fpackage.json'))).status).toBe(404);
    expect((await handle(new Request('app://other/index.html'))).status).toBe(404);
  });

  it('denies every permission request and check', () => {
    const answers: boolean[] = [];
    for (const permission of ['media', 'geolocation', 'notifications', 'clipboard-read', 'clipboard-sanitized-write', 'fullscreen', 'hid', 'serial']) {
      fake.permissionRequest!(null, permission, (ok) => answers.push(ok), { requestingUrl: APP_URL });
      answers.push(fake.permissionCheck!(null, permission, 'app://lamm'));
    }
    answers.push(fake.devicePermission!({ deviceType: 'hid', origin: 'app://lamm' }));
    expect(answers).toHaveLength(17);
    expect(answers.every((a) => a === false)).toBe(true);
  });

  it("sets WebGPU's Linux switches once, before ready", () => {
    const expected = process.platform === 'linux' ? [['enable-unsafe-webgpu'], ['enable-features', 'Vulkan,VulkanFromANGLE,DefaultANGLEVulkan']] : [];
    expect(fake.switches).toEqual(expected);
  });

  it("says why projects cannot open when Electron's better-sqlite3 build is missing", () => {
    // Under vitest there is no Electron runtime, so no stamped build fits: no binding is set and the user is told.
    expect(process.env[SQLITE_BINDING_ENV]).toBeUndefined();
    expect(fake.errorBoxes).toEqual([expect.stringMatching(/^Electron's build of better-sqlite3 is missing \(.*\): run `npm run build:electron-native`$/)]);
  });

  it('links the LAMM paper (arXiv 2312.08212) from the Help menu', async () => {
    const electron = await import('electron');
    const help = (fake.menu as any[]).find((m) => m.role === 'help');
    help.submenu[0].click();
    expect(electron.shell.openExternal).toHaveBeenCalledWith('https://arxiv.org/abs/2312.08212');
  });

  it('registers lamm-thumb:// as a privileged scheme with a handler that serves nothing without a project', async () => {
    expect(fake.privileged).toContainEqual(expect.objectContaining({ scheme: THUMB_SCHEME }));
    const handle = fake.protocols.get(THUMB_SCHEME)!;
    expect((await handle(new Request('lamm-thumb://image/1'))).status).toBe(404);
    expect((await handle(new Request('lamm-thumb://image/..%2F..%2Fetc%2Fpasswd'))).status).toBe(400);
  });
});
