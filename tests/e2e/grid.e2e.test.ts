// The Curate grid by mouse and keyboard on a project with more rows than fit (so it virtualises):
// click, Ctrl-click and Shift-click select; arrows move the cursor (scrolling it into view),
// Space toggles, Shift+arrows select a range, Ctrl+A all, Escape none; a selection is excluded;
// the rows reached by a jump load their images; rows that fly past in a fast scroll wait for it
// to stop, rows reached by a slow one load as they come.
// Thumbnails are fine checkerboards, so the screenshots show whether they are drawn crisp:
// test-output/e2e/20-grid*.png.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { HAS_CHROMIUM, openApp, screenshot, SCREENSHOT_DIR, type Served } from './harness';
import { importFolder } from '../../src-main/data/import';
import { ProjectStore } from '../../src-main/data/store';

const CLASSES = [
  { folder: 'red_check', rgb: [220, 40, 40] },
  { folder: 'green_check', rgb: [40, 170, 60] },
  { folder: 'blue_check', rgb: [50, 70, 220] },
  { folder: 'amber_check', rgb: [230, 170, 30] },
];
const PER_CLASS = 60;
const TOTAL = CLASSES.length * PER_CLASS;

/** A 200 px checkerboard of 5 px squares (class colour on white) with the image's number as a stripe count. */
async function writeCheckerboard(file: string, rgb: number[], stripes: number): Promise<void> {
  const size = 200;
  const raw = Buffer.alloc(size * size * 3, 255);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const on = (Math.floor(x / 5) + Math.floor(y / 5)) % 2 === 0 || (y < 20 && Math.floor(x / 10) < stripes % 20 && x % 10 < 5);
      if (on) for (let c = 0; c < 3; c++) raw[(y * size + x) * 3 + c] = rgb[c];
    }
  }
  await sharp(raw, { raw: { width: size, height: size, channels: 3 } })
    .png()
    .toFile(file);
}

