// Electron main: one window on the renderer, the contract over IPC (two channels, generic over
// every method and event), thumbnails through lamm-thumb://, native dialogs for pickPath.
// `--demo` on the command line (npm start) opens the bundled demo project.
import { app, BrowserWindow, dialog, ipcMain, Menu, protocol, shell, type IpcMainInvokeEvent } from 'electron';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { LammService } from './api/service';
import { dispatch, errorMessage } from './api/rpc';
import { IPC_CALL, IPC_EVENT, THUMB_SCHEME } from './api/ipc';
import { isAppNavigation, isExternalLink, windowOptions } from './api/electron-window';
import { thumbnailProtocolHandler } from './api/thumbnails';
import type { ParamsOf, ResultOf } from './api/contract';
import { setTrainingWorkerEntry } from './jobs/training';

const here = path.dirname(fileURLToPath(import.meta.url));
// Bundled beside this file by electron-vite (see electron.vite.config.ts).
setTrainingWorkerEntry({ url: new URL('./train-worker.js', import.meta.url), execArgv: [] });
const PRELOAD = path.join(here, '../preload/index.cjs');
const RENDERER_HTML = path.join(here, '../renderer/index.html');
const ICON = path.join(here, '../../resources/icon.png');

/** Electron adds native dialogs to the service; everything else is shared with `lamm serve`. */
class ElectronService extends LammService {
  window: BrowserWindow | null = null;

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

protocol.registerSchemesAsPrivileged([{ scheme: THUMB_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } }]);

if (!app.requestSingleInstanceLock()) app.quit();

const service = new ElectronService({ host: 'electron', stateDir: app.getPath('userData'), version: app.getVersion() });
let appUrl = pathToFileURL(RENDERER_HTML).href;

function isFromAppWindow(e: IpcMainInvokeEvent): boolean {
  const url = e.senderFrame?.url;
  return !!url && isAppNavigation(url, appUrl);
}

ipcMain.handle(IPC_CALL, async (e, method: string, params: unknown) => {
  if (!isFromAppWindow(e)) return { ok: false, error: 'request from an unknown page refused' };
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
  });
  const devUrl = process.env.ELECTRON_RENDERER_URL;
  if (devUrl && !app.isPackaged) {
    appUrl = devUrl;
    void win.loadURL(devUrl);
  } else void win.loadFile(RENDERER_HTML);
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
      { role: 'help', submenu: [{ label: 'LAMM paper (arXiv)', click: () => void shell.openExternal('https://arxiv.org/abs/2305.16543') }] },
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

app.on('before-quit', () => {
  void service.close();
});

app.whenReady().then(() => {
  protocol.handle(THUMB_SCHEME, thumbnailProtocolHandler(service));
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
