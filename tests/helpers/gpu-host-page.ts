// The GPU host page (src-renderer/gpu.html + src-main/gpu-host/compute.ts) in headless Debian
// Chromium over http://127.0.0.1: the stand-in, here, for Electron's hidden renderer. Builds the
// page with vite as electron-vite does, serves it, and bridges a GpuHostClient to the page's port.
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { build } from 'vite';
import { ELECTRON_CSP } from '../../src-main/api/csp';
import { GpuHostClient } from '../../src-main/gpu-host/client';
import type { FromHost, GpuHostInfo, ToHost } from '../../src-main/gpu-host/protocol';
import type { GpuRelay } from '../../src-main/jobs/training';
import { PORT_MESSAGE } from '../../src-main/gpu-host/protocol';
import { REPO_ROOT } from './golden';

export const CHROMIUM = process.env.LAMM_CHROMIUM ?? '/usr/bin/chromium';
/** Debian's Chromium gives pages a SwiftShader adapter with just this switch; a GPU machine gives its own. */
export const CHROMIUM_WEBGPU_ARGS = ['--no-sandbox', '--enable-unsafe-webgpu', '--enable-features=Vulkan'];

export interface GpuHostPage {
  client: GpuHostClient;
  /** Opens another port to the page, as Electron's main process relays one to a training worker. */
  openRelay(): Promise<GpuRelay>;
  info: GpuHostInfo | null;
  /** Why there is no WebGPU adapter in the page, when there is none. */
  noAdapter: string | null;
  close(): Promise<void>;
}

/** Playwright's argument passing drops Maps (ModelFiles.tensors is one); the real ports clone them. */
function toWire(v: unknown): unknown {
  if (v instanceof Map) return { $map: [...v.entries()].map(([k, x]) => [k, toWire(x)]) };
  if (Array.isArray(v)) return v.map(toWire);
  if (v && typeof v === 'object' && !ArrayBuffer.isView(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toWire(x)]));
  return v;
}

export async function openGpuHostPage(): Promise<GpuHostPage> {
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lamm-gpu-host-'));
  await build({
    configFile: false,
    root: path.join(REPO_ROOT, 'src-renderer'),
    base: './',
    logLevel: 'error',
    build: { outDir, emptyOutDir: true, chunkSizeWarningLimit: 5000, rollupOptions: { input: path.join(REPO_ROOT, 'src-renderer/gpu.html') } },
  });
  const server = http.createServer((req, res) => {
    const file = path.join(outDir, path.normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)));
    if (!file.startsWith(outDir) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404).end();
      return;
    }
    // Under the policy app:// gives Electron's pages.
    res
      .writeHead(200, { 'content-type': file.endsWith('.html') ? 'text/html' : 'text/javascript', 'content-security-policy': ELECTRON_CSP })
      .end(fs.readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  let browser: Browser | null = null;
  const close = async () => {
    await browser?.close();
    server.close();
    fs.rmSync(outDir, { recursive: true, force: true });
  };
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_WEBGPU_ARGS });
    const page: Page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (/content security policy/i.test(m.text())) errors.push(m.text());
    });
    // Port n of the page: messages from it go to listeners[n].
    const listeners: ((m: FromHost) => void)[][] = [];
    await page.exposeFunction('__lammFromHost', (n: number, m: FromHost) => listeners[n]?.forEach((l) => l(m)));
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/gpu.html`);
    if (errors.length) throw new Error(`the GPU host page failed to load: ${errors[0]}`);
    const openRelay = async (): Promise<GpuRelay> => {
      const n = await page.evaluate((portMessage) => {
        const w = window as any;
        const fromWire = (v: any): any => {
          if (v && typeof v === 'object' && '$map' in v) return new Map(v.$map.map(([k, x]: [string, unknown]) => [k, fromWire(x)]));
          if (Array.isArray(v)) return v.map(fromWire);
          if (v && typeof v === 'object' && !ArrayBuffer.isView(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fromWire(x)]));
          return v;
        };
        w.__lammPorts ??= [];
        const i = w.__lammPorts.length;
        const channel = new MessageChannel();
        channel.port1.onmessage = (e) => w.__lammFromHost(i, e.data);
        w.__lammPorts.push((m: unknown) => channel.port1.postMessage(fromWire(m)));
        window.postMessage(portMessage, '*', [channel.port2]);
        return i;
      }, PORT_MESSAGE);
      listeners[n] = [];
      return {
        postMessage: (m: ToHost) => void page.evaluate(([i, w]) => (window as any).__lammPorts[i as number](w), [n, toWire(m)] as const).catch(() => {}),
        onMessage: (l) => {
          listeners[n].push(l);
          return () => listeners[n].splice(listeners[n].indexOf(l), 1);
        },
      };
    };
    const first = await openRelay();
    const client = new GpuHostClient({ postMessage: first.postMessage, onMessage: (l) => void first.onMessage(l) });
    let info: GpuHostInfo | null = null;
    let noAdapter: string | null = null;
    try {
      info = await client.call('init', {});
    } catch (err) {
      noAdapter = (err as Error).message;
    }
    return { client, openRelay, info, noAdapter, close };
  } catch (err) {
    await close();
    throw err;
  }
}
