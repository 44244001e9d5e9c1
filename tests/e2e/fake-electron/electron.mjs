// Just enough of Electron's main-process API for the bundled main process to start under Node,
// and a driver that acts as the window would once the app loads it: fetch the page through the
// app:// handler, call the engine over IPC from the window's top frame and from a stranger, wait
// for the demo project when started with --demo, then quit. It prints one line `FAKE_ELECTRON_REPORT {json}` for the test and exits.
import { EventEmitter } from 'node:events';
import os from 'node:os';
import path from 'node:path';

const handlers = { protocol: new Map(), ipc: new Map(), errorBoxes: [], switches: [], windows: [] };
const appEvents = new EventEmitter();

export const app = {
  isPackaged: false,
  commandLine: { appendSwitch: (name, value) => handlers.switches.push([name, value]) },
  requestSingleInstanceLock: () => true,
  getPath: () => path.join(os.tmpdir(), 'lamm-fake-electron-user-data'),
  getVersion: () => '0.0.0-fake',
  whenReady: () => Promise.resolve(),
  on: (name, listener) => appEvents.on(name, listener),
  quit() {
    const event = {
      defaultPrevented: false,
      preventDefault() {
        this.defaultPrevented = true;
      },
    };
    appEvents.emit('before-quit', event);
    if (!event.defaultPrevented) setImmediate(() => process.exit(0));
  },
};

export const protocol = {
  registerSchemesAsPrivileged: (schemes) => (handlers.privileged = schemes.map((s) => s.scheme)),
  handle: (scheme, handler) => handlers.protocol.set(scheme, handler),
};

export const session = {
  defaultSession: { setPermissionRequestHandler() {}, setPermissionCheckHandler() {}, setDevicePermissionHandler() {} },
};

export const ipcMain = { handle: (channel, handler) => handlers.ipc.set(channel, handler) };
export const dialog = { showErrorBox: (title, text) => handlers.errorBoxes.push(`${title}: ${text}`) };
export const shell = { openExternal: async () => {} };
export const Menu = { buildFromTemplate: (t) => t, setApplicationMenu: (m) => (handlers.menu = m) };
export class MessageChannelMain {}

let nextId = 1;
export class BrowserWindow extends EventEmitter {
  static getAllWindows = () => handlers.windows;
  constructor(options) {
    super();
    this.options = options;
    const id = nextId++;
    this.webContents = Object.assign(new EventEmitter(), {
      id,
      mainFrame: { processId: 1, routingId: id, parent: null, url: '' },
      setWindowOpenHandler: (h) => (this.openHandler = h),
      send: () => {},
    });
    handlers.windows.push(this);
  }
  isDestroyed = () => false;
  show() {}
  async loadURL(url) {
    this.webContents.mainFrame.url = url;
    setImmediate(() => drive(this, url).catch((err) => report({ driverError: String(err?.stack ?? err) })));
  }
}

function report(r) {
  process.stdout.write(`FAKE_ELECTRON_REPORT ${JSON.stringify(r)}\n`);
}

async function drive(win, url) {
  const appHandler = handlers.protocol.get('app');
  const page = await appHandler(new Request(url));
  const html = await page.text();
  const traversal = await appHandler(new Request('app://lamm/..%2F..%2Fpackage.json'));
  const call = handlers.ipc.get('lamm:call') ?? [...handlers.ipc.values()][0];
  const fromWindow = { sender: win.webContents, senderFrame: win.webContents.mainFrame };
  const stranger = { sender: { id: 999 }, senderFrame: { processId: 9, routingId: 9, parent: null, url: 'https://example.com/' } };
  // With --demo: wait for the demo project, as the window's Projects page does.
  let demo = null;
  if (process.argv.includes('--demo')) {
    for (let tries = 0; tries < 600; tries++) {
      const jobs = (await call(fromWindow, 'listJobs', undefined)).result ?? [];
      const job = jobs.find((j) => j.kind === 'demo');
      if (job && job.status !== 'running') {
        const images = await call(fromWindow, 'listImages', undefined);
        const models = await call(fromWindow, 'listModels', undefined);
        demo = { status: job.status, images: images.result?.length ?? images.error, models: models.result?.length ?? models.error };
        break;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  report({
    demo,
    channels: [...handlers.ipc.keys()],
    schemes: [...handlers.protocol.keys()],
    privileged: handlers.privileged,
    switches: handlers.switches,
    errorBoxes: handlers.errorBoxes,
    window: { url, preload: win.options.webPreferences.preload, sandbox: win.options.webPreferences.sandbox },
    page: { status: page.status, csp: page.headers.get('content-security-policy'), hasRoot: html.includes('id="root"') },
    traversal: traversal.status,
    listJobs: (await call(fromWindow, 'listJobs', undefined)).ok,
    badParams: await call(fromWindow, 'openProject', 5),
    stranger: await call(stranger, 'listJobs', undefined),
    menu: Array.isArray(handlers.menu),
  });
  app.quit();
}
