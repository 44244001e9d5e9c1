// bench/grid: frame times of the Curate page's thumbnail grid during a fast scripted scroll in
// real Chromium (Debian's, through playwright-core), against `lamm serve` on (a) the 448-image
// demo project and (b) a generated 100k-image project. Each frame the page scrolls the grid by
// 400 px from requestAnimationFrame, for 240 frames, turning back at either end (a fling: rows
// pass too fast for their thumbnails to be fetched), then by 24 px (a wheel-like glide: they
// load while it scrolls); it records the rAF deltas, the long tasks (PerformanceObserver
// 'longtask') and the thumbnails fetched meanwhile, and prints median, p95 and max frame, the
// long-task count, p95 as a ratio of the 60 Hz frame budget (≤ 1 is 60 fps), and p95
// as a ratio of a static page's p95 scrolled the same way just before (what the machine gives).
// A shared machine inflates wall-clock frame times; the main thread's CPU time per frame (thread
// time in a Chromium trace, summed from one animation frame to the next) it barely does: that
// median and p95 are printed too. Raster and compositing run on other threads, not counted.
// Each run uses a fresh browser context (an empty HTTP cache), so thumbnails load as they would
// for a user; the machine is shared, so every dataset is measured --runs times (default 2).
//
// The 100k project is real: generated JPEGs (2,000 distinct ones, each hard-linked 50 times
// into 10 class folders) imported by the importer into a project file with thumbnails, cached in
// bench/.cache/grid-100k (the first run takes a few minutes). Every image is its own row and
// its own thumbnail URL, so the browser fetches and decodes each one it shows.
//
// --profile also prints where the main thread's time went (self time per trace event name).
//
// Usage: npx tsx bench/grid.ts [--runs 2] [--steps 400,24] [--images 100000] [--only demo|large] [--no-build] [--profile]
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import type { Browser, Page } from 'playwright-core';
import { mulberry32 } from '../src-main/clip/random';
import { ROOT, launchBrowser, startServe, type Served } from '../tests/e2e/harness';

function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}

const CACHE = path.resolve(import.meta.dirname, '.cache');
/** Pixels scrolled per frame: a fling (thumbnails wait until it slows) and a wheel-like glide (they load while it scrolls). */
const STEPS = (option('steps') ?? '400,24').split(',').map(Number);
const FRAMES = 240;
const FRAME_BUDGET_MS = 1000 / 60;
const CLASSES = 10;
const DISTINCT = 2000;

const runs = Number(option('runs') ?? 2);
const largeCount = Number(option('images') ?? 100_000);
const only = option('only');
const PROFILE = process.argv.includes('--profile');

/** A seeded "photo": colour fields and stripes, rendered small and upscaled (generation must not dominate). */
async function writePhoto(file: string, seed: number): Promise<void> {
  const w = 32;
  const h = 24;
  const rand = mulberry32(seed);
  const raw = Buffer.alloc(w * h * 3);
  const base = [rand() * 255, rand() * 255, rand() * 255];
  const freq = 0.1 + rand() * 0.6;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++)
        raw[(y * w + x) * 3 + c] = Math.max(0, Math.min(255, base[c] + 70 * Math.sin((x + y * rand()) * freq + c) + 30 * (rand() - 0.5)));
    }
  }
  await sharp(raw, { raw: { width: w, height: h, channels: 3 } })
    .resize(320, 240, { kernel: 'cubic' })
    .jpeg({ quality: 85 })
    .toFile(file);
}

