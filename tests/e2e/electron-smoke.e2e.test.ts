// The desktop app itself, driven by Playwright's Electron support: the built app (`npm start`'s
// `electron . --demo`) opens on the demo project from app://, runs zero-shot CLIP and a few
// epochs of LAMM in its own main process (Electron's better-sqlite3 build, the training worker),
// shows the result and quits cleanly. Runs wherever Electron's binary is installed and a display
// is available (xvfb-run on a headless Linux box); skipped here, with the reason, otherwise.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { _electron, type ElectronApplication, type Page } from 'playwright-core';
import { ROOT, SCREENSHOT_DIR } from './harness';
import { describeResult, ensureElectronSqlite, findElectron } from '../../scripts/electron-native';
import { APP_URL } from '../../src-main/api/app-protocol';
import { loadRecipe } from '../../src-main/demo/dataset';

const JOB_TIMEOUT = 180_000;
const electron = findElectron();
const headlessLinux = process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY;
const skipReason = !electron
  ? 'the electron package is not installed'
  : !electron.binary
    ? `Electron ${electron.version}'s binary is not installed (offline or ELECTRON_SKIP_BINARY_DOWNLOAD); README, "The desktop app"`
    : headlessLinux
      ? 'no display (run the e2e tests under xvfb-run)'
      : null;
if (skipReason) console.log(`electron smoke test skipped: ${skipReason}`);

const recipe = loadRecipe();
const imageCount = (recipe.perClass.train + recipe.perClass.test) * recipe.classes.length;

describe.skipIf(skipReason !== null)('the Electron app on the demo project', () => {
  let app: ElectronApplication;
  let page: Page;
  let stderr = '';
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lamm-electron-state-'));

  beforeAll(async () => {
    const native = ensureElectronSqlite({ download: false });
    console.log(describeResult(native));
    expect(native.status === 'ready' || native.status === 'built', describeResult(native)).toBe(true);
    const { ELECTRON_RUN_AS_NODE: _drop, ...env } = process.env;
    app = await _electron.launch({
      executablePath: electron!.binary!,
      // Root has no user namespaces for Chromium's sandbox on most CI boxes.
      args: [ROOT, '--demo', ...(process.getuid?.() === 0 ? ['--no-sandbox'] : [])],
      cwd: ROOT,
      env: { ...env, LAMM_STATE_DIR: stateDir } as Record<string, string>,
      timeout: 120_000,
    });
    app.process().stderr?.on('data', (d) => (stderr += d));
    page = await app.firstWindow();
    page.on('pageerror', (e) => console.error('page error:', e.message));
  });
  afterAll(async () => {
    if (app && app.process().exitCode === null) await app.close().catch(() => {});
  });

  const nav = (id: string) => page.getByTestId(`nav-${id}`).click();
  const jobDone = (kind: string) => page.locator(`[data-testid="job-${kind}"][data-status="done"]`).first().waitFor({ timeout: JOB_TIMEOUT });

  it('opens the window on app:// with no Node in the page, on the demo project', async () => {
    expect(page.url().startsWith(new URL('/', APP_URL).href)).toBe(true);
    expect(await page.evaluate(() => [typeof (window as any).require, typeof (window as any).process, typeof (window as any).lamm?.request])).toEqual([
      'undefined',
      'undefined',
      'function',
    ]);
    await page.waitForFunction(() => document.querySelector('[data-testid="open-project-name"]')?.textContent === 'demo', null, { timeout: JOB_TIMEOUT });
    await page.getByTestId('current-project').getByText(`${imageCount} images`).waitFor({ timeout: JOB_TIMEOUT });
    expect(stderr).not.toMatch(/better-sqlite3 is missing|could not open the demo/);
    expect(fs.existsSync(path.join(stateDir, 'demo', 'demo.lamm.sqlite'))).toBe(true);
  });

  it('runs zero-shot and a few epochs of LAMM, and shows the result', async () => {
    await nav('train');
    await page.getByTestId('start-zeroshot').click();
    await jobDone('zeroshot');
    await page.getByTestId('zeroshot-per-class').waitFor();
    await page.getByTestId('train-shots').fill('4');
    await page.getByTestId('train-epochs').fill('3');
    await page.getByTestId('start-training').click();
    await jobDone('train');
    await page.getByTestId('chart-loss').locator('polyline').first().waitFor();
    await page.getByTestId('run-history').getByText('lamm').first().waitFor();
    await expect(page.getByTestId('run-view').textContent()).resolves.toMatch(/test accuracy \d+(\.\d+)?%/);
    fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, '30-electron-train.png') });
  });

  it('quits cleanly', async () => {
    const proc = app.process();
    const exited = new Promise<number | null>((resolve) => (proc.exitCode !== null ? resolve(proc.exitCode) : proc.once('exit', (code) => resolve(code))));
    await app.close();
    expect(await exited).toBe(0);
    expect(stderr).not.toMatch(/Uncaught|UnhandledPromiseRejection|FATAL/);
  });
});
