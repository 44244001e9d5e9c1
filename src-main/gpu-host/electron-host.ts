// Electron's side of the GPU host: a hidden window (sandboxed, context-isolated, no Node) that
// loads only the app's own gpu.html, never navigates, opens nothing, and is handed one
// MessagePort by its preload. Dawn cannot run in Electron's main or utility process (V8 memory
// cage), so the GPU work goes where Electron's WebGPU is: a renderer. Electron is passed in, so
// this file is tested under plain Node with fakes.
import type { BrowserWindow, BrowserWindowConstructorOptions, MessageChannelMain } from 'electron';
import { GpuHostClient } from './client';
import { GPU_PORT_CHANNEL, type FromHost, type GpuHostInfo, type ToHost } from './protocol';

export function gpuWindowOptions(preloadPath: string): BrowserWindowConstructorOptions {
  return {
    show: false,
    width: 320,
    height: 240,
    title: 'LAMM Studio GPU host',
    webPreferences: {
      preload: preloadPath,
      contextIsolation: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      sandbox: true,
      webSecurity: true,
      allowRunningInsecureContent: false,
      // A hidden window is throttled like a background tab: training would crawl.
      backgroundThrottling: false,
      spellcheck: false,
    },
  };
}

export interface ElectronParts {
  BrowserWindow: new (options: BrowserWindowConstructorOptions) => BrowserWindow;
  MessageChannelMain: new () => MessageChannelMain;
}

export interface GpuHost {
  client: GpuHostClient;
  info: GpuHostInfo;
  window: BrowserWindow;
  close(): void;
}

/**
 * Opens the hidden window on `url` (app://lamm/gpu.html) and waits for its WebGPU: rejects with
 * the page's one-line reason when it has none (the caller then keeps the worker on wasm).
 */
export async function openGpuHost(electron: ElectronParts, preloadPath: string, url: string): Promise<GpuHost> {
  const win = new electron.BrowserWindow(gpuWindowOptions(preloadPath));
  const contents = win.webContents;
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  contents.on('will-navigate', (e) => e.preventDefault());
  contents.on('will-redirect', (e) => e.preventDefault());
  const { port1, port2 } = new electron.MessageChannelMain();
  const client = new GpuHostClient({
    postMessage: (m: ToHost) => port1.postMessage(m),
    onMessage: (listener: (m: FromHost) => void) => port1.on('message', (e) => listener(e.data as FromHost)),
  });
  port1.start();
  const close = () => {
    client.close('the GPU host window closed');
    port1.close();
    if (!win.isDestroyed()) win.destroy();
  };
  contents.on('render-process-gone', (_e, details) => {
    client.close(`the GPU host page stopped (${details.reason})`);
    close();
  });
  win.on('closed', () => client.close('the GPU host window closed'));
  try {
    await win.loadURL(url);
    contents.postMessage(GPU_PORT_CHANNEL, null, [port2]);
    const info = await client.call('init', {});
    return { client, info, window: win, close };
  } catch (err) {
    close();
    throw err;
  }
}
