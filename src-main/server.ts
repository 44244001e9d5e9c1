// `lamm serve`: the app's UI in any browser. HTTP serves the built renderer and thumbnails; a
// WebSocket carries the contract (requests with ids, pushed events). Bound to 127.0.0.1 by
// default, with a random token every request must carry (unless auth is turned off), and a
// Host check so a web page cannot reach it through DNS rebinding.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { dispatch, type RequestMessage, type ServerMessage } from './api/rpc';
import { mimeType, parseThumbId, resolveInside } from './api/file-guard';
import type { LammService } from './api/service';
import { resolveThumbnail } from './api/thumbnails';

export interface ServerOptions {
  service: LammService;
  /** 0 picks a free port. */
  port?: number;
  host?: string;
  /** false: no token (only sensible on a trusted machine). */
  auth?: boolean;
  /** The built renderer (out/renderer). */
  staticDir: string;
}

export interface RunningServer {
  /** Open this in a browser: carries the token. */
  url: string;
  port: number;
  token: string | null;
  close(): Promise<void>;
}

export const DEFAULT_HOST = '127.0.0.1';
/** Largest request message accepted over the WebSocket. */
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const host = opts.host ?? DEFAULT_HOST;
  const token = opts.auth === false ? null : randomBytes(24).toString('base64url');
  const { service } = opts;
  let port = 0;

  const authorised = (url: URL): boolean => token === null || safeEqual(url.searchParams.get('token') ?? '', token);
  const hostAllowed = (req: http.IncomingMessage): boolean => isAllowedHost(req.headers.host, host, port);

  const server = http.createServer((req, res) => {
    handleHttp(req, res).catch((err) => {
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', `internal error: ${(err as Error).message}`);
      else res.destroy();
    });
  });

  async function handleHttp(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (!hostAllowed(req)) return send(res, 421, 'text/plain; charset=utf-8', 'unexpected Host header');
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain; charset=utf-8', 'method not allowed');
    const url = new URL(req.url ?? '/', 'http://localhost');
    const thumbId = url.pathname.startsWith('/thumb/') ? parseThumbId(url.pathname) : null;
    if (url.pathname.startsWith('/thumb/')) {
      if (!authorised(url)) return send(res, 401, 'text/plain; charset=utf-8', 'missing or wrong token');
      const file = thumbId === null ? null : await resolveThumbnail(service, thumbId);
      if (!file) return send(res, 404, 'text/plain; charset=utf-8', 'no such thumbnail');
      return sendFile(res, file, 'private, max-age=3600');
    }
    // The renderer itself is public code; the token guards data (thumbnails, the WebSocket).
    const rel = decodeURIComponent(url.pathname).replace(/^\/+/, '') || 'index.html';
    const file = resolveInside([opts.staticDir], path.join(opts.staticDir, rel)) ?? resolveInside([opts.staticDir], path.join(opts.staticDir, 'index.html'));
    if (!file) return send(res, 503, 'text/plain; charset=utf-8', `the UI is not built (no ${path.join(opts.staticDir, 'index.html')}): run \`npm run build\``);
    return sendFile(res, file, file.endsWith('index.html') ? 'no-cache' : 'public, max-age=31536000, immutable');
  }

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const origin = req.headers.origin;
    const sameOrigin = !origin || new URL(origin).host === req.headers.host;
    if (url.pathname !== '/ws' || !hostAllowed(req) || !sameOrigin || !authorised(url)) {
      socket.write('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\n\r\n');
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => serveConnection(ws, service));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  const url = `http://${shownHost}:${port}/${token ? `?token=${token}` : ''}`;

  return {
    url,
    port,
    token,
    close: async () => {
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function serveConnection(ws: WebSocket, service: LammService): void {
  const post = (msg: ServerMessage) => {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(msg));
  };
  const unsubscribe = service.hub.subscribe((event, payload) => post({ type: 'event', event, payload }));
  ws.on('close', unsubscribe);
  ws.on('message', (data) => {
    let msg: RequestMessage;
    try {
      msg = JSON.parse(data.toString());
    } catch {
      return; // not JSON: nothing to answer to
    }
    if (msg?.type !== 'request' || typeof msg.id !== 'number') return;
    void dispatch(service, msg).then(post);
  });
}

async function sendFile(res: http.ServerResponse, file: string, cacheControl: string): Promise<void> {
  const stat = await fs.stat(file);
  if (!stat.isFile()) return send(res, 404, 'text/plain; charset=utf-8', 'not found');
  res.writeHead(200, {
    'Content-Type': mimeType(file),
    'Content-Length': stat.size,
    'Cache-Control': cacheControl,
    'X-Content-Type-Options': 'nosniff',
  });
  if (res.req.method === 'HEAD') return void res.end();
  createReadStream(file).on('error', () => res.destroy()).pipe(res);
}

function send(res: http.ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

const LOOPBACK_NAMES = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** On a loopback bind only loopback Host headers pass (DNS-rebinding defence); other binds accept any. */
export function isAllowedHost(hostHeader: string | undefined, boundHost: string, port: number): boolean {
  const loopbackBind = boundHost === '127.0.0.1' || boundHost === 'localhost' || boundHost === '::1';
  if (!loopbackBind) return true;
  if (!hostHeader) return false;
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(hostHeader.toLowerCase());
  if (!m) return false;
  return LOOPBACK_NAMES.has(m[1]) && (m[2] === undefined || Number(m[2]) === port);
}
