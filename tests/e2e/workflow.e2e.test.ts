// The whole workflow in a browser against `lamm serve`: create a project from a generated
// folder, see the thumbnails, rename a prompt name, add a model, run zero-shot, train LAMM,
// open Inspect and Compare, export, and classify an image with the export. A screenshot of
// every page goes to test-output/e2e/.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { HAS_CHROMIUM, openApp, screenshot, type Served } from './harness';
import { FIXTURE_CLASSES, makeTinyModel, writeImageFolder } from '../unit/lamm-fixture';

const JOB_TIMEOUT = 240_000;

describe.skipIf(!HAS_CHROMIUM)('LAMM Studio workflow in a browser', () => {
  let served: Served;
  let browser: Browser;
  let page: Page;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lamm-e2e-'));
  const data = path.join(dir, 'flowers');
  const dbPath = path.join(dir, 'flowers.lamm.sqlite');
  const exportDir = path.join(dir, 'export');
  let modelDir = '';

  beforeAll(async () => {
    await writeImageFolder(data, 8);
    modelDir = makeTinyModel(dir);
    ({ served, browser, page } = await openApp());
  });
  afterAll(async () => {
    await browser?.close();
    await served?.stop();
  });

  const nav = (id: string) => page.getByTestId(`nav-${id}`).click();
  const jobDone = (kind: string) => page.locator(`[data-testid="job-${kind}"][data-status="done"]`).first().waitFor({ timeout: JOB_TIMEOUT });

  it('creates a project from a folder and imports it with progress', async () => {
    await page.getByTestId('new-data-folder').fill(data);
    await page.getByTestId('new-db-path').fill(dbPath);
    await page.getByTestId('create-project').click();
    await jobDone('import');
    await expect(page.getByTestId('open-project-name').textContent()).resolves.toBe('flowers');
    await screenshot(page, '01-projects');
  });

  it('shows the class table and renames a prompt name', async () => {
    await nav('dataset');
    const table = page.getByTestId('class-table');
    await table.getByText(FIXTURE_CLASSES[0].folder, { exact: true }).waitFor();
    const input = page.getByTestId(`prompt-${FIXTURE_CLASSES[0].folder}`);
    await input.fill('crimson disc');
    await input.press('Enter');
    await page.waitForFunction(
      (folder) => (document.querySelector(`[data-testid="prompt-${folder}"]`) as HTMLInputElement)?.value === 'crimson disc',
      FIXTURE_CLASSES[0].folder,
    );
    await page.getByTestId('split-shots').fill('2');
    await page.getByTestId('split-apply').click();
    await page.getByTestId('split-summary').waitFor();
    await screenshot(page, '02-dataset');
    // The rename reached the engine, not only the field.
    await page.reload();
    await page.getByTestId('status-bar').getByText('connected').waitFor();
    await page.waitForFunction(
      (folder) => (document.querySelector(`[data-testid="prompt-${folder}"]`) as HTMLInputElement)?.value === 'crimson disc',
      FIXTURE_CLASSES[0].folder,
    );
  });

  it('shows the thumbnails in the curation grid', async () => {
    await nav('curate');
    const thumbs = page.getByTestId('thumb');
    await thumbs.first().waitFor();
    await page.waitForFunction(() => {
      const imgs = [...document.querySelectorAll('[data-testid="thumb"] img')] as HTMLImageElement[];
      return imgs.length > 0 && imgs.every((i) => i.complete && i.naturalWidth > 0);
    });
    expect(await thumbs.count()).toBe(8 * FIXTURE_CLASSES.length);
    await screenshot(page, '03-curate');
  });

  it('adds a model folder', async () => {
    await nav('model');
    await page.getByTestId('model-folder').fill(modelDir);
    await page.getByTestId('add-model').click();
    await page.getByTestId('model-table').getByText(path.basename(modelDir), { exact: false }).first().waitFor();
    await screenshot(page, '04-model');
  });

  it('runs zero-shot, then trains LAMM with live charts', async () => {
    await nav('train');
    await page.getByTestId('start-zeroshot').waitFor();
    await page.getByTestId('start-zeroshot').click();
    await jobDone('zeroshot');
    await page.getByTestId('train-shots').fill('2');
    await page.getByTestId('train-epochs').fill('6');
    await page.getByTestId('start-training').click();
    await jobDone('train');
    await page.getByTestId('chart-loss').locator('.recharts-line-curve').first().waitFor();
    const history = page.getByTestId('run-history');
    await history.getByText('lamm').first().waitFor();
    await history.getByText('zero-shot').first().waitFor();
    await screenshot(page, '05-train');
  });

  it('shows token neighbours on Inspect', async () => {
    await nav('inspect');
    await page.getByTestId('neighbours').getByText('crimson disc').waitFor({ timeout: JOB_TIMEOUT });
    // The fixture's byte-level vocabulary has no word tokens: the page says so and lists all tokens.
    await page.getByTestId('inspect-no-words').waitFor();
    await page.getByTestId('neighbours').locator('tbody .mantine-Badge-root').first().waitFor();
    await screenshot(page, '06-inspect');
  });

  it('compares zero-shot and trained per class and per image', async () => {
    await nav('compare');
    await page.getByTestId('comparison').waitFor({ timeout: JOB_TIMEOUT });
    await page.getByTestId('confusion-matrix').waitFor();
    expect(await page.getByTestId('per-class').locator('tbody tr').count()).toBe(FIXTURE_CLASSES.length);
    await screenshot(page, '07-compare');
  });

  it('exports the run and classifies a new image with the export', async () => {
    await nav('export');
    await page.getByTestId('export-out').fill(exportDir);
    await page.getByTestId('export-start').click();
    await page.getByTestId('export-files').waitFor({ timeout: JOB_TIMEOUT });
    expect(fs.existsSync(path.join(exportDir, 'manifest.json'))).toBe(true);
    const image = path.join(data, FIXTURE_CLASSES[1].folder, '0.png');
    await page.getByTestId('classify-images').fill(image);
    await page.getByTestId('classify-start').click();
    const results = page.getByTestId('classify-results');
    await results.waitFor({ timeout: JOB_TIMEOUT });
    await results.getByText(path.basename(image)).waitFor();
    await screenshot(page, '08-export');
  });
});
