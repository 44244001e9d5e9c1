// The renderer's connection to the engine, through the contract only: the preload's
// `window.lamm` in Electron, a WebSocket to `lamm serve` in a browser. Both become the same
// typed LammApi.
import type { LammApi } from '../../src-main/api/contract';
import type { LammBridge } from '../../src-main/api/ipc';
import { createClient, MessageClientTransport, RemoteError, type ClientTransport, type RequestMessage, type ServerMessage } from '../../src-main/api/rpc';

declare global {
  interface Window {
    lamm?: LammBridge;
  }
}

export type ConnectionState = 'connecting' | 'open' | 'closed';

export interface Connection {
  api: LammApi;
  thumbUrl(imageId: number): string;
  onState(listener: (s: ConnectionState) => void): () => void;
}

export function connect(): Connection {
  return window.lamm ? connectElectron(window.lamm) : connectWebSocket();
}

function connectElectron(bridge: LammBridge): Connection {
  const transport: ClientTransport = {
    async request(method, params) {
      const r = await bridge.request(method, params ?? null);
      if (r.ok) return r.result;
      throw new RemoteError(r.error, method);
    },
    onEvent: (listener) => bridge.onEvent(listener),
  };
  return {
    api: createClient(transport),
    thumbUrl: (id) => bridge.thumbUrl(id),
    onState: (l) => {
      l('open');
      return () => {};
    },
  };
}

/** How long to wait before reconnecting after the server went away (grows to the last value). */
const RECONNECT_DELAYS_MS = [500, 1000, 2000, 5000];

function connectWebSocket(): Connection {
  const params = new URLSearchParams(location.search);
  const token = params.get('token') ?? sessionStorage.getItem('lamm-token') ?? '';
  if (token) sessionStorage.setItem('lamm-token', token);
  const wsUrl = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws${token ? `?token=${encodeURIComponent(token)}` : ''}`;

  let socket: WebSocket | null = null;
  let state: ConnectionState = 'connecting';
  let attempt = 0;
  const queue: RequestMessage[] = [];
  const stateListeners = new Set<(s: ConnectionState) => void>();
  const setState = (s: ConnectionState) => {
    state = s;
    for (const l of stateListeners) l(s);
  };

  const transport = new MessageClientTransport((msg) => {
    if (socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify(msg));
    else queue.push(msg);
  });

  const open = () => {
    setState('connecting');
    const ws = new WebSocket(wsUrl);
    socket = ws;
    ws.onopen = () => {
      attempt = 0;
      setState('open');
      for (const msg of queue.splice(0)) ws.send(JSON.stringify(msg));
    };
    ws.onmessage = (e) => {
      try {
        transport.receive(JSON.parse(String(e.data)) as ServerMessage);
      } catch {
        // a malformed message cannot be matched to a request: drop it
      }
    };
    ws.onclose = () => {
      setState('closed');
      transport.failAll('lost the connection to lamm serve: is it still running?');
      const delay = RECONNECT_DELAYS_MS[Math.min(attempt++, RECONNECT_DELAYS_MS.length - 1)];
      setTimeout(open, delay);
    };
  };
  open();

  return {
    api: createClient(transport),
    thumbUrl: (id) => `/thumb/${id}${token ? `?token=${encodeURIComponent(token)}` : ''}`,
    onState(listener) {
      stateListeners.add(listener);
      listener(state);
      return () => stateListeners.delete(listener);
    },
  };
}
