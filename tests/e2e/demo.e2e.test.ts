// The demo as a new user meets it: `lamm serve --demo` (what `npm start` runs without Electron's
// binary) opens the bundled demo project; the user draws 4 shots, runs zero-shot CLIP (plain
// class names right, heraldic jargon wrong), trains LAMM with the default settings, reads the
// learned tokens on Inspect, checks the gain on Compare, exports and classifies a demo image.
// A second start as the same user reopens the same project; then `lamm train --classes` trains
// the plain and the jargon halves and the Train page merges them. Screenshots: test-output/e2e/1*.png.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { HAS_CHROMIUM, launchBrowser, ROOT, screenshot, screenshotAt, startServe, type Served } from './harness';
import { DEMO_MARKER_FILE, DEMO_MODEL_DIR, loadRecipe, promptName } from '../../src-main/demo/dataset';
import { nameKind } from '../../src-main/demo/evaluate';

const JOB_TIMEOUT = 180_000;
const run = promisify(execFile);
const SHOTS = 4;
const recipe = loadRecipe();
const imageCount = (recipe.perClass.train + recipe.perClass.test) * recipe.classes.length;
// Plain classes are named with words the demo CLIP learned ("red circle"); the others in heraldic jargon.
const plain = recipe.classes.filter((c) => nameKind(c) === 'plain');
const jargon = recipe.classes.filter((c) => nameKind(c) === 'jargon');

