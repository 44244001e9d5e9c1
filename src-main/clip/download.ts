// Downloads a pinned CLIP folder from the Hugging Face Hub: a fixed revision, resumable
// (HTTP Range onto a .part file), checked against pinned SHA-256s or, where none is pinned,
// against the hashes the Hub publishes for that revision (LFS files: SHA-256 in X-Linked-Etag;
// small git files: the git blob SHA-1 in ETag). A file only gets its final name once verified.
import { createHash, type Hash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { throwIfCancelled, type JobContext } from '../jobs/context';

export interface PinnedFile {
  path: string;
  /** Known SHA-256; when absent the Hub's published hash for the pinned revision is used. */
  sha256?: string;
}

export interface PinnedModel {
  repo: string;
  /** A commit, never a branch: the same bytes every time. */
  revision: string;
  title: string;
  approxBytes: number;
  files: PinnedFile[];
}

const CLIP_FILES: PinnedFile[] = [
  { path: 'config.json' },
  { path: 'preprocessor_config.json' },
  { path: 'vocab.json' },
  { path: 'merges.txt' },
  { path: 'model.safetensors' },
];

export const PINNED_MODELS: readonly PinnedModel[] = [
  {
    repo: 'openai/clip-vit-base-patch32',
    revision: 'd15b5f29721ca72dac15f8526b284be910de18be',
    title: 'CLIP ViT-B/32 (OpenAI)',
    approxBytes: 605_000_000,
    files: CLIP_FILES,
  },
];

export const DEFAULT_HF_ENDPOINT = 'https://huggingface.co';

export function findPinnedModel(repo: string): PinnedModel {
  const model = PINNED_MODELS.find((m) => m.repo === repo);
  if (!model) throw new Error(`"${repo}" is not a pinned model (known: ${PINNED_MODELS.map((m) => m.repo).join(', ')})`);
  return model;
}

interface RemoteFile {
  file: PinnedFile;
  url: string;
  size: number | null;
  expected: { algorithm: 'sha256' | 'git-sha1'; hex: string } | null;
}

export interface DownloadOptions {
  /** HF_ENDPOINT-style base URL (tests point it at a local server). */
  endpoint?: string;
  fetchImpl?: typeof fetch;
}

/** Downloads every file of `model` into `destFolder`; resumes partial files; returns the folder. */
export async function downloadPinnedModel(model: PinnedModel, destFolder: string, ctx: JobContext, opts: DownloadOptions = {}): Promise<string> {
  const endpoint = (opts.endpoint ?? process.env.HF_ENDPOINT ?? DEFAULT_HF_ENDPOINT).replace(/\/+$/, '');
  const fetchImpl = opts.fetchImpl ?? fetch;
  await fs.mkdir(destFolder, { recursive: true });

  const remote: RemoteFile[] = [];
  for (const file of model.files) {
    throwIfCancelled(ctx);
    const url = `${endpoint}/${model.repo}/resolve/${model.revision}/${file.path}`;
    remote.push(await describeRemote(file, url, endpoint, ctx.signal, fetchImpl));
  }
  const total = remote.reduce((s, r) => s + (r.size ?? 0), 0);
  let finished = 0;
  for (const r of remote) {
    throwIfCancelled(ctx);
    const target = path.join(destFolder, r.file.path);
    await downloadOne(r, target, endpoint, ctx, fetchImpl, (bytes) => {
      ctx.progress({ stage: 'download', done: finished + bytes, total, message: r.file.path });
    });
    finished += r.size ?? (await fs.stat(target)).size;
  }
  ctx.progress({ stage: 'download', done: total, total, message: 'verified' });
  return destFolder;
}

async function describeRemote(file: PinnedFile, url: string, endpoint: string, signal: AbortSignal, fetchImpl: typeof fetch): Promise<RemoteFile> {
  // Not following the redirect keeps the Hub's own headers (the CDN's lack the LFS hash).
  const res = await reach(() => fetchImpl(url, { method: 'HEAD', redirect: 'manual', signal }), endpoint);
  if (res.status === 401 || res.status === 403 || res.status === 404) throw new Error(`${file.path}: the Hub answered ${res.status} for ${url}`);
  if (res.status >= 400) throw new Error(`${file.path}: HTTP ${res.status} from ${url}`);
  const linkedEtag = clean(res.headers.get('x-linked-etag'));
  const etag = clean(res.headers.get('etag'));
  const sizeHeader = res.headers.get('x-linked-size') ?? res.headers.get('content-length');
  const size = sizeHeader !== null && /^\d+$/.test(sizeHeader) ? Number(sizeHeader) : null;
  let expected: RemoteFile['expected'] = null;
  if (file.sha256) expected = { algorithm: 'sha256', hex: file.sha256.toLowerCase() };
  else if (linkedEtag && /^[0-9a-f]{64}$/.test(linkedEtag)) expected = { algorithm: 'sha256', hex: linkedEtag };
  else if (etag && /^[0-9a-f]{40}$/.test(etag)) expected = { algorithm: 'git-sha1', hex: etag };
  else if (etag && /^[0-9a-f]{64}$/.test(etag)) expected = { algorithm: 'sha256', hex: etag };
  return { file, url, size, expected };
}

async function downloadOne(
  r: RemoteFile,
  target: string,
  endpoint: string,
  ctx: JobContext,
  fetchImpl: typeof fetch,
  onBytes: (n: number) => void,
): Promise<void> {
  if (await exists(target)) {
    if (!r.expected || (await hashFile(target, r.expected.algorithm, r.size)) === r.expected.hex) {
      onBytes(r.size ?? 0);
      return;
    }
    await fs.rm(target); // a stale or damaged copy: fetch it again
  }
  await fs.mkdir(path.dirname(target), { recursive: true });
  const part = `${target}.part`;
  let have = (await exists(part)) ? (await fs.stat(part)).size : 0;
  if (r.size !== null && have > r.size) {
    await fs.rm(part);
    have = 0;
  }
  if (r.size === null || have < r.size) {
    const res = await reach(() => fetchImpl(r.url, { headers: have > 0 ? { Range: `bytes=${have}-` } : {}, signal: ctx.signal }), endpoint);
    if (res.status === 416 && r.size !== null && have === r.size) {
      // Already complete: nothing left to send.
    } else if (res.status !== 200 && res.status !== 206) {
      throw new Error(`${r.file.path}: HTTP ${res.status} while downloading`);
    } else {
      if (res.status === 200 && have > 0) have = 0; // the server ignored Range: start over
      const handle = await fs.open(part, have > 0 ? 'a' : 'w');
      try {
        let written = have;
        onBytes(written);
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          throwIfCancelled(ctx);
          await handle.write(chunk);
          written += chunk.byteLength;
          onBytes(written);
        }
      } finally {
        await handle.close();
      }
    }
  }
  const got = (await fs.stat(part)).size;
  if (r.size !== null && got !== r.size)
    throw new Error(`${r.file.path}: got ${got} bytes, expected ${r.size} (connection dropped? run the download again to resume)`);
  if (r.expected) {
    const actual = await hashFile(part, r.expected.algorithm, got);
    if (actual !== r.expected.hex) {
      await fs.rm(part);
      throw new Error(`${r.file.path}: checksum mismatch (expected ${r.expected.algorithm} ${r.expected.hex}, got ${actual}); the partial file was removed`);
    }
  }
  await fs.rename(part, target);
}

/** Runs a request, turning "no network" into the one message users need. */
async function reach(request: () => Promise<Response>, endpoint: string): Promise<Response> {
  try {
    return await request();
  } catch (err) {
    if ((err as Error)?.name === 'AbortError') throw err;
    const host = new URL(endpoint).host;
    const code = (err as { cause?: { code?: string } })?.cause?.code;
    throw new Error(`cannot reach ${host}: offline?${code ? ` (${code})` : ''}`);
  }
}

async function hashFile(file: string, algorithm: 'sha256' | 'git-sha1', size: number | null): Promise<string> {
  let hash: Hash;
  if (algorithm === 'sha256') hash = createHash('sha256');
  else {
    hash = createHash('sha1');
    hash.update(`blob ${size ?? (await fs.stat(file)).size}\0`);
  }
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function clean(etag: string | null): string | null {
  return etag ? etag.replace(/^W\//, '').replace(/"/g, '').toLowerCase() : null;
}

async function exists(p: string): Promise<boolean> {
  return fs.access(p).then(
    () => true,
    () => false,
  );
}
