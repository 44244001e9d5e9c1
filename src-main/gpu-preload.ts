// The GPU host window's preload: hands the page the one MessagePort the main process sends, and
// exposes nothing else (no contextBridge API, no ipcRenderer).
import { ipcRenderer } from 'electron';
import { GPU_PORT_CHANNEL, PORT_MESSAGE } from './gpu-host/protocol';

ipcRenderer.once(GPU_PORT_CHANNEL, (e) => window.postMessage(PORT_MESSAGE, '*', e.ports));
