// Files the front ends may read (thumbnails over HTTP or lamm-thumb://) must lie inside the
// open project's folders. Checked on real paths, so neither `..` nor a symlink leads out.
import { realpathSync } from 'node:fs';
import path from 'node:path';

/** The real path of `candidate` when it exists inside one of `roots`, else null. */
export function resolveInside(roots: readonly string[], candidate: string): string | null {
  const real = realOrNull(candidate);
  if (!real) return null;
  for (const root of roots) {
    const realRoot = realOrNull(root);
    if (!realRoot) continue;
    const rel = path.relative(realRoot, real);
    if (rel !== '' && !rel.startsWith(`..${path.sep}`) && rel !== '..' && !path.isAbsolute(rel)) return real;
  }
  return null;
}

function realOrNull(p: string): string | null {
  try {
    return realpathSync(path.resolve(p));
  } catch {
    return null;
  }
}

/** `/thumb/12` (HTTP) or `lamm-thumb://image/12` (Electron) → 12; anything else → null. */
export function parseThumbId(pathname: string): number | null {
  const m = /^\/?(?:thumb|image)\/(\d{1,12})\/?$/.exec(pathname);
  if (!m) return null;
  const id = Number(m[1]);
  return Number.isSafeInteger(id) && id > 0 ? id : null;
}

const MIME: Record<string, string> = {
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.png': 'image/png',
  '.webp': 'image/webp',
  '.gif': 'image/gif',
  '.bmp': 'image/bmp',
  '.tif': 'image/tiff',
  '.tiff': 'image/tiff',
  '.svg': 'image/svg+xml',
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  '.ico': 'image/x-icon',
};

export function mimeType(file: string): string {
  return MIME[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
}
