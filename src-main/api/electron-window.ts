// The Electron window's settings, navigation, IPC and permission rules, kept free of Electron imports so they
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
    webPreferences: lockedDownPreferences(preloadPath),
  };
}

/** Every app window's renderer: no Node, sandboxed, context-isolated, only its preload's bridge. */
export function lockedDownPreferences(preloadPath: string): NonNullable<BrowserWindowConstructorOptions['webPreferences']> {
  return {
    preload: preloadPath,
    contextIsolation: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    sandbox: true,
    webSecurity: true,
    allowRunningInsecureContent: false,
    spellcheck: false,
  };
}

/**
 * In-window navigation stays on the app's own page (app://lamm/ when built, the dev server in
 * development); everything else is refused (links open in the browser).
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
  if (t.protocol !== a.protocol) return false;
  if (t.protocol === 'app:') return t.host === a.host;
  return (t.protocol === 'http:' || t.protocol === 'https:') && t.origin === a.origin;
}

interface FrameLike {
  url: string;
  parent: unknown;
  processId?: number;
  routingId?: number;
}

/** What an IPC event says about its sender (Electron's IpcMainInvokeEvent, narrowed for tests). */
export interface IpcSender {
  sender?: unknown;
  senderFrame?: FrameLike | null;
}

interface WindowLike {
  webContents: { id?: number; mainFrame: FrameLike };
}

/**
 * Contract calls are accepted only from the top frame of the app window showing the app's
 * own page: not from a subframe, another window or a page the window was navigated to.
 * Frames and contents are matched by identity or by their ids (Electron may hand out a new
 * wrapper object for the same frame).
 */
export function isTrustedSender(e: IpcSender, window: WindowLike | null, appUrl: string): boolean {
  const frame = e.senderFrame;
  if (!window || !frame) return false;
  const contents = window.webContents;
  const sender = e.sender as { id?: number } | undefined;
  const sameContents = sender === contents || (!!sender && typeof sender.id === 'number' && sender.id === contents.id);
  const main = contents.mainFrame;
  const sameFrame = frame === main || (typeof frame.processId === 'number' && frame.processId === main.processId && frame.routingId === main.routingId);
  return sameContents && sameFrame && frame.parent === null && isAppNavigation(frame.url, appUrl);
}

/**
 * Web permissions the UI uses, granted only to the app's own page. It uses none today (no
 * clipboard, camera, notifications, fullscreen, …), so every request and check is refused;
 * a feature that needs one adds its name here.
 */
export const ALLOWED_PERMISSIONS: ReadonlySet<string> = new Set<string>();

export function isPermissionAllowed(permission: string, requestingUrl: string | undefined, appUrl: string): boolean {
  return ALLOWED_PERMISSIONS.has(permission) && !!requestingUrl && isAppNavigation(requestingUrl, appUrl);
}

/**
 * Chromium switches set once before `ready`. On Linux Electron's WebGPU finds no adapter without
 * them (electron/electron#41763): WebGPU itself is still behind a flag there, and Dawn needs
 * Chromium's Vulkan path (the three features together, as one switch: a second
 * `enable-features` would replace the first).
 */
export function chromiumSwitches(platform: NodeJS.Platform): [name: string, value?: string][] {
  if (platform !== 'linux') return [];
  return [['enable-unsafe-webgpu'], ['enable-features', 'Vulkan,VulkanFromANGLE,DefaultANGLEVulkan']];
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
