// `lamm serve` against hostile or broken clients (issue 9, items 1-2): a real `lamm serve`
// process on 127.0.0.1:0 gets upgrades with odd Origins, oversize messages and hand-built
// malformed frames over a raw socket. Each bad connection is refused or closed with the right
// WebSocket close code, and the same process keeps answering afterwards.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import WebSocket from 'ws';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from './lamm-fixture';
import { connectClient } from './server-client';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const LIMIT = 16 * 1024 * 1024;

let proc: ChildProcess;
let port: number;
let token: string;
let exited: string | null = null;
let stderr = '';

/** Starts `lamm serve` unless one is running, so each test meets a live server even if an earlier one killed it. */
async function ensureServer(): Promise<void> {
  if (proc && exited === null && (await listening())) return;
  if (proc && exited === null) proc.kill('SIGKILL');
  exited = null;
  stderr = '';
  const state = tempDir('hardening');
  const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'lamm.js'), 'serve', '--json'], {
    cwd: ROOT,
    env: { ...process.env, LAMM_STATE_DIR: state },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc = child;
  child.stderr!.on('data', (d) => (stderr += d));
  child.on('exit', (code, signal) => {
    if (proc === child) exited = `lamm serve died (${code ?? signal}): ${stderr.slice(-2000)}`;
  });
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve(out.split('\n')[0]);
    });
    child.once('exit', () => reject(new Error(`lamm serve exited before listening: ${stderr}`)));
  });
  ({ port, token } = JSON.parse(line) as { port: number; token: string });
}

function listening(): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

beforeEach(ensureServer);

afterAll(() => {
  if (exited === null) proc?.kill('SIGTERM');
});

/** The server process is alive and a well-behaved client still gets answers. */
async function expectAlive(): Promise<void> {
  await new Promise((r) => setTimeout(r, 150)); // let a crash, if any, happen first
  expect(exited, exited ?? '').toBeNull();
  const client = await connectClient(`http://127.0.0.1:${port}/?token=${token}`);
  try {
    expect(await client.api.getStatus()).toMatchObject({ host: 'server' });
  } finally {
    client.close();
  }
}

/** Sends raw bytes as an HTTP request on a fresh socket; resolves with everything the server sent back. */
function rawRequest(bytes: string | Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(bytes));
    const chunks: Buffer[] = [];
    s.on('data', (c) => chunks.push(c));
    s.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    s.on('error', reject);
    s.setTimeout(5000, () => s.destroy());
  });
}

function upgradeRequest(target: string, headers: Record<string, string> = {}): string {
  const all: Record<string, string> = {
    Host: `127.0.0.1:${port}`,
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
    'Sec-WebSocket-Version': '13',
    ...headers,
  };
  return `GET ${target} HTTP/1.1\r\n${Object.entries(all)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')}\r\n`;
}

/** A client frame: FIN + opcode (+ RSV bits), masked unless told otherwise, any payload length claim. */
function frame(opts: { opcode: number; payload?: Buffer; fin?: boolean; rsv?: number; mask?: boolean; claimedLength?: number }): Buffer {
  const payload = opts.payload ?? Buffer.alloc(0);
  const length = opts.claimedLength ?? payload.length;
  const mask = opts.mask ?? true;
  const first = ((opts.fin ?? true) ? 0x80 : 0) | ((opts.rsv ?? 0) << 4) | opts.opcode;
  let header: Buffer;
  if (length < 126) header = Buffer.from([first, (mask ? 0x80 : 0) | length]);
  else if (length < 65536) {
    header = Buffer.alloc(4);
    header.writeUInt16BE(length, 2);
    header[1] = (mask ? 0x80 : 0) | 126;
  } else {
    header = Buffer.alloc(10);
    header.writeBigUInt64BE(BigInt(length), 2);
    header[1] = (mask ? 0x80 : 0) | 127;
  }
  header[0] = first;
  if (!mask) return Buffer.concat([header, payload]);
  const key = randomBytes(4);
  const body = Buffer.from(payload.map((b, i) => b ^ key[i % 4]));
  return Buffer.concat([header, key, body]);
}

/**
 * Opens an authorised WebSocket by hand, sends `bytes` after the handshake, and resolves with the
 * close code of the server's close frame (null if the socket ended without one).
 */
