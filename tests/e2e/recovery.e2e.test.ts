// `lamm serve` SIGKILLed in the middle of a training run: the next `lamm serve` on the same
// project shows the run as interrupted in the run history (not "running" forever), and a new
// run starts and finishes normally.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { importFolder } from '../../src-main/data/import';
import { ProjectStore } from '../../src-main/data/store';
import { makeTinyModel, writeImageFolder } from '../unit/lamm-fixture';
import { HAS_CHROMIUM, launchBrowser, screenshot, startServe, type Served } from './harness';

const JOB_TIMEOUT = 240_000;

describe.skipIf(!HAS_CHROMIUM)('a run cut off by a killed server', () => {
  let served: Served | null = null;
  let browser: Browser;
  let page: Page;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lamm-e2e-recovery-'));
  const dbPath = path.join(dir, 'killed.lamm');
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lamm-e2e-state-'));
  let modelDir = '';

  beforeAll(async () => {
    const data = path.join(dir, 'flowers');
    await writeImageFolder(data, 6);
    modelDir = makeTinyModel(dir);
    const store = ProjectStore.open(dbPath);
    await importFolder(store, data);
    store.close();
    ({ browser, page } = await launchBrowser());
    page.on('pageerror', (e) => console.error('page error:', e.message));
  });
  afterAll(async () => {
    await browser?.close();
    await served?.stop();
  });

  const connect = async () => {
    served = await startServe(['--db', dbPath], {}, stateDir);
    await page.goto(served.url);
    await page.getByTestId('status-bar').getByText('connected').waitFor();
  };
  const nav = (id: string) => page.getByTestId(`nav-${id}`).click();

  it('shows the killed run as interrupted after a restart, and trains anew', async () => {
    await connect();
    await nav('model');
    await page.getByTestId('model-folder').fill(modelDir);
    await page.getByTestId('add-model').click();
    await page.getByTestId('model-table').getByText(path.basename(modelDir), { exact: false }).first().waitFor();
    await nav('train');
    await page.getByTestId('train-shots').fill('2');
    await page.getByTestId('train-epochs').fill('5000');
    await page.getByTestId('start-training').click();
    const history = page.getByTestId('run-history');
    await history.getByText('running', { exact: true }).first().waitFor({ timeout: JOB_TIMEOUT });

    const killed = served!;
    const exited = new Promise((resolve) => killed.proc.once('exit', resolve));
    killed.proc.kill('SIGKILL');
    await exited;
    served = null;
    await connect();
    await nav('train');
    await history.getByText('interrupted', { exact: true }).first().waitFor({ timeout: JOB_TIMEOUT });
    await screenshot(page, 'recovery-interrupted');

    await page.getByTestId('train-shots').fill('2');
    await page.getByTestId('train-epochs').fill('2');
    await page.getByTestId('start-training').click();
    await page.locator('[data-testid="job-train"][data-status="done"]').first().waitFor({ timeout: JOB_TIMEOUT });
    await history.getByText('done', { exact: true }).first().waitFor();
    await history.getByText('interrupted', { exact: true }).first().waitFor();
  });
});
