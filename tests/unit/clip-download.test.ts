// The pinned Hugging Face download against a local server that answers like the Hub (LFS
// files redirect to a CDN with their SHA-256 in X-Linked-Etag; small files carry their git
// blob SHA-1 as ETag), and the real huggingface.co from this offline machine.
import { createHash, randomBytes } from 'node:crypto';
import dns from 'node:dns/promises';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downloadPinnedModel, type PinnedModel } from '../../src-main/clip/download';
import { silentContext, type JobContext } from '../../src-main/jobs/context';

const WEIGHTS = randomBytes(300_000);
const CONFIG = Buffer.from('{"projection_dim": 16}');
const MODEL: PinnedModel = {
  repo: 'test/tiny-clip',
  revision: '0123456789abcdef0123456789abcdef01234567',
  title: 'test',
  approxBytes: WEIGHTS.length,
  files: [{ path: 'config.json' }, { path: 'model.safetensors' }],
};

const HF_RESOLVES = await dns.lookup('huggingface.co').then(
  () => true,
  () => false,
);

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const gitSha1 = (b: Buffer) => createHash('sha1').update(`blob ${b.length}\0`).update(b).digest('hex');

let server: http.Server;
let endpoint: string;
let corrupt = false;
const ranges: (string | undefined)[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const url = req.url ?? '';
    if (url === `/${MODEL.repo}/resolve/${MODEL.revision}/model.safetensors`) {
      res.writeHead(302, { Location: '/cdn/weights', 'X-Linked-Etag': `"${sha256(WEIGHTS)}"`, 'X-Linked-Size': String(WEIGHTS.length) });
      return res.end();
    }
    if (url === `/${MODEL.repo}/resolve/${MODEL.revision}/config.json`) {
      res.writeHead(200, { ETag: `"${gitSha1(CONFIG)}"`, 'Content-Length': CONFIG.length });
      return res.end(req.method === 'HEAD' ? undefined : CONFIG);
    }
    if (url === '/cdn/weights') {
      const body = corrupt ? Buffer.from(WEIGHTS).fill(7, 1000, 1010) : WEIGHTS;
      ranges.push(req.headers.range);
      const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
      const start = m ? Number(m[1]) : 0;
      res.writeHead(m ? 206 : 200, {
        'Content-Length': body.length - start,
        ...(m ? { 'Content-Range': `bytes ${start}-${body.length - 1}/${body.length}` } : {}),
      });
      return res.end(body.subarray(start));
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const tempDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'lamm-download-'));

function progressContext(): JobContext & { seen: number[] } {
  const seen: number[] = [];
  return { ...silentContext(), seen, progress: (p) => seen.push(p.done) };
}

describe('downloadPinnedModel', () => {
  it('downloads every file, verified, with byte progress', async () => {
    const dest = tempDir();
    const ctx = progressContext();
    await downloadPinnedModel(MODEL, dest, ctx, { endpoint });
    expect(fs.readFileSync(path.join(dest, 'model.safetensors')).equals(WEIGHTS)).toBe(true);
    expect(fs.readFileSync(path.join(dest, 'config.json')).equals(CONFIG)).toBe(true);
    expect(fs.existsSync(path.join(dest, 'model.safetensors.part'))).toBe(false);
    expect(ctx.seen.at(-1)).toBe(WEIGHTS.length + CONFIG.length);
    expect(ctx.seen.every((v, i) => i === 0 || v >= ctx.seen[i - 1])).toBe(true);
  });

  it('resumes a partial file with an HTTP Range request', async () => {
    const dest = tempDir();
    fs.writeFileSync(path.join(dest, 'model.safetensors.part'), WEIGHTS.subarray(0, 123_456));
    ranges.length = 0;
    await downloadPinnedModel(MODEL, dest, silentContext(), { endpoint });
    expect(ranges).toEqual(['bytes=123456-']);
    expect(sha256(fs.readFileSync(path.join(dest, 'model.safetensors')))).toBe(sha256(WEIGHTS));
  });

  it('refuses bytes that do not match the published SHA-256 and keeps nothing of them', async () => {
    const dest = tempDir();
    corrupt = true;
    try {
      await expect(downloadPinnedModel(MODEL, dest, silentContext(), { endpoint })).rejects.toThrow(
        /model.safetensors: checksum mismatch \(expected sha256 [0-9a-f]{64}/,
      );
    } finally {
      corrupt = false;
    }
    expect(fs.existsSync(path.join(dest, 'model.safetensors'))).toBe(false);
    expect(fs.existsSync(path.join(dest, 'model.safetensors.part'))).toBe(false);
  });

  it('checks a pinned SHA-256 over the one the server sends', async () => {
    const pinned: PinnedModel = { ...MODEL, files: [{ path: 'model.safetensors', sha256: '0'.repeat(64) }] };
    await expect(downloadPinnedModel(pinned, tempDir(), silentContext(), { endpoint })).rejects.toThrow(`expected sha256 ${'0'.repeat(64)}`);
  });

  it('says plainly when the server cannot be reached', async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    await expect(downloadPinnedModel(MODEL, tempDir(), silentContext(), { endpoint: `http://127.0.0.1:${port}` })).rejects.toThrow(
      `cannot reach 127.0.0.1:${port}: offline? (ECONNREFUSED)`,
    );
  });

  // Only meaningful (and only safe: no 600 MB download) where huggingface.co does not resolve.
  it.skipIf(HF_RESOLVES)('says plainly when huggingface.co cannot be reached', async () => {
    const err = await downloadPinnedModel(MODEL, tempDir(), silentContext(), { endpoint: 'https://huggingface.co' }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/^cannot reach huggingface\.co: offline\?/);
  });

  it('stops when cancelled', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(downloadPinnedModel(MODEL, tempDir(), { signal: controller.signal, progress: () => {} }, { endpoint })).rejects.toThrow(/cancel/);
  });
});
