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
import { dispatch, errorMessage, type RequestMessage, type ServerMessage } from './api/rpc';
import { mimeType, parseThumbId, resolveInside } from './api/file-guard';
import { serveCsp } from './api/csp';
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
    const url = parseUrl(req.url ?? '/', 'http://localhost');
    if (!url) return send(res, 400, 'text/plain; charset=utf-8', 'bad request target');
    const thumbId = url.pathname.startsWith('/thumb/') ? parseThumbId(url.pathname) : null;
    if (url.pathname.startsWith('/thumb/')) {
      if (!authorised(url)) return send(res, 401, 'text/plain; charset=utf-8', 'missing or wrong token');
      const file = thumbId === null ? null : await resolveThumbnail(service, thumbId);
      if (!file) return send(res, 404, 'text/plain; charset=utf-8', 'no such thumbnail');
      return sendFile(res, file, 'private, max-age=3600');
    }
    // The renderer itself is public code; the token guards data (thumbnails, the WebSocket).
    const decoded = safeDecode(url.pathname);
    if (decoded === null) return send(res, 400, 'text/plain; charset=utf-8', 'bad percent-encoding in the path');
    const rel = decoded.replace(/^\/+/, '') || 'index.html';
    const file = resolveInside([opts.staticDir], path.join(opts.staticDir, rel)) ?? resolveInside([opts.staticDir], path.join(opts.staticDir, 'index.html'));
    if (!file) return send(res, 503, 'text/plain; charset=utf-8', `the UI is not built (no ${path.join(opts.staticDir, 'index.html')}): run \`npm run build\``);
    return sendFile(res, file, file.endsWith('index.html') ? 'no-cache' : 'public, max-age=31536000, immutable');
  }

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  // The token is checked before anything else reads the request, and nothing a client sends
  // may throw out of here: an exception in an 'upgrade' listener ends the whole process.
  const upgradeRefusal = (req: http.IncomingMessage): string | null => {
    const url = parseUrl(req.url ?? '/', 'http://localhost');
    if (!url || !authorised(url)) return '401 Unauthorized';
    if (!hostAllowed(req)) return '421 Misdirected Request';
    if (!isSameOrigin(req.headers.origin, req.headers.host)) return '403 Forbidden';
    if (url.pathname !== '/ws') return '404 Not Found';
    return null;
  };
  server.on('upgrade', (req, socket, head) => {
    socket.on('error', () => socket.destroy());
    try {
      const refusal = upgradeRefusal(req);
      if (refusal) return void socket.end(`HTTP/1.1 ${refusal}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      wss.handleUpgrade(req, socket, head, (ws) => serveConnection(ws, service));
    } catch {
      socket.destroy();
    }
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
  // ws has already started the closing handshake (1009 too big, 1007 bad UTF-8, 1002 bad frame)
  // when it emits 'error', and drops the socket itself if the peer never answers. Terminating
  // here would discard the close frame; having no listener would throw and end the process.
  ws.on('error', () => {});
  const post = (msg: ServerMessage) => {
    if (ws.readyState !== ws.OPEN) return;
    let text: string;
    try {
      text = JSON.stringify(msg);
    } catch (err) {
      if (msg.type !== 'response') return;
      text = JSON.stringify({ type: 'response', id: msg.id, ok: false, error: `the result cannot be sent: ${errorMessage(err)}` });
    }
    ws.send(text, (err) => err && ws.terminate());
  };
  const unsubscribe = service.hub.subscribe((event, payload) => post({ type: 'event', event, payload }));
  ws.on('close', unsubscribe);
  ws.on('message', (data, isBinary) => {
    if (isBinary) return; // requests are JSON text
    let msg: Partial<RequestMessage> | null;
    try {
      msg = JSON.parse(data.toString()) as Partial<RequestMessage> | null;
    } catch {
      return; // not JSON: nothing to answer to
    }
    if (msg?.type !== 'request' || typeof msg.id !== 'number') return;
    dispatch(service, msg as RequestMessage)
      .then(post)
      .catch(() => ws.terminate());
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
    ...(file.endsWith('.html') ? { 'Content-Security-Policy': serveCsp(res.req.headers.host) } : {}),
  });
  if (res.req.method === 'HEAD') return void res.end();
  createReadStream(file)
    .on('error', () => res.destroy())
    .pipe(res);
}

function send(res: http.ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

function parseUrl(input: string, base?: string): URL | null {
  try {
    return new URL(input, base);
  } catch {
    return null;
  }
}

function safeDecode(text: string): string | null {
  try {
    return decodeURIComponent(text);
  } catch {
    return null;
  }
}

/**
 * A browser always sends Origin on a WebSocket upgrade; none means a non-browser client. One that
 * does not parse (`null` from a sandboxed iframe or a file: page) counts as foreign.
 */
export function isSameOrigin(origin: string | undefined, hostHeader: string | undefined): boolean {
  if (origin === undefined) return true;
  const url = parseUrl(origin);
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || !hostHeader) return false;
  return url.host === hostHeader.toLowerCase();
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
