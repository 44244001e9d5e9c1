// Electron's window settings and navigation rules (pure functions, no Electron needed).
import { describe, expect, it } from 'vitest';
import { chromiumSwitches, isAppNavigation, isExternalLink, isPermissionAllowed, isTrustedSender, windowOptions } from '../../src-main/api/electron-window';
import { APP_URL } from '../../src-main/api/app-protocol';

describe('windowOptions', () => {
  it('gives the renderer no Node: context isolation, sandbox, only the preload bridge', () => {
    const o = windowOptions('/app/out/preload/index.cjs', '/app/resources/icon.png');
    expect(o.webPreferences).toMatchObject({
      preload: '/app/out/preload/index.cjs',
      contextIsolation: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      sandbox: true,
      webSecurity: true,
      allowRunningInsecureContent: false,
    });
    expect(o.show).toBe(false);
    expect(o.icon).toBe('/app/resources/icon.png');
    expect(o.minWidth).toBeLessThanOrEqual(o.width!);
  });

  it('leaves the icon out when there is none', () => {
    expect('icon' in windowOptions('/p.cjs')).toBe(false);
  });
});

describe('isAppNavigation', () => {
  it('allows the app page itself (hash routes included)', () => {
    expect(isAppNavigation('app://lamm/index.html#/train', APP_URL)).toBe(true);
    expect(isAppNavigation('app://lamm/', APP_URL)).toBe(true);
    expect(isAppNavigation('http://localhost:5173/#/curate', 'http://localhost:5173/')).toBe(true);
  });
  it('refuses files, other origins and other schemes', () => {
    expect(isAppNavigation('file:///opt/lamm/out/renderer/index.html', APP_URL)).toBe(false);
    expect(isAppNavigation('file:///etc/passwd', APP_URL)).toBe(false);
    expect(isAppNavigation('app://other/index.html', APP_URL)).toBe(false);
    expect(isAppNavigation('https://example.com/', APP_URL)).toBe(false);
    expect(isAppNavigation('http://localhost:5174/', 'http://localhost:5173/')).toBe(false);
    expect(isAppNavigation('app://lamm/index.html', 'http://localhost:5173/')).toBe(false);
    expect(isAppNavigation('javascript:alert(1)', APP_URL)).toBe(false);
    expect(isAppNavigation('not a url', APP_URL)).toBe(false);
  });
  it('sends only web links to the browser', () => {
    expect(isExternalLink('https://arxiv.org/abs/2312.08212')).toBe(true);
    expect(isExternalLink('file:///etc/passwd')).toBe(false);
    expect(isExternalLink('smb://server/share')).toBe(false);
  });
});

describe('isTrustedSender', () => {
  const mainFrame = { url: APP_URL, parent: null };
  const webContents = { mainFrame };
  const win = { webContents };
  it("accepts only the app window's top frame on the app page", () => {
    expect(isTrustedSender({ sender: webContents, senderFrame: mainFrame }, win, APP_URL)).toBe(true);
    expect(isTrustedSender({ sender: webContents, senderFrame: { url: APP_URL, parent: mainFrame } }, win, APP_URL)).toBe(false);
    expect(isTrustedSender({ sender: webContents, senderFrame: { url: APP_URL, parent: null } }, win, APP_URL)).toBe(false);
    expect(isTrustedSender({ sender: {}, senderFrame: mainFrame }, win, APP_URL)).toBe(false);
    expect(isTrustedSender({ sender: webContents, senderFrame: null }, win, APP_URL)).toBe(false);
    expect(isTrustedSender({ sender: webContents, senderFrame: mainFrame }, null, APP_URL)).toBe(false);
    // Another wrapper of the same frame and contents (matched by ids), or of another frame.
    const ids = { url: APP_URL, parent: null, processId: 4, routingId: 1 };
    const win2 = { webContents: { id: 7, mainFrame: ids } };
    expect(isTrustedSender({ sender: { id: 7 }, senderFrame: { ...ids } }, win2, APP_URL)).toBe(true);
    expect(isTrustedSender({ sender: { id: 8 }, senderFrame: { ...ids } }, win2, APP_URL)).toBe(false);
    expect(isTrustedSender({ sender: { id: 7 }, senderFrame: { ...ids, routingId: 2 } }, win2, APP_URL)).toBe(false);
    expect(isTrustedSender({ sender: { id: 7 }, senderFrame: { ...ids, parent: ids } }, win2, APP_URL)).toBe(false);
    const navigated = { url: 'https://evil.example/', parent: null };
    expect(isTrustedSender({ sender: webContents, senderFrame: navigated }, { webContents: { mainFrame: navigated } }, APP_URL)).toBe(false);
  });
});

describe('permissions', () => {
  it('grants nothing the UI does not use, to no page', () => {
    for (const p of ['media', 'geolocation', 'notifications', 'midi', 'clipboard-read', 'clipboard-sanitized-write', 'openExternal', 'hid'])
      for (const url of [APP_URL, 'https://evil.example/', undefined]) expect(isPermissionAllowed(p, url, APP_URL), `${p} ${url}`).toBe(false);
  });
});

describe('chromiumSwitches', () => {
  it("turns on WebGPU's Vulkan path on Linux only, as one enable-features switch", () => {
    expect(chromiumSwitches('linux')).toEqual([['enable-unsafe-webgpu'], ['enable-features', 'Vulkan,VulkanFromANGLE,DefaultANGLEVulkan']]);
    expect(chromiumSwitches('linux').filter(([name]) => name === 'enable-features')).toHaveLength(1);
    expect(chromiumSwitches('darwin')).toEqual([]);
    expect(chromiumSwitches('win32')).toEqual([]);
  });
});
