// Starts `lamm serve` as the user would (bin/lamm.js, --json for the URL), and Debian's Chromium
// through playwright-core. Screenshots go to test-output/e2e/ for a human to look at.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';

export const ROOT = path.resolve(import.meta.dirname, '..', '..');
export const SCREENSHOT_DIR = path.join(ROOT, 'test-output', 'e2e');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const HAS_CHROMIUM = existsSync(CHROMIUM);

export interface Served {
  url: string;
  token: string | null;
  /** LAMM_STATE_DIR of this server: the per-user folder (recent projects, the demo project). */
  stateDir: string;
  proc: ChildProcess;
  stderr(): string;
  stop(): Promise<void>;
}

/** Starts `lamm serve ARGS`; a fresh state folder unless `stateDir` names one (a second start as the same user). */
export async function startServe(
  args: string[] = [],
  env: Record<string, string> = {},
  stateDir = mkdtempSync(path.join(os.tmpdir(), 'lamm-e2e-state-')),
): Promise<Served> {
  const proc = spawn(process.execPath, [path.join(ROOT, 'bin/lamm.js'), 'serve', '--port', '0', '--json', ...args], {
    cwd: ROOT,
    env: { ...process.env, LAMM_STATE_DIR: stateDir, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  proc.stderr!.on('data', (d) => (err += d));
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`lamm serve did not start in time; stderr:\n${err}`)), 60_000);
    proc.stdout!.on('data', (d) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolve(out.slice(0, nl));
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`lamm serve exited with ${code}; stderr:\n${err}`));
    });
  });
  const { url, token } = JSON.parse(line) as { url: string; token: string | null };
  return {
    url,
    token,
    stateDir,
    proc,
    stderr: () => err,
    stop: () =>
      new Promise((resolve) => {
        if (proc.exitCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
        setTimeout(() => proc.kill('SIGKILL'), 5000).unref();
      }),
  };
}

export async function launchBrowser(): Promise<{ browser: Browser; page: Page }> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
  });
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  return { browser, page };
}

/** `lamm serve ARGS` and a browser page on it, connected to the engine; page errors go to the test's log. */
export async function openApp(args: string[] = []): Promise<{ served: Served; browser: Browser; page: Page }> {
  const served = await startServe(args);
  const { browser, page } = await launchBrowser();
  page.on('pageerror', (e) => console.error('page error:', e.message));
  await page.goto(served.url);
  await page.getByTestId('status-bar').getByText('connected').waitFor();
  return { served, browser, page };
}

/** Saves test-output/e2e/<name>.png of the window with `locator` scrolled to its top (a card below the fold). */
export async function screenshotAt(page: Page, locator: Locator, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await locator.evaluate((el) => el.scrollIntoView({ block: 'start' }));
  const file = path.join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage: false });
  return file;
}

/** Saves test-output/e2e/<name>.png (the page scrolled to the top) and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.evaluate(() => window.scrollTo(0, 0));
  const file = path.join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage: false });
  return file;
}
