// Label issues in the browser: the demo dataset with 10% of its training images filed under a
// wrong class folder (seeded), imported as a project with the demo CLIP. "Find likely
// mislabels" lists them (out of sample: k-fold probes + confident learning), one click takes
// the suggested class, another excludes an image. Screenshots: test-output/e2e/2*.png.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { HAS_CHROMIUM, openApp, screenshot, type Served } from './harness';
import { mulberry32, shuffleInPlace } from '../../src-main/clip/random';
import { DEMO_MODEL_DIR, generateDemoDataset, loadRecipe } from '../../src-main/demo/dataset';

const JOB_TIMEOUT = 240_000;

describe.skipIf(!HAS_CHROMIUM)('label issues on the demo with flipped labels', () => {
  let served: Served;
  let browser: Browser;
  let page: Page;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lamm-e2e-issues-'));
  const data = path.join(dir, 'heraldry');
  /** relPath after the move → the folder it came from. */
  const moved = new Map<string, string>();

  beforeAll(async () => {
    const recipe = loadRecipe();
    await generateDemoDataset(data, recipe);
    fs.rmSync(path.join(data, '.lamm-demo.json'), { force: true });
    const rand = mulberry32(7);
    const train = shuffleInPlace(
      recipe.classes.flatMap((c) => fs.readdirSync(path.join(data, 'train', c.folder)).map((f) => ({ folder: c.folder, file: f }))),
      rand,
    );
    for (const { folder, file } of train.slice(0, Math.round(0.1 * train.length))) {
      const others = recipe.classes.filter((c) => c.folder !== folder);
      const to = others[Math.floor(rand() * others.length)].folder;
      fs.renameSync(path.join(data, 'train', folder, file), path.join(data, 'train', to, `from-${folder}-${file}`));
      moved.set(`train/${to}/from-${folder}-${file}`, folder);
    }
    ({ served, browser, page } = await openApp());
  });
  afterAll(async () => {
    await browser?.close();
    await served?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const nav = (id: string) => page.getByTestId(`nav-${id}`).click();
  const jobDone = (kind: string) => page.locator(`[data-testid="job-${kind}"][data-status="done"]`).first().waitFor({ timeout: JOB_TIMEOUT });

  it('imports the folder and adds the demo CLIP', async () => {
    await page.getByTestId('new-data-folder').fill(data);
    await page.getByTestId('new-db-path').fill(path.join(dir, 'heraldry.lamm.sqlite'));
    await page.getByTestId('create-project').click();
    await jobDone('import');
    await nav('model');
    await page.getByTestId('model-folder').fill(DEMO_MODEL_DIR);
    await page.getByTestId('add-model').click();
    await page.getByTestId('model-table').getByText('demo CLIP').first().waitFor();
  });

  it('lists the moved images as likely mislabels, suggesting the folder they came from', async () => {
    await nav('curate');
    await page.getByTestId('find-mislabels').click();
    const panel = page.getByTestId('label-issues');
    await panel.waitFor({ timeout: JOB_TIMEOUT });
    const rows = panel.getByTestId('label-issue');
    const texts = await rows.allInnerTexts();
    const hits = texts.filter((t) => [...moved.keys()].some((p) => t.includes(p)));
    console.log(`label issues: ${texts.length} listed, ${hits.length} of ${moved.size} moved images among them`);
    // One seed's draw; bench/label-issues.ts measures the mean over seeds (precision 0.96, recall 0.89).
    expect(hits.length / texts.length).toBeGreaterThanOrEqual(0.8);
    expect(hits.length / moved.size).toBeGreaterThanOrEqual(0.6);
    for (const t of hits) {
      const from = moved.get([...moved.keys()].find((p) => t.includes(p))!)!;
      expect(t, t).toContain(`Relabel as ${from.replace(/_/g, ' ')}`);
    }
    await page.waitForFunction(() =>
      [...document.querySelectorAll('[data-testid="label-issue"] img')].every(
        (i) => (i as HTMLImageElement).complete && (i as HTMLImageElement).naturalWidth > 0,
      ),
    );
    await screenshot(page, '20-label-issues');
  });

  it('relabels one image and excludes another with one click each', async () => {
    const panel = page.getByTestId('label-issues');
    const rows = panel.getByTestId('label-issue');
    const before = await rows.count();
    const first = await rows.first().getAttribute('data-image-id');
    await rows.first().getByTestId('issue-relabel').click();
    await panel.locator(`[data-image-id="${first}"]`).waitFor({ state: 'detached' });
    const second = await rows.first().getAttribute('data-image-id');
    await rows.first().getByTestId('issue-exclude').click();
    await panel.locator(`[data-image-id="${second}"]`).waitFor({ state: 'detached' });
    expect(await rows.count()).toBe(before - 2);
    await panel.getByText(`${before - 2} of ${before} open`).waitFor();
    // The edits reached the engine: the excluded image is marked in the grid, and a fresh search no longer lists either.
    const button = page.getByTestId('find-mislabels');
    await button.click();
    await page
      .locator('[data-testid="find-mislabels"][data-loading]')
      .waitFor({ timeout: 10_000 })
      .catch(() => {}); // may finish before we look
    await page.locator('[data-testid="find-mislabels"]:not([data-loading])').waitFor({ timeout: JOB_TIMEOUT });
    const ids = await panel.getByTestId('label-issue').evaluateAll((els) => els.map((e) => e.getAttribute('data-image-id')));
    expect(ids).not.toContain(first);
    expect(ids).not.toContain(second);
    await screenshot(page, '21-label-issues-fixed');
  });
});
