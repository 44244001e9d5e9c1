// A Node WebSocket client of `lamm serve` for tests: the same typed LammApi the renderer uses.
import WebSocket from 'ws';
import type { EventName, LammApi, LammEvents } from '../../src-main/api/contract';
import { createClient, MessageClientTransport, type ServerMessage } from '../../src-main/api/rpc';

export interface TestClient {
  api: LammApi;
  ws: WebSocket;
  /** Resolves with the first event of that name that passes `match`. */
  next<E extends EventName>(event: E, match?: (p: LammEvents[E]) => boolean, timeoutMs?: number): Promise<LammEvents[E]>;
  close(): void;
}

export async function connectClient(httpUrl: string, headers: Record<string, string> = {}): Promise<TestClient> {
  const u = new URL(httpUrl);
  const wsUrl = `ws://${u.host}/ws${u.search}`;
  const ws = new WebSocket(wsUrl, { headers });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  });
  const transport = new MessageClientTransport((msg) => ws.send(JSON.stringify(msg)));
  ws.on('message', (data) => transport.receive(JSON.parse(data.toString()) as ServerMessage));
  ws.on('close', () => transport.failAll('closed'));
  const api = createClient(transport);
  return {
    api,
    ws,
    next(event, match = () => true, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          off();
          reject(new Error(`no ${event} within ${timeoutMs} ms`));
        }, timeoutMs);
        const off = api.on(event, (p) => {
          if (!match(p)) return;
          clearTimeout(timer);
          off();
          resolve(p);
        });
      });
    },
    close: () => ws.close(),
  };
}