describe.skipIf(!HAS_CHROMIUM)('the demo project, as `npm start` opens it', () => {
  let served: Served;
  let browser: Browser;
  let page: Page;
  let dataFolder = '';
  const timings: Record<string, number> = {};
  /** Trained test accuracy (%) of the jargon classes, as the Compare page shows it. */
  const trainedAccuracy = new Map<string, number>();

  beforeAll(async () => {
    served = await startServe(['--demo']);
    ({ browser, page } = await launchBrowser());
    page.on('pageerror', (e) => console.error('page error:', e.message));
  });
  afterAll(async () => {
    console.log(`demo e2e timings (s): ${JSON.stringify(timings)}`);
    await browser?.close();
    await served?.stop();
  });

  const nav = (id: string) => page.getByTestId(`nav-${id}`).click();
  const jobDone = (kind: string) => page.locator(`[data-testid="job-${kind}"][data-status="done"]`).first().waitFor({ timeout: JOB_TIMEOUT });
  const timed = async <T>(name: string, f: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    try {
      return await f();
    } finally {
      timings[name] = Math.round((performance.now() - t0) / 100) / 10;
    }
  };
  const percent = async (testId: string) => Number((await page.getByTestId(testId).innerText()).match(/([+-]?\d+(?:\.\d+)?)\s*(?:%|pts)/)![1]);

  it('opens on the demo project, generated into the per-user folder', async () => {
    await page.goto(served.url);
    await page.getByTestId('status-bar').getByText('connected').waitFor();
    await timed('prepare', () =>
      page.waitForFunction(() => document.querySelector('[data-testid="open-project-name"]')?.textContent === 'demo', null, { timeout: JOB_TIMEOUT }),
    );
    await page.getByTestId('current-project').getByText(`${imageCount} images`).waitFor({ timeout: JOB_TIMEOUT });
    await page.getByTestId('current-project').getByText(`${recipe.classes.length} classes`).waitFor();
    // The images live beside the project in the state folder, never in the checkout.
    expect(fs.existsSync(path.join(served.stateDir, 'demo', 'data', DEMO_MARKER_FILE))).toBe(true);
    expect(served.stderr()).toMatch(new RegExp(`generated ${imageCount} demo images`));
    expect(served.stderr()).toMatch(new RegExp(`imported ${imageCount} images in ${recipe.classes.length} classes`));
    await screenshot(page, '10-demo-projects');
  });

  it('lists the 8 classes and draws 4 shots per class', async () => {
    await nav('dataset');
    const table = page.getByTestId('class-table');
    for (const c of recipe.classes) await table.getByText(c.folder, { exact: true }).waitFor();
    expect(await table.locator('tbody tr').count()).toBe(recipe.classes.length);
    dataFolder = await page.getByTestId('import-folder').inputValue();
    expect(path.relative(served.stateDir, dataFolder).startsWith('..')).toBe(false); // not in the checkout
    await page.getByTestId('split-shots').fill(String(SHOTS));
    await page.getByTestId('split-apply').click();
    await page.getByTestId('split-summary').waitFor();
    await screenshot(page, '11-demo-dataset');
  });

  it('shows the thumbnails and the drawn shots', async () => {
    await nav('curate');
    await page.getByTestId('filter-split').getByText('Shots').click();
    await page.waitForTimeout(300); // the segmented control's indicator slides over
    await page
      .getByTestId('grid-count')
      .getByText(`${SHOTS * recipe.classes.length} of ${imageCount} images`)
      .waitFor();
    await page.waitForFunction(() => {
      const imgs = [...document.querySelectorAll('[data-testid="thumb"] img')] as HTMLImageElement[];
      return imgs.length > 0 && imgs.every((i) => i.complete && i.naturalWidth > 0);
    });
    await screenshot(page, '12-demo-curate');
  });

  it('uses the bundled demo CLIP', async () => {
    await nav('model');
    await page.getByTestId('model-table').getByText('demo CLIP').waitFor();
    await screenshot(page, '13-demo-model');
  });

  it('runs zero-shot: plain class names right, jargon wrong', async () => {
    await nav('train');
    await page.getByTestId('start-zeroshot').click();
    await timed('zeroshot', () => jobDone('zeroshot'));
    const accuracy = async (folder: string) => Number(await page.getByTestId(`zeroshot-class-${folder}`).getAttribute('data-accuracy'));
    await page.getByTestId('zeroshot-per-class').waitFor();
    for (const c of plain) expect(await accuracy(c.folder), c.folder).toBeGreaterThanOrEqual(0.9);
    for (const c of jargon) expect(await accuracy(c.folder), c.folder).toBeLessThanOrEqual(0.1);
    await screenshot(page, '14-demo-zeroshot');
  });

  it('trains LAMM with the default settings on the drawn shots', async () => {
    await expect(page.getByTestId('train-shots').inputValue()).resolves.toBe(String(SHOTS));
    await page.getByTestId('start-training').click();
    await timed('train', () => jobDone('train'));
    await page.getByTestId('chart-loss').locator('.recharts-line-curve').first().waitFor();
    await page.getByTestId('run-history').getByText('lamm').first().waitFor();
    await screenshot(page, '15-demo-train');
    await screenshotAt(page, page.getByTestId('run-history'), '15b-demo-train-history');
  });

  it('shows what the jargon tokens learned on Inspect', async () => {
    await nav('inspect');
    await page.getByTestId('neighbours').waitFor({ timeout: JOB_TIMEOUT });
    // A jargon label learns its meaning: the plain colour or shape word turns up among its nearest words.
    let understood = 0;
    for (const c of jargon) {
      const card = page.getByTestId(`neighbours-${c.folder}`);
      await card.getByText(promptName(c)).first().waitFor();
      const words = await card.locator('tbody .mantine-Badge-root').allInnerTexts();
      if (words.includes(c.colour) || words.includes(c.shape)) understood++;
    }
    expect(understood).toBeGreaterThanOrEqual(jargon.length - 1);
    await screenshot(page, '16-demo-inspect');
  });

  it('compares with zero-shot: at least 20 points better, jargon classes fixed', async () => {
    await nav('compare');
    await page.getByTestId('comparison').waitFor({ timeout: JOB_TIMEOUT });
    const base = await percent('compare-base-accuracy');
    const trained = await percent('compare-trained-accuracy');
    const change = await percent('compare-change');
    expect(trained - base).toBeGreaterThanOrEqual(20);
    expect(change).toBeCloseTo(trained - base, 0);
    for (const c of jargon) {
      const row = page.getByTestId(`compare-class-${c.folder}`);
      const delta = Number((await row.locator('td').last().innerText()).trim());
      expect(delta, c.folder).toBeGreaterThan(50);
      trainedAccuracy.set(c.folder, Number((await row.locator('td').nth(2).innerText()).replace('%', '')));
    }
    await page.getByTestId('confusion-matrix').waitFor();
    const flips = page.getByTestId('flips').getByTestId('flip');
    expect(await flips.count()).toBeGreaterThan(0);
    await screenshot(page, '17-demo-compare');
    const flipsCard = page.getByTestId('flips-card');
    await flipsCard.evaluate((el) => el.scrollIntoView({ block: 'start' }));
    await page.waitForFunction(() => {
      const imgs = [...document.querySelectorAll('[data-testid="flip"] img')].slice(0, 16) as HTMLImageElement[];
      return imgs.length > 0 && imgs.every((i) => i.complete && i.naturalWidth > 0);
    });
    await screenshotAt(page, flipsCard, '17b-demo-compare-flips');
  });

  it('exports the run and classifies a demo test image with it', async () => {
    await nav('export');
    await page.getByTestId('export-start').click();
    await page.getByTestId('export-files').waitFor({ timeout: JOB_TIMEOUT });
    // A jargon class the run learned best: zero-shot CLIP gets every image of it wrong.
    const target = [...jargon].sort((a, b) => trainedAccuracy.get(b.folder)! - trainedAccuracy.get(a.folder)!)[0];
    const image = path.join(dataFolder, 'test', target.folder, fs.readdirSync(path.join(dataFolder, 'test', target.folder)).sort()[0]);
    await page.getByTestId('classify-images').fill(image);
    await page.getByTestId('classify-start').click();
    await page.getByTestId('classify-results').waitFor({ timeout: JOB_TIMEOUT });
    await expect(page.getByTestId('classify-prediction').first().innerText()).resolves.toBe(promptName(target));
    await screenshot(page, '18-demo-export');
  });

  it('reopens the same demo project on a second start, without importing again', async () => {
    const marker = path.join(served.stateDir, 'demo', 'data', DEMO_MARKER_FILE);
    const generatedAt = fs.statSync(marker).mtimeMs;
    await served.stop();
    served = await startServe(['--demo'], {}, served.stateDir);
    await page.goto(served.url);
    await timed('reopen', () => page.getByTestId('current-project').getByText(`${imageCount} images`).waitFor({ timeout: JOB_TIMEOUT }));
    await nav('train');
    // Both runs of the first session are there: the same project file, not a new one.
    await page.getByTestId('run-history').getByText('zero-shot').waitFor();
    await page.getByTestId('run-history').getByText('lamm').waitFor();
    expect(fs.statSync(marker).mtimeMs).toBe(generatedAt);
    expect(served.stderr()).toMatch(new RegExp(`found ${imageCount} demo images`));
    expect(served.stderr()).toMatch(/already imported/);
    expect(served.stderr()).not.toMatch(/failed|error/i);
  });

  it('merges a LAMM run on the plain half with one on the jargon half from the run history', async () => {
    // `lamm train --classes` trains each half into the same project, as a user adding classes later would.
    const db = path.join(served.stateDir, 'demo', 'demo.lamm.sqlite');
    const trainHalf = async (classes: typeof plain) => {
      const { stdout } = await run(
        process.execPath,
        [
          path.join(ROOT, 'bin', 'lamm.js'),
          'train',
          '--model',
          DEMO_MODEL_DIR,
          '--data',
          dataFolder,
          '--db',
          db,
          '--shots',
          String(SHOTS),
          '--classes',
          classes.map((c) => c.folder).join(','),
          '--json',
        ],
        { cwd: ROOT, maxBuffer: 1 << 24 },
      );
      return JSON.parse(stdout) as { runId: number; trained: { accuracy: number } };
    };
    const plainRun = await timed('train-plain', () => trainHalf(plain));
    const jargonRun = await timed('train-jargon', () => trainHalf(jargon));
    await page.reload();
    await nav('train');
    await page.getByTestId('merge-why').waitFor();
    await page.getByTestId(`merge-pick-${plainRun.runId}`).check();
    await page.getByTestId(`merge-pick-${jargonRun.runId}`).check();
    await page.getByTestId('merge-runs').click();
    const mergedRow = page.getByTestId('run-history').getByText(`merge of ${plainRun.runId} + ${jargonRun.runId}`);
    await mergedRow.waitFor({ timeout: JOB_TIMEOUT });
    await screenshotAt(page, page.getByTestId('merge-panel'), '19-demo-merge');
    // A merged run is a run like any other: Compare picks it (the newest), over all eight classes.
    await nav('compare');
    await page.getByTestId('comparison').waitFor({ timeout: JOB_TIMEOUT });
    await expect(page.getByTestId('compare-run').inputValue()).resolves.toMatch(/^#\d+ · lamm/);
    for (const c of recipe.classes) await page.getByTestId(`compare-class-${c.folder}`).waitFor();
    const trained = await percent('compare-trained-accuracy');
    const base = await percent('compare-base-accuracy');
    // Each half chose among its own four classes; merged, a class meets the other half's as rivals
    // it never trained against ("blue square" vs "azure roundel"), which costs accuracy (72.8% here
    // against 95% for one run on all eight), yet the merge keeps most of LAMM's gain over zero-shot.
    console.log(
      `merge: plain half ${(100 * plainRun.trained.accuracy).toFixed(1)}%, jargon half ${(100 * jargonRun.trained.accuracy).toFixed(1)}%, merged ${trained}% (zero-shot ${base}%)`,
    );
    expect(trained - base).toBeGreaterThanOrEqual(15);
    await screenshot(page, '19b-demo-merge-compare');
    await nav('inspect');
    await page.getByTestId('neighbours').waitFor({ timeout: JOB_TIMEOUT });
    for (const c of recipe.classes) await page.getByTestId(`neighbours-${c.folder}`).waitFor();
    // ... and on Export: the merged classifier exports with all eight classes and classifies an image.
    await nav('export');
    // The run picker starts on the newest run: the merge, made right after the jargon half.
    const mergedId = jargonRun.runId + 1;
    await page.waitForFunction(
      (id) => (document.querySelector('[data-testid="export-out"]') as HTMLInputElement | null)?.value.includes(`run-${id}-`),
      mergedId,
    );
    const out = await page.getByTestId('export-out').inputValue();
    await page.getByTestId('export-start').click();
    await page.getByTestId('export-files').waitFor({ timeout: JOB_TIMEOUT });
    const manifest = JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8')) as {
      classes: { folder: string }[];
      metrics: { mergedFrom?: number[] };
    };
    const folders = manifest.classes.map((c) => c.folder);
    const sorted = (list: string[]) => [...list].sort();
    expect([sorted(folders.slice(0, plain.length)), sorted(folders.slice(plain.length))]).toEqual([
      sorted(plain.map((c) => c.folder)),
      sorted(jargon.map((c) => c.folder)),
    ]);
    expect(manifest.metrics.mergedFrom).toEqual([plainRun.runId, jargonRun.runId]);
  });
});
