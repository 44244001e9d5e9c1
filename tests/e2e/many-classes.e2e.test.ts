// A project of a few hundred classes, as a user with a real taxonomy has: every page must
// answer at once (loading states, not zeros), the confusion matrix must stay readable (zoom,
// a count on hover, the most confused pairs listed), and per-class tables sort and filter.
// The project is made by `lamm train` (zero-shot + a short LAMM run), then opened in the UI.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTinyModel, writeImageFolder } from '../unit/lamm-fixture';
import { HAS_CHROMIUM, openApp, ROOT, screenshot, screenshotAt, type Served } from './harness';

/** Classes in the project: enough that a hand-drawn matrix or a plain table breaks. */
const CLASSES = 300;
const PER_CLASS = 4;
const PAGE_TIMEOUT = 60_000;

const classes = Array.from({ length: CLASSES }, (_, i) => ({
  folder: `species_${String(i).padStart(3, '0')}`,
  rgb: [(i * 97) % 256, (i * 57 + 80) % 256, (i * 31 + 160) % 256] as [number, number, number],
}));

describe.skipIf(!HAS_CHROMIUM)(`${CLASSES} classes in the browser`, () => {
  let served: Served;
  let browser: Browser;
  let page: Page;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lamm-e2e-many-'));
  const data = path.join(dir, 'taxonomy');
  const dbPath = path.join(dir, 'taxonomy.lamm.sqlite');

  beforeAll(async () => {
    await writeImageFolder(data, PER_CLASS, classes, 24);
    const model = makeTinyModel(dir);
    const lamm = (...args: string[]) => {
      const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/lamm.js'), ...args, '--json'], { cwd: ROOT, encoding: 'utf8', timeout: 240_000 });
      if (r.status !== 0) throw new Error(`lamm ${args[0]} failed: ${r.stderr.split('\n').slice(-3).join(' ')}`);
    };
    lamm('zeroshot', '--model', model, '--data', data, '--db', dbPath);
    lamm('train', '--model', model, '--data', data, '--db', dbPath, '--shots', '2', '--epochs', '3');
    ({ served, browser, page } = await openApp(['--db', dbPath]));
  }, 300_000);
  afterAll(async () => {
    await browser?.close();
    await served?.stop();
  });

  const nav = (id: string) => page.getByTestId(`nav-${id}`).click();

  it('lists every class on the Dataset page, never "0 classes" while loading, and filters them', async () => {
    await nav('dataset');
    // Until the list arrives the page says it is loading; once it has, the totals are right.
    const totals = page.getByTestId('class-totals');
    await totals.waitFor({ timeout: PAGE_TIMEOUT });
    await expect(totals.textContent()).resolves.toContain(`${CLASSES} classes`);
    await page.getByTestId('class-filter').fill('species_01');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="class-table"] tbody tr').length === 10);
    await screenshot(page, '40-many-dataset');
    await page.getByTestId('class-filter').fill('');
  });

  it('shows the learned tokens of every class on Inspect', async () => {
    await nav('inspect');
    const started = Date.now();
    await page.locator('[data-testid^="neighbours-species_"]').first().waitFor({ timeout: PAGE_TIMEOUT });
    console.log(`Inspect, ${CLASSES} classes: first class shown after ${Date.now() - started} ms`);
    // One page of classes at a time; the filter reaches any of them.
    const cards = page.locator('[data-testid^="neighbours-species_"]');
    expect(await cards.count()).toBe(24);
    await page.getByTestId('inspect-filter').fill('species_29');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid^="neighbours-species_"]').length === 10);
    await page.getByTestId('inspect-filter').fill('');
    await screenshot(page, '41-many-inspect');
  });

  it('compares per class in a table that sorts and filters, beside a matrix that zooms and tells counts', async () => {
    await nav('compare');
    await page.getByTestId('comparison').waitFor({ timeout: PAGE_TIMEOUT });
    const rows = page.getByTestId('per-class').locator('tbody tr');
    expect(await rows.count()).toBe(CLASSES);

    // Sorting by change puts the largest gain first; filtering narrows to matching names.
    await page.getByTestId('sort-delta').click();
    const deltas = await rows.evaluateAll((trs) => trs.map((tr) => Number.parseFloat(tr.querySelectorAll('td')[3]?.textContent?.replace('+', '') ?? 'NaN')));
    expect(deltas.length).toBe(CLASSES);
    for (let i = 1; i < deltas.length; i++) expect(deltas[i]).toBeLessThanOrEqual(deltas[i - 1]);
    await page.getByTestId('per-class-filter').fill('species_2');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="per-class"] tbody tr').length === 100);
    await page.getByTestId('per-class-filter').fill('');

    // The matrix names the cell under the pointer; zoom makes cells big enough for labels.
    const canvas = page.getByTestId('confusion-canvas');
    await canvas.waitFor();
    const box = await canvas.boundingBox();
    expect(box).not.toBeNull();
    await page.mouse.move(box!.x + box!.width - 2, box!.y + box!.height - 2);
    await expect(page.getByTestId('confusion-hover').textContent()).resolves.toMatch(/^true .+ → predicted .+: \d+ of \d+/);
    expect(await page.getByTestId('confused-pairs').locator('tr').count()).toBeGreaterThan(0);
    await screenshotAt(page, page.getByTestId('confusion-matrix'), '42-many-compare-matrix');
    await page.getByTestId('confusion-zoom').getByText('8x').click();
    expect((await canvas.boundingBox())!.width).toBeGreaterThan(box!.width * 4);
    await screenshotAt(page, page.getByTestId('confusion-matrix'), '43-many-compare-zoomed');
  });
});