/** The large project: generated once, imported by the real importer, reused while complete. */
async function ensureLargeProject(images: number): Promise<string> {
  const dir = path.join(CACHE, `grid-${images}`);
  const dbFile = path.join(dir, 'grid.lamm');
  const marker = path.join(dir, '.complete');
  if (fs.existsSync(marker)) return dbFile;
  fs.rmSync(dir, { recursive: true, force: true });
  const originals = path.join(dir, 'originals');
  const data = path.join(dir, 'DATA');
  fs.mkdirSync(originals, { recursive: true });
  const distinct = Math.min(DISTINCT, images);
  process.stderr.write(`generating ${distinct} distinct images, linked into ${images} files in ${data}\n`);
  for (let i = 0; i < distinct; i++) await writePhoto(path.join(originals, `${i}.jpg`), i + 1);
  for (let c = 0; c < CLASSES; c++) fs.mkdirSync(path.join(data, `class_${c}`), { recursive: true });
  for (let i = 0; i < images; i++) fs.linkSync(path.join(originals, `${i % distinct}.jpg`), path.join(data, `class_${i % CLASSES}`, `img_${i}.jpg`));
  const { ProjectStore } = await import('../src-main/data/store');
  const { importFolder } = await import('../src-main/data/import');
  const store = ProjectStore.open(dbFile);
  const t0 = performance.now();
  const summary = await importFolder(store, data, {}, { signal: new AbortController().signal, progress: () => {} });
  store.close();
  if (summary.images !== images) throw new Error(`imported ${summary.images} of ${images} images (${summary.skipped.length} skipped)`);
  process.stderr.write(`imported ${images} images in ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
  fs.writeFileSync(marker, '');
  return dbFile;
}

interface Frames {
  deltas: number[];
  longTasks: number[];
  /** Thumbnails the page fetched during the scroll (resource timing entries). */
  thumbnails: number;
  scrolled: number;
  /** CPU time of the page's main thread per frame (ms), from the trace: what a busy machine does not inflate. */
  cpu: number[];
}

interface TraceEvent {
  name: string;
  ph: string;
  tid: number;
  ts: number;
  dur?: number;
  tdur?: number;
}

/** The page's main thread: the one that runs the animation frames. */
function mainThread(events: TraceEvent[]): number | undefined {
  const tids = new Map<number, number>();
  for (const f of events) if (f.name === 'FireAnimationFrame' && f.ph === 'X') tids.set(f.tid, (tids.get(f.tid) ?? 0) + 1);
  return [...tids].sort((a, b) => b[1] - a[1])[0]?.[0];
}

type NamedEvent = TraceEvent & { pid: number; args?: { name?: string } };

/** "process/thread" for each (pid, tid) from the trace's metadata events. */
function threadNames(events: NamedEvent[]): (e: NamedEvent) => string {
  const names = new Map<string, string>();
  for (const e of events)
    if (e.ph === 'M' && (e.name === 'thread_name' || e.name === 'process_name'))
      names.set(`${e.pid}:${e.name === 'thread_name' ? e.tid : ''}`, e.args?.name ?? '?');
  return (e) => `${names.get(`${e.pid}:`) ?? e.pid}/${names.get(`${e.pid}:${e.tid}`) ?? e.tid}`;
}

/** --profile: CPU time (ms) of each thread during the scroll, by process and thread name, from its top-level tasks. */
function cpuByThread(events: NamedEvent[]): [string, number][] {
  const nameOf = threadNames(events);
  const cpu = new Map<string, number>();
  for (const e of events) {
    if (e.ph !== 'X' || e.tdur === undefined || !/^(ThreadControllerImpl::RunTask|ThreadPool_RunTask|TaskGraphRunner::RunTask)$/.test(e.name)) continue;
    cpu.set(nameOf(e), (cpu.get(nameOf(e)) ?? 0) + e.tdur / 1000);
  }
  return [...cpu].sort((a, b) => b[1] - a[1]);
}

/** --profile: where the CPU of the threads `keep` picks went during the scroll, as self time per trace event name (ms). */
function selfTimeByName(events: TraceEvent[], keep: (e: TraceEvent) => boolean): [string, number][] {
  const spans = events
    .filter((e) => keep(e) && e.ph === 'X' && e.tdur !== undefined)
    .sort((a, b) => a.tid - b.tid || a.ts - b.ts || (b.dur ?? 0) - (a.dur ?? 0));
  const self = new Map<string, number>();
  const open: TraceEvent[] = [];
  for (const e of spans) {
    while (open.length && (open.at(-1)!.tid !== e.tid || open.at(-1)!.ts + (open.at(-1)!.dur ?? 0) <= e.ts)) open.pop();
    const parent = open.at(-1);
    if (parent) self.set(parent.name, (self.get(parent.name) ?? 0) - (e.tdur ?? 0) / 1000);
    self.set(e.name, (self.get(e.name) ?? 0) + (e.tdur ?? 0) / 1000);
    open.push(e);
  }
  return [...self].sort((a, b) => b[1] - a[1]);
}

/** --profile's lines: the main thread's and the page's worker threads' (raster, image decode) self time by name, and CPU per thread. */
function printProfile(events: NamedEvent[]): void {
  const main = mainThread(events);
  const nameOf = threadNames(events);
  const top = (rows: [string, number][], n: number) =>
    rows
      .slice(0, n)
      .map(([name, ms]) => `${name} ${ms.toFixed(0)}`)
      .join(', ');
  console.log(
    `  main thread, self time (ms): ${top(
      selfTimeByName(events, (e) => e.tid === main),
      14,
    )}`,
  );
  console.log(
    `  page's workers, self time (ms): ${top(
      selfTimeByName(events, (e) => nameOf(e as NamedEvent) === 'Renderer/ThreadPoolForegroundWorker'),
      10,
    )}`,
  );
  console.log(`  CPU per thread (ms): ${top(cpuByThread(events), 8)}`);
}

/** Main-thread CPU per frame: the thread CPU time (tdur) of the tasks run from one animation frame to the next. */
function cpuPerFrame(events: TraceEvent[]): number[] {
  const frames = events.filter((e) => e.name === 'FireAnimationFrame' && e.ph === 'X');
  const main = mainThread(events);
  const starts = frames
    .filter((f) => f.tid === main)
    .map((f) => f.ts)
    .sort((a, b) => a - b);
  const tasks = events.filter((e) => e.tid === main && e.ph === 'X' && e.name === 'ThreadControllerImpl::RunTask').sort((a, b) => a.ts - b.ts);
  const cpu = new Array<number>(Math.max(0, starts.length - 1)).fill(0);
  let f = 0;
  for (const t of tasks) {
    while (f < cpu.length && t.ts >= starts[f + 1]) f++;
    if (f >= cpu.length) break;
    if (t.ts >= starts[f]) cpu[f] += (t.tdur ?? 0) / 1000;
  }
  return cpu;
}

/** One measurement: a fresh context, Curate opened, thumbnails of the first screen loaded, then the scroll. */
async function measure(browser: Browser, served: Served, images: number, step: number): Promise<Frames> {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  // tsx keeps function names with a __name helper that the page does not have.
  await context.addInitScript({ content: 'globalThis.__name = (f) => f;' });
  const page = await context.newPage();
  page.on('pageerror', (e) => process.stderr.write(`page error: ${e.message}\n`));
  try {
    await page.goto(served.url);
    await page
      .getByTestId('current-project')
      .getByText(`${images.toLocaleString('en-US')} images`)
      .waitFor({ timeout: 600_000 });
    await page.getByTestId('nav-curate').click();
    await page.waitForFunction(
      (n) => {
        const count = document.querySelector('[data-testid="grid-count"]')?.textContent ?? '';
        const grid = document.querySelector('[data-testid="thumb-grid"]')?.getBoundingClientRect();
        // Only the images on screen: lazy ones below the fold have not started loading.
        const imgs = ([...document.querySelectorAll('[data-testid="thumb-grid"] img')] as HTMLImageElement[]).filter(
          (i) => grid && i.getBoundingClientRect().top < grid.bottom,
        );
        return count.replace(/,/g, '').includes(`${n} of ${n}`) && imgs.length > 0 && imgs.every((i) => i.complete && i.naturalWidth > 0);
      },
      String(images),
      { timeout: 120_000 },
    );
    await page.waitForTimeout(500); // let the first screen settle
    return await scroll(page, '[data-testid="thumb-grid"]', step);
  } finally {
    await context.close();
  }
}

/** The scripted scroll of the element at `selector`: `step` px a frame for FRAMES frames, turning at either end. */
async function scroll(page: Page, selector: string, step: number): Promise<Frames> {
  const browser = page.context().browser()!;
  await browser.startTracing(page, {
    categories: ['devtools.timeline', 'toplevel', ...(PROFILE ? ['blink', 'v8', 'loading', 'cc', 'disabled-by-default-devtools.timeline'] : [])],
  });
  const frames = await page.evaluate(
    async ({ selector, step, frames }) => {
      const el = document.querySelector(selector) as HTMLElement;
      const longTasks: number[] = [];
      let thumbnails = 0;
      const observer = new PerformanceObserver((list) =>
        list.getEntries().forEach((e) => {
          if (e.entryType === 'longtask') longTasks.push(e.duration);
          else if (e.name.includes('/thumb/')) thumbnails++;
        }),
      );
      observer.observe({ entryTypes: ['longtask', 'resource'] });
      const deltas: number[] = [];
      let scrolled = 0;
      let direction = 1;
      await new Promise<void>((resolve) => {
        let last = 0;
        const tick = (t: number) => {
          if (last) deltas.push(t - last);
          last = t;
          if (deltas.length >= frames) return resolve();
          const max = el.scrollHeight - el.clientHeight;
          if ((direction > 0 && el.scrollTop >= max) || (direction < 0 && el.scrollTop <= 0)) direction = -direction;
          const before = el.scrollTop;
          el.scrollTop = Math.max(0, Math.min(max, before + direction * step));
          scrolled += Math.abs(el.scrollTop - before);
          requestAnimationFrame(tick);
        };
        requestAnimationFrame(tick);
      });
      await new Promise((r) => setTimeout(r, 200)); // long tasks are reported after they end
      observer.disconnect();
      return { deltas, longTasks, scrolled, thumbnails };
    },
    { selector, step, frames: FRAMES },
  );
  const trace = JSON.parse((await browser.stopTracing()).toString()) as { traceEvents: TraceEvent[] };
  if (PROFILE) printProfile(trace.traceEvents as NamedEvent[]);
  return { ...frames, cpu: cpuPerFrame(trace.traceEvents) };
}

/**
 * The machine's own floor, measured the same way: a static page with a scroll box of the grid's
 * size holding plain coloured cells with a text label each (no script, no images). The grid's
 * frame times over these say what the app adds on a machine that may be busy.
 */
async function measureBaseline(browser: Browser, step: number): Promise<Frames> {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  await context.addInitScript({ content: 'globalThis.__name = (f) => f;' });
  const page = await context.newPage();
  try {
    const cells = Array.from(
      { length: 8 },
      (_, i) =>
        `<div style="width:136px;height:136px;background:hsl(${i * 45} 60% 50%);border-radius:6px;position:relative"><span style="position:absolute;left:4px;bottom:4px;font:700 9px sans-serif;background:#fff;padding:0 6px;border-radius:7px">CLASS ${i}</span></div>`,
    ).join('');
    const rows = Array.from({ length: 700 }, () => `<div style="display:flex;gap:8px;height:144px">${cells}</div>`).join('');
    await page.setContent(
      `<body style="margin:0"><div id="scroller" style="position:absolute;left:264px;top:306px;width:1144px;height:528px;overflow:auto">${rows}</div></body>`,
    );
    await page.waitForTimeout(500);
    return await scroll(page, '#scroller', step);
  } finally {
    await context.close();
  }
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

const p95Of = (f: Frames) =>
  quantile(
    [...f.deltas].sort((a, b) => a - b),
    0.95,
  );

function report(label: string, run: number, f: Frames, baseline?: Frames): void {
  const s = [...f.deltas].sort((a, b) => a - b);
  const p95 = quantile(s, 0.95);
  const cpu = [...f.cpu].sort((a, b) => a - b);
  const long = f.longTasks.length ? `${f.longTasks.length} (mean ${(f.longTasks.reduce((a, b) => a + b, 0) / f.longTasks.length).toFixed(0)} ms)` : '0';
  console.log(
    `${label.padEnd(18)} run ${run}: median ${quantile(s, 0.5).toFixed(1)} ms, p95 ${p95.toFixed(1)} ms, max ${s.at(-1)!.toFixed(1)} ms, ` +
      `long tasks ${long}, p95/budget ${(p95 / FRAME_BUDGET_MS).toFixed(2)}` +
      (baseline ? `, p95/static page ${(p95 / p95Of(baseline)).toFixed(2)}` : '') +
      `, main-thread CPU per frame median ${quantile(cpu, 0.5).toFixed(1)} ms, p95 ${quantile(cpu, 0.95).toFixed(1)} ms (${cpu.length} frames)` +
      `, frames over budget ${f.deltas.filter((d) => d > FRAME_BUDGET_MS * 1.5).length}, scrolled ${(f.scrolled / 1000).toFixed(0)}k px, thumbnails fetched ${f.thumbnails}`,
  );
}

async function bench(label: string, args: string[], images: number, stateDir?: string): Promise<void> {
  const served = await startServe(args, {}, stateDir);
  const { browser } = await launchBrowser();
  try {
    for (const step of STEPS)
      for (let r = 1; r <= runs; r++) {
        // The floor right before each run: the machine's load changes from minute to minute.
        const baseline = await measureBaseline(browser, step);
        report(`static ${step}px`, r, baseline);
        report(`${label} ${step}px`, r, await measure(browser, served, images, step), baseline);
      }
  } finally {
    await browser.close();
    await served.stop();
  }
}

async function main(): Promise<void> {
  // The bench drives the UI as built now.
  if (!process.argv.includes('--no-build'))
    execFileSync(process.execPath, [path.join(ROOT, 'node_modules/electron-vite/bin/electron-vite.js'), 'build'], {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  console.log(
    `scripted scroll: ${STEPS.join(' and ')} px per frame for ${FRAMES} frames, 1440x900 headless Chromium; frame budget ${FRAME_BUDGET_MS.toFixed(1)} ms`,
  );
  if (only !== 'large') {
    // The demo state folder is kept, so the demo is generated once.
    const stateDir = path.join(CACHE, 'grid-demo-state');
    fs.mkdirSync(stateDir, { recursive: true });
    const { loadRecipe } = await import('../src-main/demo/dataset');
    const recipe = loadRecipe();
    const demoImages = (recipe.perClass.train + recipe.perClass.test) * recipe.classes.length;
    await bench(`demo ${demoImages}`, ['--demo'], demoImages, stateDir);
  }
  if (only !== 'demo') {
    const dbFile = await ensureLargeProject(largeCount);
    await bench(`${largeCount / 1000}k`, ['--db', dbFile], largeCount);
  }
}

await main();
