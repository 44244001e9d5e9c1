// Electron's side of the GPU host: a hidden window (sandboxed, context-isolated, no Node) that
// loads only the app's own gpu.html, never navigates, opens nothing, and is handed one
// MessagePort by its preload. Dawn cannot run in Electron's main or utility process (V8 memory
// cage), so the GPU work goes where Electron's WebGPU is: a renderer. Electron is passed in, so
// this file is tested under plain Node with fakes.
import type { BrowserWindow, BrowserWindowConstructorOptions, MessageChannelMain } from 'electron';
import { lockedDownPreferences } from '../api/electron-window';
import type { GpuRelay } from '../jobs/training';
import { GpuHostClient } from './client';
import { GPU_PORT_CHANNEL, type FromHost, type GpuHostInfo, type ToHost } from './protocol';

export function gpuWindowOptions(preloadPath: string): BrowserWindowConstructorOptions {
  return {
    show: false,
    width: 320,
    height: 240,
    title: 'LAMM Studio GPU host',
    webPreferences: {
      ...lockedDownPreferences(preloadPath),
      // A hidden window is throttled like a background tab: training would crawl.
      backgroundThrottling: false,
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
  /** Another port to the page, for a training worker (the main process relays its messages). */
  openRelay(): GpuRelay;
  close(): void;
}

function handPort(electron: ElectronParts, win: BrowserWindow) {
  const { port1, port2 } = new electron.MessageChannelMain();
  win.webContents.postMessage(GPU_PORT_CHANNEL, null, [port2]);
  port1.start();
  return port1;
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
  const close = () => {
    client.close('the GPU host window closed');
    if (!win.isDestroyed()) win.destroy();
  };
  let port1: ReturnType<typeof handPort> | null = null;
  let pageListener: ((m: FromHost) => void) | null = null;
  const client = new GpuHostClient({
    postMessage: (m: ToHost) => port1?.postMessage(m),
    onMessage: (listener: (m: FromHost) => void) => {
      pageListener = listener;
    },
  });
  contents.on('render-process-gone', (_e, details) => {
    client.close(`the GPU host page stopped (${details.reason})`);
    close();
  });
  win.on('closed', () => client.close('the GPU host window closed'));
  try {
    await win.loadURL(url);
    port1 = handPort(electron, win);
    port1.on('message', (e) => pageListener?.(e.data as FromHost));
    const info = await client.call('init', {});
    const openRelay = (): GpuRelay => {
      if (win.isDestroyed()) throw new Error('the GPU host window closed');
      const port = handPort(electron, win);
      const listeners = new Set<(m: FromHost) => void>();
      port.on('message', (e) => listeners.forEach((l) => l(e.data as FromHost)));
      return {
        postMessage: (m) => port.postMessage(m),
        onMessage(l) {
          listeners.add(l);
          return () => {
            listeners.delete(l);
            if (listeners.size === 0) port.close();
          };
        },
      };
    };
    return { client, info, window: win, openRelay, close };
  } catch (err) {
    close();
    throw err;
  }
}
