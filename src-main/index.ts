// Electron main: one window on the renderer (served as app://lamm/), the contract over IPC (two
// channels, generic over every method and event, top frame of the app window only), thumbnails
// through lamm-thumb://, native dialogs for pickPath. `--demo` on the command line (npm start)
// opens the bundled demo project.
import { app, BrowserWindow, dialog, ipcMain, Menu, MessageChannelMain, protocol, session, shell } from 'electron';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LammService } from './api/service';
import { dispatch, errorMessage } from './api/rpc';
import { IPC_CALL, IPC_EVENT, THUMB_SCHEME } from './api/ipc';
import { chromiumSwitches, isAppNavigation, isExternalLink, isPermissionAllowed, isTrustedSender, windowOptions } from './api/electron-window';
import { APP_SCHEME, APP_SCHEME_PRIVILEGES, APP_URL, appProtocolHandler } from './api/app-protocol';
import { chooseSqliteBinding, SQLITE_BINDING_ENV } from './api/electron-native';
import { thumbnailProtocolHandler } from './api/thumbnails';
import type { ParamsOf, ResultOf } from './api/contract';
import type { GpuRelay } from './jobs/training';
import { setBundledWorkerDir } from './jobs/workers';
import { openGpuHost, type GpuHost } from './gpu-host/electron-host';

const here = path.dirname(fileURLToPath(import.meta.url));
// The workers are bundled beside this file by electron-vite (see electron.vite.config.ts).
setBundledWorkerDir(new URL('./', import.meta.url));
const PRELOAD = path.join(here, '../preload/index.cjs');
const GPU_PRELOAD = path.join(here, '../preload/gpu.cjs');
const RENDERER_DIR = path.join(here, '../renderer');
const ICON = path.join(here, '../../resources/icon.png');
export const PAPER_URL = 'https://arxiv.org/abs/2312.08212';

// Electron's own better-sqlite3 build, chosen before anything (here or in the training worker)
// opens a project. Without it projects cannot open: say so and why, the window still opens.
const sqliteBinding = chooseSqliteBinding(app.isPackaged ? [process.resourcesPath].filter(Boolean) : [path.join(here, '../..')], {
  electron: process.versions.electron,
  modules: process.versions.modules,
  platform: process.platform,
  arch: process.arch,
});
if ('file' in sqliteBinding) process.env[SQLITE_BINDING_ENV] = sqliteBinding.file;
else process.stderr.write(`LAMM Studio: ${sqliteBinding.error}\n`);

for (const [name, value] of chromiumSwitches(process.platform)) app.commandLine.appendSwitch(name, value);

/** Electron adds native dialogs and its GPU host page to the service; everything else is shared with `lamm serve`. */
class ElectronService extends LammService {
  window: BrowserWindow | null = null;
  private gpuHost: Promise<GpuHost | null> | null = null;

  /**
   * Training's image encoder and loop go to the hidden GPU host window when its WebGPU has a
   * hardware adapter (Dawn cannot run in this process); else the worker stays on its own backend.
   * Opened on the first training, reopened after the page died.
   */
  protected override async gpuRelay(): Promise<GpuRelay | undefined> {
    this.gpuHost ??= openGpuHost({ BrowserWindow, MessageChannelMain }, GPU_PRELOAD, new URL('gpu.html', appUrl).href).then(
      (host) => {
        if (!host.info.adapter.software) return host;
        host.close();
        process.stderr.write('LAMM Studio: only a software WebGPU adapter; training stays in the worker\n');
        return null;
      },
      (err: unknown) => {
        process.stderr.write(`LAMM Studio: no GPU host window (${errorMessage(err)}); training stays in the worker\n`);
        return null;
      },
    );
    const host = await this.gpuHost;
    if (host?.client.closed) {
      this.gpuHost = null;
      return this.gpuRelay();
    }
    return host?.openRelay();
  }

  closeGpuHost(): void {
    void this.gpuHost?.then((host) => host?.close());
    this.gpuHost = null;
  }

  override async pickPath({ kind, title, defaultPath }: ParamsOf<'pickPath'>): Promise<ResultOf<'pickPath'>> {
    const win = this.window;
    if (kind === 'save') {
      const r = win ? await dialog.showSaveDialog(win, { title, defaultPath }) : await dialog.showSaveDialog({ title, defaultPath });
      return { supported: true, path: r.canceled ? null : (r.filePath ?? null) };
    }
    const properties: ('openFile' | 'openDirectory' | 'createDirectory')[] = kind === 'folder' ? ['openDirectory', 'createDirectory'] : ['openFile'];
    const r = win ? await dialog.showOpenDialog(win, { title, defaultPath, properties }) : await dialog.showOpenDialog({ title, defaultPath, properties });
    return { supported: true, path: r.canceled ? null : (r.filePaths[0] ?? null) };
  }
}

