// The GPU host window's preload: hands the page each MessagePort the main process sends (one per client), and
// exposes nothing else (no contextBridge API, no ipcRenderer).
import { ipcRenderer } from 'electron';
import { GPU_PORT_CHANNEL, PORT_MESSAGE } from './gpu-host/protocol';

ipcRenderer.on(GPU_PORT_CHANNEL, (e) => window.postMessage(PORT_MESSAGE, '*', e.ports));
