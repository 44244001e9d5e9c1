// lamm-thumb:// and /thumb/<id>: only files inside the project's folders are served; `..`,
// absolute paths elsewhere and symlinks that lead out are refused. app:// the same for the
// built renderer folder, and the CSP each host sends.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseThumbId, resolveInside } from '../../src-main/api/file-guard';
import { thumbnailProtocolHandler, type ThumbnailSource } from '../../src-main/api/thumbnails';
import { APP_URL, appProtocolHandler } from '../../src-main/api/app-protocol';
import { ELECTRON_CSP, serveCsp } from '../../src-main/api/csp';

const base = fs.mkdtempSync(path.join(os.tmpdir(), 'lamm-guard-'));
const project = path.join(base, 'project.lamm.sqlite.thumbs');
const outside = path.join(base, 'outside');
fs.mkdirSync(path.join(project, 'ab'), { recursive: true });
fs.mkdirSync(outside);
const inside = path.join(project, 'ab', 'abcd.webp');
fs.writeFileSync(inside, Buffer.from('RIFF....WEBP'));
const secret = path.join(outside, 'secret.png');
fs.writeFileSync(secret, 'secret');
fs.symlinkSync(secret, path.join(project, 'ab', 'link.png'));
fs.symlinkSync(outside, path.join(project, 'dirlink'));

describe('resolveInside', () => {
  it('accepts files inside a root', () => {
    expect(resolveInside([project], inside)).toBe(fs.realpathSync(inside));
  });
  it('refuses files outside, `..` escapes and symlinks that lead out', () => {
    expect(resolveInside([project], secret)).toBeNull();
    expect(resolveInside([project], path.join(project, '..', 'outside', 'secret.png'))).toBeNull();
    expect(resolveInside([project], path.join(project, 'ab', 'link.png'))).toBeNull();
    expect(resolveInside([project], path.join(project, 'dirlink', 'secret.png'))).toBeNull();
    expect(resolveInside([project], `${project}-sibling/x.png`)).toBeNull();
    expect(resolveInside([project], project)).toBeNull();
    expect(resolveInside([], inside)).toBeNull();
  });
  it('refuses files that do not exist', () => {
    expect(resolveInside([project], path.join(project, 'nope.png'))).toBeNull();
  });
});

describe('parseThumbId', () => {
  it('reads ids from both URL forms and nothing else', () => {
    expect(parseThumbId('/thumb/12')).toBe(12);
    expect(parseThumbId('image/12')).toBe(12);
    expect(parseThumbId('/thumb/../../etc/passwd')).toBeNull();
    expect(parseThumbId('/thumb/0')).toBeNull();
    expect(parseThumbId('/thumb/12/extra')).toBeNull();
    expect(parseThumbId('/thumb/-1')).toBeNull();
  });
});

describe('thumbnailProtocolHandler', () => {
  const candidates: Record<number, string> = {
    1: inside,
    2: secret,
    3: path.join(project, 'ab', 'link.png'),
    4: path.join(project, 'ab', '..', '..', 'outside', 'secret.png'),
  };
  const source: ThumbnailSource = {
    thumbnailCandidate: async (id) => candidates[id] ?? null,
    allowedRoots: () => [project],
  };
  const handle = thumbnailProtocolHandler(source);
  const get = (url: string) => handle(new Request(url));

  it('serves a thumbnail inside the project with its type', async () => {
    const res = await get('lamm-thumb://image/1');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/webp');
    expect(Buffer.from(await res.arrayBuffer()).toString()).toBe('RIFF....WEBP');
  });

  it('refuses paths outside the project even when the engine names them', async () => {
    for (const id of [2, 3, 4]) expect((await get(`lamm-thumb://image/${id}`)).status).toBe(404);
  });

  it('answers malformed and unknown URLs without touching the disk', async () => {
    expect((await get('lamm-thumb://image/abc')).status).toBe(400);
    expect((await get('lamm-thumb://image/1/../../secret')).status).toBe(400);
    expect((await get('lamm-thumb://image/99')).status).toBe(404);
  });
});

