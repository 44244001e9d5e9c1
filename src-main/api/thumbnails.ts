// Thumbnails for both hosts: HTTP (/thumb/<id>) and Electron's lamm-thumb:// protocol. The
// engine says where an image's thumbnail is; this refuses anything outside the project's folders.
import { promises as fs } from 'node:fs';
import { mimeType, parseThumbId, resolveInside } from './file-guard';

export interface ThumbnailSource {
  /** Where the engine keeps this image's thumbnail (unchecked), or null. */
  thumbnailCandidate(imageId: number): Promise<string | null>;
  /** Folders files may be served from: the open project's. */
  allowedRoots(): string[];
}

/** The checked thumbnail path, or null when there is none or it lies outside the project. */
export async function resolveThumbnail(source: ThumbnailSource, imageId: number): Promise<string | null> {
  const candidate = await source.thumbnailCandidate(imageId);
  return candidate ? resolveInside(source.allowedRoots(), candidate) : null;
}

/** The lamm-thumb:// handler (protocol.handle): lamm-thumb://image/<id> → the image bytes. */
export function thumbnailProtocolHandler(source: ThumbnailSource): (request: Request) => Promise<Response> {
  return async (request) => {
    let id: number | null = null;
    try {
      const url = new URL(request.url);
      id = parseThumbId(`${url.host}${url.pathname}`);
    } catch {
      id = null;
    }
    if (id === null) return new Response('bad thumbnail URL', { status: 400 });
    const file = await resolveThumbnail(source, id);
    if (!file) return new Response('no such thumbnail', { status: 404 });
    const bytes = await fs.readFile(file);
    return new Response(new Uint8Array(bytes), { status: 200, headers: { 'Content-Type': mimeType(file), 'Cache-Control': 'private, max-age=3600' } });
  };
}
