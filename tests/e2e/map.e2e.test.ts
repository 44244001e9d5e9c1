// The embedding map on the demo: draw shots, train a short LAMM run, open Map; PCA shows at
// once, UMAP replaces it when its job is done; every image is a point, every class a zero-shot
// ring with an arrow to its learned diamond; a lasso lists the images it caught; the wheel
// zooms around the pointer and a drag pans; a reload comes from the cache, and the page runs
// under a CSP without 'unsafe-eval'. Headless Chromium runs WebGL on SwiftShader here. Screenshots:
// test-output/e2e/5*.png.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CHROMIUM, HAS_CHROMIUM, screenshot, startServe, type Served } from './harness';
import { loadRecipe } from '../../src-main/demo/dataset';

const JOB_TIMEOUT = 240_000;
const recipe = loadRecipe();
const imageCount = (recipe.perClass.train + recipe.perClass.test) * recipe.classes.length;

describe.skipIf(!HAS_CHROMIUM)('the embedding map', () => {
  let served: Served;
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];

  beforeAll(async () => {
    served = await startServe(['--demo']);
    // --disable-gpu as the other e2e files, plus SwiftShader so WebGL has a software device.
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--use-angle=swiftshader',
        '--enable-unsafe-swiftshader',
        '--disable-background-networking',
        '--disable-component-update',
      ],
    });
    page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    page.on('pageerror', (e) => errors.push(e.message));
  });
  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail') await screenshot(page, `59-map-failed-${ctx.task.name.slice(0, 20).replace(/\W+/g, '-')}`);
  });
  afterAll(async () => {
    await browser?.close();
    await served?.stop();
  });

  const nav = (id: string) => page.getByTestId(`nav-${id}`).click();
  const canvas = () => page.getByTestId('map-canvas');
  const attr = async (name: string) => Number(await canvas().getAttribute(name));

  /** What the WebGL canvas shows: how many distinct (4-bit) colours, and the box (CSS px) of its non-white pixels. */
  const drawnPixels = () =>
    canvas()
      .locator('canvas')
      .first()
      .evaluate((c: HTMLCanvasElement) => {
        const probe = document.createElement('canvas');
        probe.width = c.width;
        probe.height = c.height;
        const g = probe.getContext('2d')!;
        g.drawImage(c, 0, 0);
        const d = g.getImageData(0, 0, c.width, c.height).data;
        const seen = new Set<number>();
        let [x0, y0, x1, y1] = [Infinity, Infinity, -Infinity, -Infinity];
        for (let i = 0; i < d.length; i += 4) {
          const sum = d[i] + d[i + 1] + d[i + 2];
          if (sum < 720) seen.add((d[i] >> 4) * 256 + (d[i + 1] >> 4) * 16 + (d[i + 2] >> 4));
          if (sum > 740) continue;
          const x = (i / 4) % c.width;
          const y = Math.floor(i / 4 / c.width);
          x0 = Math.min(x0, x);
          x1 = Math.max(x1, x);
          y0 = Math.min(y0, y);
          y1 = Math.max(y1, y);
        }
        const dpr = c.width / c.clientWidth;
        return { colours: seen.size, box: { x0: x0 / dpr, y0: y0 / dpr, x1: x1 / dpr, y1: y1 / dpr } };
      });

  it('trains a short LAMM run on the demo', async () => {
    await page.goto(served.url);
    await page.waitForFunction(() => document.querySelector('[data-testid="open-project-name"]')?.textContent === 'demo', null, { timeout: JOB_TIMEOUT });
    await page.getByTestId('current-project').getByText(`${imageCount} images`).waitFor({ timeout: JOB_TIMEOUT });
    await nav('dataset');
    await page.getByTestId('split-shots').fill('4');
    await page.getByTestId('split-apply').click();
    await page.getByTestId('split-summary').waitFor();
    await nav('train');
    await page.getByTestId('train-epochs').fill('10');
    await page.getByTestId('start-training').click();
    await page.locator('[data-testid="job-train"][data-status="done"]').first().waitFor({ timeout: JOB_TIMEOUT });
  });

  it('shows PCA at once, then UMAP, with every image and every label drawn', async () => {
    await nav('map');
    await canvas().waitFor({ timeout: JOB_TIMEOUT });
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="map-canvas"]')?.getAttribute('data-points')) > 0, null, {
      timeout: JOB_TIMEOUT,
    });
    await screenshot(page, '50-map-pca');
    await page.waitForFunction(
      () => {
        const t = document.querySelector('[data-testid="map-status"]')?.textContent ?? '';
        return t.includes('classes · UMAP') && !t.includes('showing PCA');
      },
      null,
      { timeout: JOB_TIMEOUT },
    );
    await page.waitForTimeout(500);
    expect(await attr('data-points')).toBe(imageCount);
    expect(await attr('data-labels')).toBe(recipe.classes.length);
    expect(await attr('data-arrows')).toBe(recipe.classes.length);
    // The WebGL canvas really drew: many distinct colours, not a blank or black canvas.
    const { colours } = await drawnPixels();
    expect(colours).toBeGreaterThan(recipe.classes.length);
    await screenshot(page, '51-map-umap');
  });

  it('lasso-selects images and lists them', async () => {
    await page.getByTestId('map-lasso').click();
    const box = (await canvas().boundingBox())!;
    const cx = box.x + box.width / 2;
    const cy = box.y + box.height / 2;
    const r = Math.min(box.width, box.height) * 0.3;
    await page.mouse.move(cx + r, cy);
    await page.mouse.down();
    for (let a = 0; a <= 2 * Math.PI + 0.01; a += Math.PI / 12) await page.mouse.move(cx + r * Math.cos(a), cy + r * Math.sin(a));
    await page.mouse.up();
    const list = page.getByTestId('map-selection');
    await list.waitFor({ timeout: 10_000 });
    const n = Number((await list.innerText()).match(/(\d+) selected/)![1]);
    expect(n).toBeGreaterThan(0);
    expect(n).toBeLessThan(imageCount);
    await page.waitForFunction(() => [...document.querySelectorAll('[data-testid="map-selection"] img')].some((i) => (i as HTMLImageElement).naturalWidth > 0));
    await screenshot(page, '52-map-lasso');
  });

  it('zooms out around the pointer with the wheel and pans with a drag', async () => {
    await page.getByTestId('map-lasso').click(); // back to pan and zoom
    const box = (await canvas().boundingBox())!;
    const cx = box.x + box.width / 2;
    const cy = box.y + box.height / 2;
    const before = (await drawnPixels()).box;
    await page.mouse.move(cx, cy);
    await page.mouse.wheel(0, 300); // out by e^-0.6 = 0.55
    await page.waitForTimeout(300);
    const zoomed = (await drawnPixels()).box;
    expect((zoomed.x1 - zoomed.x0) / (before.x1 - before.x0)).toBeCloseTo(Math.exp(-0.6), 1);
    expect((zoomed.y1 - zoomed.y0) / (before.y1 - before.y0)).toBeCloseTo(Math.exp(-0.6), 1);
    // The point under the pointer stays there: the drawing shrank towards the canvas centre.
    expect((zoomed.x0 + zoomed.x1) / 2 - box.width / 2).toBeCloseTo(((before.x0 + before.x1) / 2 - box.width / 2) * Math.exp(-0.6), -1);
    await page.mouse.down();
    await page.mouse.move(cx + 60, cy + 40, { steps: 6 });
    await page.mouse.up();
    await page.waitForTimeout(300);
    const panned = (await drawnPixels()).box;
    expect(panned.x0 - zoomed.x0).toBeCloseTo(60, -0.5);
    expect(panned.y0 - zoomed.y0).toBeCloseTo(40, -0.5);
    await screenshot(page, '53-map-zoomed-out');
  });

  it('opens again from the cache', async () => {
    await page.reload();
    await nav('map');
    await page.getByTestId('map-status').getByText('UMAP (cached)').waitFor({ timeout: 60_000 });
    expect(errors).toEqual([]);
  });
});