protocol.registerSchemesAsPrivileged([
  { scheme: APP_SCHEME, privileges: APP_SCHEME_PRIVILEGES },
  { scheme: THUMB_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } },
]);

if (!app.requestSingleInstanceLock()) app.quit();

// LAMM_STATE_DIR moves the per-user folder, as for `lamm serve` (tests, portable installs).
const stateDir = process.env.LAMM_STATE_DIR ? path.resolve(process.env.LAMM_STATE_DIR) : app.getPath('userData');
const service = new ElectronService({ host: 'electron', stateDir, version: app.getVersion() });
let appUrl = APP_URL;

ipcMain.handle(IPC_CALL, async (e, method: string, params: unknown) => {
  if (!isTrustedSender(e, service.window, appUrl)) return { ok: false, error: 'request from an unknown page refused' };
  const { id: _id, type: _type, ...rest } = await dispatch(service, { type: 'request', id: 0, method, params });
  return rest;
});

service.hub.subscribe((event, payload) => {
  const win = service.window;
  if (win && !win.isDestroyed()) win.webContents.send(IPC_EVENT, event, payload);
});

function createWindow(): BrowserWindow {
  const win = new BrowserWindow(windowOptions(PRELOAD, ICON));
  service.window = win;
  win.once('ready-to-show', () => win.show());
  win.webContents.setWindowOpenHandler(({ url }) => {
    if (isExternalLink(url)) void shell.openExternal(url);
    return { action: 'deny' };
  });
  win.webContents.on('will-navigate', (e, url) => {
    if (!isAppNavigation(url, appUrl)) e.preventDefault();
  });
  win.on('closed', () => {
    if (service.window === win) service.window = null;
    // The hidden window would keep the app from quitting (window-all-closed).
    service.closeGpuHost();
  });
  const devUrl = process.env.ELECTRON_RENDERER_URL;
  if (devUrl && !app.isPackaged) {
    appUrl = devUrl;
    void win.loadURL(devUrl);
  } else void win.loadURL(APP_URL);
  return win;
}

function buildMenu(): void {
  const isMac = process.platform === 'darwin';
  Menu.setApplicationMenu(
    Menu.buildFromTemplate([
      ...(isMac ? [{ role: 'appMenu' as const }] : []),
      { role: 'fileMenu' },
      { role: 'editMenu' },
      { role: 'viewMenu' },
      { role: 'windowMenu' },
      { role: 'help', submenu: [{ label: 'LAMM paper (arXiv)', click: () => void shell.openExternal(PAPER_URL) }] },
    ]),
  );
}

app.on('second-instance', () => {
  const win = service.window;
  if (win) {
    if (win.isMinimized()) win.restore();
    win.focus();
  }
});

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit();
});

// Quit waits for the service to close (jobs cancelled, project files closed), once.
let closed = false;
app.on('before-quit', (e) => {
  if (closed) return;
  e.preventDefault();
  closed = true;
  service
    .close()
    .catch((err: unknown) => process.stderr.write(`LAMM Studio: closing: ${errorMessage(err)}\n`))
    .finally(() => app.quit());
});

// No page may embed a <webview>.
app.on('web-contents-created', (_e, contents) => {
  contents.on('will-attach-webview', (ev) => ev.preventDefault());
});

app.whenReady().then(() => {
  session.defaultSession.setPermissionRequestHandler((_wc, permission, callback, details) =>
    callback(isPermissionAllowed(permission, details.requestingUrl, appUrl)),
  );
  session.defaultSession.setPermissionCheckHandler((_wc, permission, requestingOrigin) => isPermissionAllowed(permission, requestingOrigin, appUrl));
  session.defaultSession.setDevicePermissionHandler(() => false); // no HID, serial or USB devices
  protocol.handle(APP_SCHEME, appProtocolHandler(RENDERER_DIR));
  protocol.handle(THUMB_SCHEME, thumbnailProtocolHandler(service));
  if ('error' in sqliteBinding) dialog.showErrorBox('LAMM Studio cannot open projects', sqliteBinding.error);
  buildMenu();
  createWindow();
  if (process.argv.includes('--demo')) {
    try {
      service.openDemo();
    } catch (err) {
      // The window shows the Projects page; the reason goes to the terminal that ran npm start.
      process.stderr.write(`LAMM Studio: could not open the demo: ${errorMessage(err)}\n`);
    }
  }
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) createWindow();
  });
});
