// `lamm serve`'s HTTP + WebSocket adapter: the token, the Host and Origin checks, static files
// that cannot leave their folder, the contract over the socket, and thumbnails of a real import.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LammService } from '../../src-main/api/service';
import { isAllowedHost, startServer, type RunningServer } from '../../src-main/server';
import { FIXTURE_CLASSES, tempDir, writeImageFolder } from './lamm-fixture';
import { connectClient } from './server-client';

let server: RunningServer;
let service: LammService;
let dir: string;

function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; type: string; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, type: String(res.headers['content-type']), body: Buffer.concat(chunks) }));
      })
      .on('error', reject);
  });
}

beforeAll(async () => {
  dir = tempDir('server');
  const staticDir = path.join(dir, 'renderer');
  fs.mkdirSync(path.join(staticDir, 'assets'), { recursive: true });
  fs.writeFileSync(path.join(staticDir, 'index.html'), '<!doctype html><title>LAMM</title>');
  fs.writeFileSync(path.join(staticDir, 'assets', 'app.js'), 'console.log(1)');
  fs.writeFileSync(path.join(dir, 'secret.txt'), 'secret');
  service = new LammService({ host: 'server', stateDir: path.join(dir, 'state'), version: '0.0.1' });
  server = await startServer({ service, staticDir });
});
afterAll(async () => {
  await server?.close();
  await service?.close();
});

describe('lamm serve over HTTP', () => {
  it('binds to 127.0.0.1 with a random token in the URL', () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]{32}$/);
  });

  it('serves the renderer, falls back to index.html, and never leaves its folder', async () => {
    const base = `http://127.0.0.1:${server.port}`;
    expect((await get(`${base}/`)).body.toString()).toContain('<title>LAMM</title>');
    const js = await get(`${base}/assets/app.js`);
    expect(js.type).toContain('text/javascript');
    for (const p of ['/../secret.txt', '/%2e%2e/secret.txt', '/assets/..%2f..%2fsecret.txt']) {
      const r = await get(`${base}${p}`);
      expect(r.body.toString()).not.toContain('secret');
    }
  });

  it('sends the page with a CSP that lets it reach only its own origin and WebSocket', async () => {
    const host = `127.0.0.1:${server.port}`;
    const csp = await new Promise<string>((resolve, reject) =>
      http
        .get(`http://${host}/`, (res) => {
          res.resume();
          resolve(String(res.headers['content-security-policy']));
        })
        .on('error', reject),
    );
    expect(csp).toContain(`connect-src 'self' ws://${host} wss://${host}`);
    expect(csp).toContain("script-src 'self';"); // no 'unsafe-eval'
  });

  it('refuses thumbnails without the token, and foreign Host headers (DNS rebinding)', async () => {
    const base = `http://127.0.0.1:${server.port}`;
    expect((await get(`${base}/thumb/1`)).status).toBe(401);
    expect((await get(`${base}/thumb/1?token=wrong`)).status).toBe(401);
    expect((await get(`${base}/`, { Host: 'evil.example:80' })).status).toBe(421);
    expect(isAllowedHost('localhost:8080', '127.0.0.1', 8080)).toBe(true);
    expect(isAllowedHost('127.0.0.1:8081', '127.0.0.1', 8080)).toBe(false);
    expect(isAllowedHost('anything', '0.0.0.0', 8080)).toBe(true);
  });
});

describe('lamm serve over WebSocket', () => {
  it('refuses a socket without the token or from another origin', async () => {
    const noToken = server.url.replace(/\?.*/, '');
    await expect(connectClient(noToken)).rejects.toThrow('401');
    await expect(connectClient(server.url, { Origin: 'https://evil.example' })).rejects.toThrow('403');
  });

  it('carries calls, errors and job events; thumbnails of the import are served', async () => {
    const client = await connectClient(server.url);
    try {
      const status = await client.api.getStatus();
      expect(status).toMatchObject({ host: 'server', version: '0.0.1', project: null });
      await expect(client.api.listClasses()).rejects.toThrow('no project is open');

      const data = path.join(dir, 'images');
      await writeImageFolder(data, 3);
      const project = await client.api.createProject({ dbPath: path.join(dir, 'p.lamm.sqlite'), dataFolder: data });
      expect(project.name).toBe('p');
      const done = client.next('job:done');
      const { jobId } = await client.api.importFolder({ folder: data });
      const finished = await done;
      expect(finished).toMatchObject({ jobId, kind: 'import', result: { classCount: FIXTURE_CLASSES.length, imageCount: 3 * FIXTURE_CLASSES.length } });

      const classes = await client.api.listClasses();
      // Prompt names start as the folder names with _ as spaces.
      expect(classes.map((c) => c.promptName)).toEqual(FIXTURE_CLASSES.map((c) => c.folder.replace(/_/g, ' ')).sort());
      const renamed = await client.api.renameClass({ classId: classes[0].id, promptName: '  clear   blue sky ' });
      expect(renamed.promptName).toBe('clear blue sky');

      const images = await client.api.listImages();
      expect(images).toHaveLength(3 * FIXTURE_CLASSES.length);
      const thumb = await get(`http://127.0.0.1:${server.port}/thumb/${images[0].id}?token=${server.token}`);
      expect(thumb.status).toBe(200);
      expect(thumb.type).toMatch(/^image\//);
      expect((await get(`http://127.0.0.1:${server.port}/thumb/999999?token=${server.token}`)).status).toBe(404);

      const recent = await client.api.listRecentProjects();
      expect(recent[0]).toMatchObject({ name: 'p', dbPath: project.dbPath });
    } finally {
      client.close();
    }
  });
});
