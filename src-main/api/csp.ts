// The UI's Content-Security-Policy, one table for both hosts, sent as a response header (by
// app:// in Electron, by `lamm serve` over HTTP) rather than a <meta> tag, so each host names
// exactly what the page may connect to: in Electron only the app itself and lamm-thumb://, over
// HTTP only the server's own origin and its WebSocket.
import { THUMB_SCHEME } from './ipc';

const BASE: ReadonlyArray<[string, string]> = [
  ['default-src', "'self'"],
  // No 'unsafe-eval': nothing in the UI compiles code from strings (the Map draws with WebGL2 directly).
  ['script-src', "'self'"],
  ['style-src', "'self' 'unsafe-inline'"], // Mantine sets inline styles
  ['img-src', `'self' data: blob: ${THUMB_SCHEME}:`],
  ['font-src', "'self' data:"],
  ['object-src', "'none'"],
  ['base-uri', "'none'"],
  ['form-action', "'none'"],
  ['frame-src', "'none'"],
  ['frame-ancestors', "'none'"],
];

function policy(connect: string): string {
  return [...BASE, ['connect-src', connect]].map(([k, v]) => `${k} ${v}`).join('; ');
}

/** Electron (app://): no network at all, only the app's files and thumbnails. */
export const ELECTRON_CSP = policy(`'self' ${THUMB_SCHEME}:`);

/** `lamm serve`: its own origin and the WebSocket on the same host (the Host header the page came by). */
export function serveCsp(hostHeader: string | undefined): string {
  // Only a plain host[:port] is echoed back; anything else gets 'self' alone (older browsers then
  // refuse the WebSocket rather than the policy being widened by a crafted header).
  const host = hostHeader && /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/.test(hostHeader) ? hostHeader : null;
  return policy(host ? `'self' ws://${host} wss://${host}` : "'self'");
}