describe('appProtocolHandler (app://lamm/, the Electron UI)', () => {
  const renderer = path.join(base, 'renderer');
  fs.mkdirSync(path.join(renderer, 'assets'), { recursive: true });
  fs.writeFileSync(path.join(renderer, 'index.html'), '<!doctype html><title>LAMM</title>');
  fs.writeFileSync(path.join(renderer, 'assets', 'index-abc.js'), 'console.log(1)');
  fs.writeFileSync(path.join(renderer, 'assets', 'ops.wasm'), Buffer.from([0, 97, 115, 109]));
  fs.writeFileSync(path.join(base, 'renderer-secret.txt'), 'secret');
  fs.symlinkSync(secret, path.join(renderer, 'assets', 'link.js'));
  const handle = appProtocolHandler(renderer);
  const get = (url: string, init?: RequestInit) => handle(new Request(url, init));

  it('serves the page and its assets with their types and the Electron CSP', async () => {
    for (const url of [APP_URL, 'app://lamm/', 'app://lamm']) {
      const res = await get(url);
      expect(res.status, url).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(res.headers.get('content-security-policy')).toBe(ELECTRON_CSP);
      expect(await res.text()).toContain('<title>LAMM</title>');
    }
    const js = await get('app://lamm/assets/index-abc.js');
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(await js.text()).toBe('console.log(1)');
    expect((await get('app://lamm/assets/ops.wasm')).headers.get('content-type')).toBe('application/wasm');
    expect((await get('app://lamm/index.html?x=1#/train')).status).toBe(200);
  });

  it('serves nothing outside the renderer folder: `..` (plain or encoded), absolute paths, symlinks, siblings', async () => {
    for (const url of [
      'app://lamm/../renderer-secret.txt',
      'app://lamm/..%2Frenderer-secret.txt',
      'app://lamm/%2E%2E/%2E%2E/outside/secret.png',
      'app://lamm/assets/..%2F..%2Frenderer-secret.txt',
      `app://lamm/${encodeURIComponent(secret)}`,
      `app://lamm//${secret}`,
      'app://lamm/assets/link.js',
      'app://lamm/assets',
      'app://lamm/missing.js',
    ]) {
      const res = await get(url);
      expect(res.status, url).toBe(404);
      expect(await res.text()).not.toContain('secret');
    }
  });

  it('answers bad URLs, other hosts and other methods without reading files', async () => {
    expect((await get('app://lamm/%E0%A4%A')).status).toBe(400);
    expect((await get('app://lamm/index.html%00.js')).status).toBe(400);
    expect((await get('app://evil/index.html')).status).toBe(404);
    expect((await get(APP_URL, { method: 'POST', body: 'x' })).status).toBe(405);
    const head = await get(APP_URL, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });
});

describe('Content-Security-Policy', () => {
  const directive = (policy: string, name: string) => policy.split('; ').find((d) => d.startsWith(`${name} `));

  it('lets the Electron UI connect only to itself and lamm-thumb://', () => {
    expect(directive(ELECTRON_CSP, 'connect-src')).toBe("connect-src 'self' lamm-thumb:");
    expect(directive(ELECTRON_CSP, 'script-src')).toBe("script-src 'self'");
    expect(directive(ELECTRON_CSP, 'object-src')).toBe("object-src 'none'");
    expect(directive(ELECTRON_CSP, 'img-src')).toContain('lamm-thumb:');
  });

  it("lets `lamm serve`'s page open its own WebSocket and nothing else", () => {
    expect(directive(serveCsp('127.0.0.1:8123'), 'connect-src')).toBe("connect-src 'self' ws://127.0.0.1:8123 wss://127.0.0.1:8123");
    expect(directive(serveCsp('[::1]:80'), 'connect-src')).toBe("connect-src 'self' ws://[::1]:80 wss://[::1]:80");
    expect(directive(serveCsp('localhost'), 'connect-src')).toBe("connect-src 'self' ws://localhost wss://localhost");
    // A crafted Host header cannot add sources or directives.
    for (const host of ['evil.example; script-src *', 'a b', undefined, '']) expect(directive(serveCsp(host), 'connect-src')).toBe("connect-src 'self'");
  });
});
