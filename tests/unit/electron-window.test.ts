// Electron's window settings and navigation rules (pure functions, no Electron needed).
import { describe, expect, it } from 'vitest';
import { isAppNavigation, isExternalLink, windowOptions } from '../../src-main/api/electron-window';

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
  const fileApp = 'file:///opt/lamm/out/renderer/index.html';
  it('allows the app page itself (hash routes included)', () => {
    expect(isAppNavigation('file:///opt/lamm/out/renderer/index.html#/train', fileApp)).toBe(true);
    expect(isAppNavigation('http://localhost:5173/#/curate', 'http://localhost:5173/')).toBe(true);
  });
  it('refuses other files, other origins and other schemes', () => {
    expect(isAppNavigation('file:///etc/passwd', fileApp)).toBe(false);
    expect(isAppNavigation('https://example.com/', fileApp)).toBe(false);
    expect(isAppNavigation('http://localhost:5174/', 'http://localhost:5173/')).toBe(false);
    expect(isAppNavigation('javascript:alert(1)', fileApp)).toBe(false);
    expect(isAppNavigation('not a url', fileApp)).toBe(false);
  });
  it('sends only web links to the browser', () => {
    expect(isExternalLink('https://arxiv.org/abs/2305.16543')).toBe(true);
    expect(isExternalLink('file:///etc/passwd')).toBe(false);
    expect(isExternalLink('smb://server/share')).toBe(false);
  });
});
