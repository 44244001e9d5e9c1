// Image files as the project sees them: which format a file really is (by its bytes, not its
// name), its size, whether it decodes at all, and its thumbnail. Thumbnails are small WebP
// files keyed by content hash in a folder beside the project file, so duplicates share one,
// moves never invalidate them, and a crashed run leaves only whole files behind.
import fs from 'node:fs';
import path from 'node:path';
import sharp, { type Sharp } from 'sharp';
import { DECODE_PIXEL_BUDGET, decodeImage, MAX_PIXELS, withDecodeSlot } from '../clip/preprocess';
import type { JobContext } from '../jobs/context';
import { ownedTempPath } from './owner';
import { forEachLimited, FILE_CONCURRENCY } from './pool';
import type { ProjectStore } from './store';
import { firstLine } from '../errors';

export const THUMBNAIL_EDGE = 160;
const THUMBNAIL_QUALITY = 80;
export const IMAGE_FORMATS = ['jpeg', 'png', 'webp', 'gif', 'tiff', 'bmp'] as const;
export type ImageFormat = (typeof IMAGE_FORMATS)[number];

export interface ImageHeader {
  format: ImageFormat;
  width: number;
  height: number;
}

/** The format from the file's first bytes, or null when it is none we read. */
export function sniffFormat(buf: Buffer): ImageFormat | null {
  if (buf.length >= 3 && buf[0] === 0xff && buf[1] === 0xd8 && buf[2] === 0xff) return 'jpeg';
  if (buf.length >= 8 && buf.readUInt32BE(0) === 0x89504e47 && buf.readUInt32BE(4) === 0x0d0a1a0a) return 'png';
  if (buf.length >= 6 && buf.toString('latin1', 0, 4) === 'GIF8') return 'gif';
  if (buf.length >= 12 && buf.toString('latin1', 0, 4) === 'RIFF' && buf.toString('latin1', 8, 12) === 'WEBP') return 'webp';
  if (buf.length >= 4 && (buf.readUInt32BE(0) === 0x49492a00 || buf.readUInt32BE(0) === 0x4d4d002a)) return 'tiff';
  if (buf.length >= 26 && buf.toString('latin1', 0, 2) === 'BM') return 'bmp';
  return null;
}

/** Why a file is not an importable image, as one line; null when its header looks fine. */
function headerProblem(buf: Buffer): string | null {
  if (buf.length === 0) return 'empty file';
  if (sniffFormat(buf) === null) return 'not an image (unknown or unsupported format)';
  return null;
}

/**
 * Decodes the whole image (a truncated or corrupt file fails here, at import, not in the
 * middle of training) and renders its thumbnail. Throws a one-line reason. Decoding is as
 * strict as the feature path's (clip/preprocess.ts), so what imports also embeds.
 */
export async function decodeAndThumbnail(buf: Buffer): Promise<ImageHeader & { thumbnail: Buffer }> {
  const header = await readHeader(buf);
  try {
    // libvips has no BMP loader: those go through our own decoder as raw pixels.
    // Otherwise libvips streams the file through the shrink (sequential read): a huge image's
    // full raster never exists, and the large-decode slots bound how many run at once.
    const thumbnail =
      header.format === 'bmp'
        ? await decodeImage(buf).then((img) => toThumbnail(sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })))
        : await withDecodeSlot(Math.min(header.width * header.height, DECODE_PIXEL_BUDGET), () =>
            // thumbnails are for people: honour EXIF orientation
            toThumbnail(sharp(buf, { limitInputPixels: MAX_PIXELS, sequentialRead: true }).rotate()),
          );
    return { ...header, thumbnail };
  } catch (err) {
    throw new Error(`corrupt ${header.format}: ${decodeReason(err)}`);
  }
}

function toThumbnail(pipeline: Sharp): Promise<Buffer> {
  return pipeline.resize(THUMBNAIL_EDGE, THUMBNAIL_EDGE, { fit: 'inside', withoutEnlargement: true }).webp({ quality: THUMBNAIL_QUALITY }).toBuffer();
}

/** Format and pixel size from the header alone (for content already decoded once). Throws a one-line reason. */
export async function readHeader(buf: Buffer): Promise<ImageHeader> {
  const problem = headerProblem(buf);
  if (problem) throw new Error(problem);
  const format = sniffFormat(buf)!;
  try {
    if (format === 'bmp') {
      const { width, height } = await decodeImage(buf);
      return { format, width, height };
    }
    const meta = await sharp(buf, { limitInputPixels: MAX_PIXELS }).metadata();
    if (!meta.width || !meta.height) throw new Error('no pixel size in the header');
    return { format, width: meta.width, height: meta.height };
  } catch (err) {
    throw new Error(`corrupt ${format}: ${decodeReason(err)}`);
  }
}

/** The decoder's own words, without decodeImage's "cannot decode image …:" preface. */
function decodeReason(err: unknown): string {
  return firstLine(err).replace(/^cannot decode image \([^)]*\): /, '');
}

/** Where the thumbnail of content `sha256` lives (two-level fan-out keeps folders small). */
export function thumbnailFile(dir: string, sha256: string): string {
  return path.join(dir, sha256.slice(0, 2), `${sha256}.webp`);
}

/** Writes a thumbnail atomically: a killed process leaves a whole file or none (plus a stray temp). */
export async function saveThumbnail(dir: string, sha256: string, data: Buffer): Promise<void> {
  const file = thumbnailFile(dir, sha256);
  await fs.promises.mkdir(path.dirname(file), { recursive: true });
  // Unique per write (two duplicates of one image may be saved at the same moment), and tagged
  // with this process, so the next open can sweep what a killed import left (store.ts).
  const temp = ownedTempPath(file);
  await fs.promises.writeFile(temp, data);
  await fs.promises.rename(temp, file);
}

export interface ThumbnailSummary {
  made: number;
  existing: number;
  failed: { imageId: number; path: string; reason: string }[];
}

/**
 * Makes the thumbnails a dataset lacks (after the cache folder was cleared, or for projects
 * imported without them). Resumable: existing files are kept; cancellable between images.
 */
export async function ensureThumbnails(store: ProjectStore, datasetId: number, ctx?: JobContext): Promise<ThumbnailSummary> {
  const dir = store.thumbnailDir;
  if (!dir) throw new Error('an in-memory project has no thumbnail folder');
  const images = store.listImages(datasetId, { includeExcluded: true });
  const summary: ThumbnailSummary = { made: 0, existing: 0, failed: [] };
  let done = 0;
  const release = store.holdImportLease(); // the next open sweeps our temp files if we are killed
  try {
    await forEachLimited(images, FILE_CONCURRENCY, ctx, async (image) => {
      if (fs.existsSync(thumbnailFile(dir, image.sha256))) {
        summary.existing++;
      } else {
        try {
          const { thumbnail } = await decodeAndThumbnail(await fs.promises.readFile(store.imageFile(image)));
          await saveThumbnail(dir, image.sha256, thumbnail);
          summary.made++;
        } catch (err) {
          summary.failed.push({ imageId: image.id, path: image.path, reason: firstLine(err) });
        }
      }
      ctx?.progress({ stage: 'thumbnails', done: ++done, total: images.length });
    });
  } finally {
    release();
  }
  return summary;
}
