// Where the app keeps state that belongs to no project (recent projects, downloaded models),
// and where the built renderer lies. One place, so the server, Electron and tests agree.
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository / app root: two levels above this file in the sources (src-main/api). */
export const APP_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The renderer as `electron-vite build` writes it. */
export const RENDERER_DIR = path.join(APP_ROOT, 'out', 'renderer');

/** Per-user state folder; LAMM_STATE_DIR overrides it (tests, portable installs). */
export function defaultStateDir(): string {
  if (process.env.LAMM_STATE_DIR) return path.resolve(process.env.LAMM_STATE_DIR);
  const home = os.homedir();
  if (process.platform === 'win32') return path.join(process.env.APPDATA ?? path.join(home, 'AppData', 'Roaming'), 'LAMM Studio');
  if (process.platform === 'darwin') return path.join(home, 'Library', 'Application Support', 'LAMM Studio');
  return path.join(process.env.XDG_CONFIG_HOME ?? path.join(home, '.config'), 'lamm-studio');
}