describe.skipIf(!HAS_CHROMIUM)('the Curate grid by mouse and keyboard', () => {
  let served: Served;
  let browser: Browser;
  let page: Page;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lamm-e2e-grid-'));
  const dbFile = path.join(dir, 'grid.lamm');

  beforeAll(async () => {
    const data = path.join(dir, 'checks');
    for (const c of CLASSES) {
      fs.mkdirSync(path.join(data, c.folder), { recursive: true });
      for (let i = 0; i < PER_CLASS; i++) await writeCheckerboard(path.join(data, c.folder, `${String(i).padStart(2, '0')}.png`), c.rgb, i);
    }
    const store = ProjectStore.open(dbFile);
    await importFolder(store, data);
    store.close();
    ({ served, browser, page } = await openApp(['--db', dbFile]));
  });
  afterAll(async () => {
    await browser?.close();
    await served?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const cell = (index: number) => page.locator(`[data-testid="thumb"][data-index="${index}"]`);
  const isSelected = async (index: number) => (await cell(index).getAttribute('data-selected')) === 'true';
  const selectedCount = () => page.locator('[data-testid="thumb"][data-selected="true"]').count();
  const cursorIndex = async () => Number(await page.locator('[data-testid="thumb"][data-cursor="true"]').getAttribute('data-index'));
  const selectionBar = () => page.getByText(/^\d+ selected$/);

  it('shows a virtualised grid of loaded thumbnails', async () => {
    await page.getByTestId('nav-curate').click();
    await page.getByTestId('grid-count').getByText(`${TOTAL} of ${TOTAL} images`).waitFor();
    await page.waitForFunction(() => {
      const grid = document.querySelector('[data-testid="thumb-grid"]')!.getBoundingClientRect();
      const imgs = ([...document.querySelectorAll('[data-testid="thumb"] img')] as HTMLImageElement[]).filter(
        (i) => i.getBoundingClientRect().top < grid.bottom,
      );
      return imgs.length > 0 && imgs.every((i) => i.complete && i.naturalWidth > 0);
    });
    // Only the rows near the viewport are in the DOM.
    expect(await page.getByTestId('thumb').count()).toBeLessThan(TOTAL);
    await screenshot(page, '20-grid');
  });

  it('selects by click, Ctrl-click and Shift-click', async () => {
    await cell(0).click();
    expect(await isSelected(0)).toBe(true);
    await expect(selectionBar().innerText()).resolves.toBe('1 selected');
    await cell(3).click({ modifiers: ['Control'] });
    expect(await selectedCount()).toBe(2);
    await cell(3).click({ modifiers: ['Control'] }); // toggles off again
    expect(await isSelected(3)).toBe(false);
    await cell(5).click({ modifiers: ['Shift'] }); // adds the range from the last click: 3, 4, 5
    expect(await selectedCount()).toBe(4);
    expect(await isSelected(4)).toBe(true);
    await cell(1).click();
    expect(await selectedCount()).toBe(1);
  });

  it('moves the cursor with the arrows and selects with Space and Shift+arrows', async () => {
    const columns = await page.evaluate(() => {
      const cells = [...document.querySelectorAll('[data-testid="thumb"]')].map((c) => c.getBoundingClientRect().top);
      return cells.filter((t) => t === cells[0]).length;
    });
    expect(columns).toBeGreaterThan(2);
    expect(await cursorIndex()).toBe(1); // the clicked cell
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowDown');
    expect(await cursorIndex()).toBe(2 + columns);
    await page.keyboard.press('Space');
    expect(await isSelected(2 + columns)).toBe(true);
    await expect(selectionBar().innerText()).resolves.toBe('2 selected');
    await page.keyboard.press('Shift+ArrowLeft');
    await page.keyboard.press('Shift+ArrowLeft');
    // A Shift range from the anchor replaces the selection: cells 2+columns-2 … 2+columns.
    expect(await selectedCount()).toBe(3);
    expect(await isSelected(columns)).toBe(true);
    expect(await isSelected(1)).toBe(false);
    await screenshot(page, '20b-grid-selection');
  });

  it('scrolls the cursor into view, selects all with Ctrl+A and none with Escape', async () => {
    await page.keyboard.press('End');
    await cell(TOTAL - 1).waitFor();
    expect(await cursorIndex()).toBe(TOTAL - 1);
    expect(await page.getByTestId('thumb-grid').evaluate((el) => el.scrollTop)).toBeGreaterThan(0);
    expect(await cell(0).count()).toBe(0); // the first row has left the DOM
    // The rows reached by the jump show their images.
    await page.waitForFunction((i) => {
      const img = document.querySelector(`[data-testid="thumb"][data-index="${i}"] img`) as HTMLImageElement | null;
      return img?.complete && img.naturalWidth > 0;
    }, TOTAL - 1);
    await page.keyboard.press('Control+a');
    await expect(selectionBar().innerText()).resolves.toBe(`${TOTAL} selected`);
    await page.keyboard.press('Escape');
    expect(await selectedCount()).toBe(0);
    await page.keyboard.press('Home');
    await cell(0).waitFor();
  });

  /** Scrolls the grid by `step` px from requestAnimationFrame for `frames` frames, bouncing at the ends; per frame, the cells in the DOM without an <img>. */
  const scriptedScroll = (step: number, frames: number) =>
    page.getByTestId('thumb-grid').evaluate(
      (el, { step, frames }) =>
        new Promise<number[]>((resolve) => {
          const bare: number[] = [];
          let direction = 1;
          const tick = () => {
            bare.push([...el.querySelectorAll('[data-testid="thumb"]')].filter((c) => !c.querySelector('img')).length);
            if (bare.length > frames) return resolve(bare);
            const max = el.scrollHeight - el.clientHeight;
            if ((direction > 0 && el.scrollTop >= max) || (direction < 0 && el.scrollTop <= 0)) direction = -direction;
            el.scrollTop = Math.max(0, Math.min(max, el.scrollTop + direction * step));
            requestAnimationFrame(tick);
          };
          requestAnimationFrame(tick);
        }),
      { step, frames },
    );
  const cellsInViewLoaded = () =>
    page.waitForFunction(() => {
      const grid = document.querySelector('[data-testid="thumb-grid"]')!.getBoundingClientRect();
      const cells = [...document.querySelectorAll('[data-testid="thumb"]')].filter((c) => {
        const r = c.getBoundingClientRect();
        return r.bottom > grid.top && r.top < grid.bottom;
      });
      return cells.length > 0 && cells.every((c) => (c.querySelector('img') as HTMLImageElement | null)?.complete && c.querySelector('img')!.naturalWidth > 0);
    });

  it('loads no thumbnails for rows that fly past in a fast scroll, and loads those in view once it stops', async () => {
    // 900 px a frame: fast (over 2 px/ms) unless frames come more than 450 ms apart.
    const bare = await scriptedScroll(900, 12);
    expect(Math.max(...bare)).toBeGreaterThan(0);
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, '20c-grid-fast-scroll.png') });
    await cellsInViewLoaded();
    await page.keyboard.press('Home');
    await cell(0).waitFor();
  });

  it('loads thumbnails while it scrolls slowly', async () => {
    await cellsInViewLoaded();
    // 10 px a frame: slow (under 2 px/ms) however slow the frames; a new row mounts every 14 frames.
    const bare = await scriptedScroll(10, 60);
    expect(bare.every((n) => n === 0)).toBe(true);
    expect(await page.getByTestId('thumb-grid').evaluate((el) => el.scrollTop)).toBeGreaterThan(500);
    await page.keyboard.press('Home');
    await cell(0).waitFor();
  });

  it('excludes the selected images', async () => {
    await cell(0).click();
    await cell(1).click({ modifiers: ['Control'] });
    await page.getByRole('button', { name: 'Exclude' }).click();
    await page.locator('[data-testid="thumb"][data-index="1"][data-excluded="true"]').waitFor();
    expect(await cell(0).getAttribute('data-excluded')).toBe('true');
    expect(await cell(2).getAttribute('data-excluded')).toBeNull();
    expect(await selectedCount()).toBe(0);
  });
});
