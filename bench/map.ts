// bench/map: the Map page's ScatterMap (the WebGL2 point layer + the label overlay) in real
// Chromium with synthetic points, driven by scripted pan and zoom, one input event per
// animation frame for 240 frames (120 of wheel zoom in and out, 120 of dragging). Prints the
// median and p95 frame time (requestAnimationFrame intervals), the long tasks (> 50 ms) seen,
// and the ratios 100k / 10k points and p95 / the 16.7 ms frame of 60 fps.
//
// Usage: npx tsx bench/map.ts [--points 100000] [--baseline 10000] [--frames 240] [--gpu]
//   --gpu  leave Chromium's GPU on (default: --disable-gpu + SwiftShader, as in CI and the e2e tests)
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { build } from 'vite';
import react from '@vitejs/plugin-react';
import { chromium } from 'playwright-core';

function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}
const points = Number(option('points') ?? 100_000);
const baseline = Number(option('baseline') ?? 10_000);
const frames = Number(option('frames') ?? 240);
const gpu = process.argv.includes('--gpu');
const ROOT = path.resolve(import.meta.dirname, '..');

const out = fs.mkdtempSync(path.join(os.tmpdir(), 'lamm-bench-map-'));
await build({ root: path.join(ROOT, 'bench/map-page'), base: './', logLevel: 'warn', plugins: [react()], build: { outDir: out, emptyOutDir: true } });
const server = http.createServer((req, res) => {
  const file = path.join(out, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).replace(/^\/$/, '/index.html'));
  if (!file.startsWith(out) || !fs.existsSync(file)) return res.writeHead(404).end();
  res.writeHead(200, { 'content-type': file.endsWith('.js') ? 'text/javascript' : file.endsWith('.html') ? 'text/html' : 'application/octet-stream' });
  fs.createReadStream(file).pipe(res);
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', ...(gpu ? [] : ['--disable-gpu', '--use-angle=swiftshader', '--enable-unsafe-swiftshader'])],
});

interface Measure {
  frameMs: number[];
  longTasks: number[];
  renderer: string;
}

async function measure(n: number): Promise<Measure> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  // tsx names functions with an __name helper that the page lacks: give it one.
  await page.addInitScript({ content: 'window.__name = (f) => f;' });
  await page.goto(`${url}?points=${n}`);
  await page.waitForFunction((want) => Number(document.querySelector('[data-testid="map-canvas"]')?.getAttribute('data-points')) === want, n, {
    timeout: 120_000,
  });
  await page.waitForTimeout(500);
  const result = await page.evaluate(async (count) => {
    const canvas = document.querySelector('[data-testid="map-canvas"] canvas') as HTMLCanvasElement;
    const gl = canvas.getContext('webgl') ?? canvas.getContext('webgl2');
    const info = gl?.getExtension('WEBGL_debug_renderer_info');
    const renderer = gl && info ? String(gl.getParameter(info.UNMASKED_RENDERER_WEBGL)) : 'unknown';
    const longTasks: number[] = [];
    const observer = new PerformanceObserver((list) => list.getEntries().forEach((e) => longTasks.push(e.duration)));
    observer.observe({ entryTypes: ['longtask'] });
    const r = canvas.getBoundingClientRect();
    const cx = r.left + r.width / 2;
    const cy = r.top + r.height / 2;
    const mouse = (type: string, x: number, y: number, buttons: number) =>
      (type === 'mousedown' ? canvas : window).dispatchEvent(new MouseEvent(type, { clientX: x, clientY: y, buttons, button: 0, bubbles: true }));
    const frameMs: number[] = [];
    await new Promise<void>((resolve) => {
      let f = 0;
      let last = performance.now();
      const zoomFrames = Math.floor(count / 2);
      const step = (now: number) => {
        if (f > 0) frameMs.push(now - last);
        last = now;
        if (f < zoomFrames) {
          // Zoom in for a quarter, out for a quarter, around points off the centre.
          const sign = f < zoomFrames / 2 ? -1 : 1;
          canvas.dispatchEvent(new WheelEvent('wheel', { deltaY: sign * 40, clientX: cx + 80, clientY: cy - 40, bubbles: true, cancelable: true }));
        } else if (f < count) {
          const k = f - zoomFrames;
          const x = cx + 200 * Math.sin((k / (count - zoomFrames)) * 2 * Math.PI);
          const y = cy + 120 * Math.cos((k / (count - zoomFrames)) * 2 * Math.PI);
          if (k === 0) mouse('mousedown', x, y, 1);
          mouse('mousemove', x, y, 1);
        } else {
          mouse('mouseup', cx, cy, 0);
          resolve();
          return;
        }
        f++;
        requestAnimationFrame(step);
      };
      requestAnimationFrame(step);
    });
    await new Promise((r2) => setTimeout(r2, 100));
    observer.disconnect();
    return { frameMs, longTasks, renderer };
  }, frames);
  await page.close();
  return result;
}

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};
const report = (n: number, m: Measure) => {
  const med = quantile(m.frameMs, 0.5);
  const p95 = quantile(m.frameMs, 0.95);
  console.log(
    `${String(n).padStart(7)} points: median ${med.toFixed(1)} ms, p95 ${p95.toFixed(1)} ms, max ${Math.max(...m.frameMs).toFixed(1)} ms over ${m.frameMs.length} frames; long tasks ${m.longTasks.length} (${m.longTasks.reduce((a, b) => a + b, 0).toFixed(0)} ms)`,
  );
  return { med, p95 };
};

try {
  const small = await measure(baseline);
  const big = await measure(points);
  console.log(`WebGL renderer: ${big.renderer}${gpu ? '' : ' (--disable-gpu: software)'}`);
  const a = report(baseline, small);
  const b = report(points, big);
  console.log(
    `ratio ${points}/${baseline} points: median ×${(b.med / a.med).toFixed(2)}, p95 ×${(b.p95 / a.p95).toFixed(2)}; p95 / 16.7 ms (60 fps): ×${(b.p95 / (1000 / 60)).toFixed(2)}`,
  );
} finally {
  await browser.close();
  server.close();
  fs.rmSync(out, { recursive: true, force: true });
}
