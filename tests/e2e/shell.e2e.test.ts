// The served UI loads, connects over the WebSocket with its token, and shows the app shell.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { HAS_CHROMIUM, launchBrowser, screenshot, startServe, type Served } from './harness';

describe.skipIf(!HAS_CHROMIUM)('app shell over lamm serve', () => {
  let served: Served;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    served = await startServe();
    ({ browser, page } = await launchBrowser());
  });
  afterAll(async () => {
    await browser?.close();
    await served?.stop();
  });

  it('opens the Projects page connected to the engine', async () => {
    await page.goto(served.url);
    await page.getByTestId('status-bar').getByText('connected').waitFor();
    await expect(page.getByTestId('page-projects').getByRole('heading', { name: 'Projects', exact: true }).isVisible()).resolves.toBe(true);
    await expect(page.getByTestId('nav-train').getAttribute('data-disabled')).resolves.toBe('true');
    await screenshot(page, '00-shell-projects');
  });

  it('refuses the WebSocket without the token', async () => {
    const noToken = served.url.replace(/\?token=.*/, '');
    await page.goto(noToken);
    await page.evaluate(() => sessionStorage.clear());
    await page.goto(noToken);
    await page
      .getByTestId('status-bar')
      .getByText(/closed|connecting/)
      .first()
      .waitFor();
    await expect(page.getByTestId('status-bar').getByText('connected').count()).resolves.toBe(0);
  });
});
