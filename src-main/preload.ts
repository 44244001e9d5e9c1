// The renderer's only door to the app: `window.lamm`, exposed through contextBridge. It passes
// contract requests and events through two IPC channels and nothing else (no ipcRenderer, no Node).
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import { IPC_CALL, IPC_EVENT, thumbUrlFor, type LammBridge } from './api/ipc';

const bridge: LammBridge = {
  request: (method, params) => ipcRenderer.invoke(IPC_CALL, method, params),
  onEvent(listener) {
    const forward = (_e: IpcRendererEvent, event: string, payload: unknown) => listener(event, payload);
    ipcRenderer.on(IPC_EVENT, forward);
    return () => {
      ipcRenderer.removeListener(IPC_EVENT, forward);
    };
  },
  thumbUrl: thumbUrlFor,
};

contextBridge.exposeInMainWorld('lamm', bridge);
