// app://lamm/…: the Electron window's UI, served from the built renderer folder instead of
// file:// (which grants pages extra privileges and shares one origin with every local file).
// Only files inside that folder are served (real paths: no `..`, no symlink out), GET only.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ELECTRON_CSP } from './csp';
import { mimeType, resolveInside } from './file-guard';

export const APP_SCHEME = 'app';
export const APP_HOST = 'lamm';
export const APP_URL = `${APP_SCHEME}://${APP_HOST}/index.html`;

/** For protocol.registerSchemesAsPrivileged, before the app is ready: a standard, secure origin. */
export const APP_SCHEME_PRIVILEGES = { standard: true, secure: true, supportFetchAPI: true, codeCache: true } as const;

/** The app:// handler (protocol.handle) serving `rendererDir`. */
export function appProtocolHandler(rendererDir: string): (request: Request) => Promise<Response> {
  return async (request) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return text(405, 'method not allowed');
    let rel: string;
    try {
      const url = new URL(request.url);
      if (url.protocol !== `${APP_SCHEME}:` || url.host !== APP_HOST) return text(404, 'not found');
      rel = decodeURIComponent(url.pathname).replace(/^\/+/, '') || 'index.html';
    } catch {
      return text(400, 'bad URL');
    }
    if (rel.includes('\0')) return text(400, 'bad URL');
    const file = resolveInside([rendererDir], path.join(rendererDir, rel));
    if (!file) return text(404, 'not found');
    let bytes: Buffer;
    try {
      bytes = await fs.readFile(file);
    } catch {
      return text(404, 'not found'); // a folder, or gone since the check
    }
    return new Response(request.method === 'HEAD' ? null : new Uint8Array(bytes), {
      status: 200,
      headers: { 'Content-Type': mimeType(file), 'Content-Security-Policy': ELECTRON_CSP, 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'no-cache' },
    });
  };
}

function text(status: number, body: string): Response {
  return new Response(body, { status, headers: { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Security-Policy': ELECTRON_CSP } });
}
