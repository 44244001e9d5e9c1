// lamm-thumb:// and /thumb/<id>: only files inside the project's folders are served; `..`,
// absolute paths elsewhere and symlinks that lead out are refused.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseThumbId, resolveInside } from '../../src-main/api/file-guard';
import { thumbnailProtocolHandler, type ThumbnailSource } from '../../src-main/api/thumbnails';

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
  const candidates: Record<number, string> = { 1: inside, 2: secret, 3: path.join(project, 'ab', 'link.png'), 4: path.join(project, 'ab', '..', '..', 'outside', 'secret.png') };
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