function sendAfterHandshake(bytes: Buffer): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(upgradeRequest(`/ws?token=${token}`)));
    let buf = Buffer.alloc(0);
    let upgraded = false;
    s.on('data', (c) => {
      buf = Buffer.concat([buf, c]);
      if (!upgraded) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buf.subarray(0, end).toString('latin1');
        if (!head.startsWith('HTTP/1.1 101')) return reject(new Error(`no upgrade: ${head.split('\r\n')[0]}`));
        upgraded = true;
        buf = buf.subarray(end + 4);
        s.write(bytes);
      }
      // Server frames are unmasked; a close frame is opcode 8 with the code in its first two payload bytes.
      while (buf.length >= 2) {
        const opcode = buf[0] & 0x0f;
        const len = buf[1] & 0x7f; // close frames are short
        if (buf.length < 2 + len) return;
        if (opcode === 8) {
          s.destroy();
          return resolve(len >= 2 ? buf.readUInt16BE(2) : null);
        }
        buf = buf.subarray(2 + len);
      }
    });
    s.on('close', () => resolve(null));
    s.on('error', reject);
    s.setTimeout(10_000, () => s.destroy(new Error('no close frame within 10 s')));
  });
}

describe('lamm serve: the /ws upgrade', () => {
  it('refuses `Origin: null` (a sandboxed iframe) without a token, and lives on', async () => {
    const reply = await rawRequest(upgradeRequest('/ws', { Origin: 'null' }));
    expect(reply).toMatch(/^HTTP\/1\.1 401/);
    await expectAlive();
  });

  it('refuses `Origin: null` and other unparsable Origins even with the right token', async () => {
    for (const origin of ['null', 'http://[', '::::', 'file://']) {
      const reply = await rawRequest(upgradeRequest(`/ws?token=${token}`, { Origin: origin }));
      expect(reply, origin).toMatch(/^HTTP\/1\.1 403/);
    }
    await expectAlive();
  });

  it('survives odd request targets and a client that hangs up mid-upgrade', async () => {
    await rawRequest(upgradeRequest('http://[::1', {}));
    await rawRequest(upgradeRequest(`//[/ws?token=${token}`, {}));
    const s = net.connect(port, '127.0.0.1', () => {
      s.write(upgradeRequest(`/ws?token=${token}`).slice(0, 40));
      s.resetAndDestroy();
    });
    s.on('error', () => {});
    await expectAlive();
  });
});

describe('lamm serve: bad frames close one connection with the right code', () => {
  it('a message over 16 MiB: 1009', async () => {
    const client = new WebSocket(`ws://127.0.0.1:${port}/ws?token=${token}`);
    await new Promise((resolve, reject) => {
      client.once('open', resolve);
      client.once('error', reject);
    });
    const code = await new Promise<number>((resolve) => {
      client.once('close', (c) => resolve(c));
      client.on('error', () => {});
      client.send(Buffer.alloc(LIMIT + 1, 0x20).toString());
    });
    expect(code).toBe(1009);
    // A frame header that only claims the size is refused before any payload arrives.
    expect(await sendAfterHandshake(frame({ opcode: 1, claimedLength: LIMIT + 1 }).subarray(0, 14))).toBe(1009);
    await expectAlive();
  });

  it('a text frame of invalid UTF-8: 1007', async () => {
    expect(await sendAfterHandshake(frame({ opcode: 1, payload: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]) }))).toBe(1007);
    // Invalid UTF-8 split across fragments, too.
    const parts = Buffer.concat([
      frame({ opcode: 1, fin: false, payload: Buffer.from([0x22, 0xe2]) }),
      frame({ opcode: 0, payload: Buffer.from([0x28, 0xa1, 0x22]) }),
    ]);
    expect(await sendAfterHandshake(parts)).toBe(1007);
    await expectAlive();
  });

  it('malformed frames (RSV bits, no mask, reserved opcode, stray continuation, long control frame): 1002', async () => {
    const cases: [string, Buffer][] = [
      ['RSV1 without an extension', frame({ opcode: 1, rsv: 4, payload: Buffer.from('{}') })],
      ['unmasked client frame', frame({ opcode: 1, mask: false, payload: Buffer.from('{}') })],
      ['reserved opcode 3', frame({ opcode: 3, payload: Buffer.from('x') })],
      ['continuation with nothing to continue', frame({ opcode: 0, payload: Buffer.from('x') })],
      ['fragmented ping', frame({ opcode: 9, fin: false, payload: Buffer.from('x') })],
      ['control frame over 125 bytes', frame({ opcode: 9, payload: Buffer.alloc(200) })],
    ];
    for (const [name, bytes] of cases) expect(await sendAfterHandshake(bytes), name).toBe(1002);
    await expectAlive();
  });

  it('messages that are not requests (bad JSON, wrong shapes, binary) are ignored, and the connection stays usable', async () => {
    const client = await connectClient(`http://127.0.0.1:${port}/?token=${token}`);
    try {
      for (const junk of ['{', 'null', '[]', '"x"', '{"type":"request"}', '{"type":"request","id":-7,"method":{}}', '{"__proto__":{"x":1}}'])
        client.ws.send(junk);
      client.ws.send(Buffer.from([0, 1, 2]), { binary: true });
      expect(await client.api.getStatus()).toMatchObject({ host: 'server' });
    } finally {
      client.close();
    }
    await expectAlive();
  });
});
