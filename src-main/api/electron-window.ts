// The Electron window's settings and navigation rules, kept free of Electron imports so they
// can be unit-tested under plain Node. The renderer gets no Node: context isolation, sandbox,
// and only the preload's `window.lamm` bridge.
import type { BrowserWindowConstructorOptions } from 'electron';

export const WINDOW_SIZE = { width: 1360, height: 880, minWidth: 1040, minHeight: 680 } as const;
export const WINDOW_BACKGROUND = '#f8f9fa';

export function windowOptions(preloadPath: string, iconPath?: string): BrowserWindowConstructorOptions {
  return {
    ...WINDOW_SIZE,
    title: 'LAMM Studio',
    show: false, // shown on ready-to-show: no white flash
    backgroundColor: WINDOW_BACKGROUND,
    ...(iconPath ? { icon: iconPath } : {}),
    webPreferences: {
      preload: preloadPath,
      contextIsolation: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      sandbox: true,
      webSecurity: true,
      allowRunningInsecureContent: false,
      spellcheck: false,
    },
  };
}

/**
 * In-window navigation stays on the app's own page (the dev server in development, the
 * bundled index.html otherwise); everything else is refused (links open in the browser).
 */
export function isAppNavigation(target: string, appUrl: string): boolean {
  let t: URL;
  let a: URL;
  try {
    t = new URL(target);
    a = new URL(appUrl);
  } catch {
    return false;
  }
  if (t.protocol === 'file:') return a.protocol === 'file:' && t.pathname === a.pathname;
  return (t.protocol === 'http:' || t.protocol === 'https:') && t.origin === a.origin;
}

/** Only plain web links leave the app, in the user's browser. */
export function isExternalLink(url: string): boolean {
  try {
    const u = new URL(url);
    return u.protocol === 'https:' || u.protocol === 'http:';
  } catch {
    return false;
  }
}
