// Generated image folders for the data tests: every test writes its own tiny images, so
// nothing depends on files outside the repository.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterEach } from 'vitest';
import { mulberry32 } from '../../src-main/clip/random';
import { ProjectStore } from '../../src-main/data/store';

export type FixtureFormat = 'jpeg' | 'png' | 'webp' | 'gif' | 'tiff' | 'bmp';

export function tempDir(prefix = 'lamm-data-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/**
 * ProjectStore.open for one test file, closing every store it opened after each test. Call it at
 * the file's top level: it registers that afterEach.
 */
export function storesClosedAfterEach(): (file: string) => ProjectStore {
  const stores: ProjectStore[] = [];
  afterEach(() => {
    while (stores.length) stores.pop()!.close();
  });
  return (file) => {
    const store = ProjectStore.open(file);
    stores.push(store);
    return store;
  };
}

/** Deterministic RGB pixels: a base colour plus seeded blocks, so different seeds give different images. */
export function pixels(seed: number, width = 40, height = 32): Buffer {
  const rand = mulberry32(seed);
  const base = [rand() * 255, rand() * 255, rand() * 255];
  const out = Buffer.alloc(width * height * 3);
  const block = 8;
  for (let by = 0; by < height; by += block) {
    for (let bx = 0; bx < width; bx += block) {
      const shade = [rand() * 80 - 40, rand() * 80 - 40, rand() * 80 - 40];
      for (let y = by; y < Math.min(by + block, height); y++) {
        for (let x = bx; x < Math.min(bx + block, width); x++) {
          for (let c = 0; c < 3; c++) out[(y * width + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(base[c] + shade[c])));
        }
      }
    }
  }
  return out;
}

/** Encodes an image of `seed` in `format` (BMP by hand: sharp cannot write it). */
export async function encodeImage(seed: number, format: FixtureFormat, width = 40, height = 32): Promise<Buffer> {
  const raw = pixels(seed, width, height);
  if (format === 'bmp') return encodeBmp(raw, width, height);
  return sharp(raw, { raw: { width, height, channels: 3 } })
    .toFormat(format)
    .toBuffer();
}

export async function writeImage(file: string, seed: number, format: FixtureFormat = 'png', width = 40, height = 32): Promise<Buffer> {
  const buf = await encodeImage(seed, format, width, height);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, buf);
  return buf;
}

/** 24-bit bottom-up BMP. */
export function encodeBmp(rgb: Buffer, width: number, height: number): Buffer {
  const rowSize = Math.ceil((width * 3) / 4) * 4;
  const dataSize = rowSize * height;
  const buf = Buffer.alloc(54 + dataSize);
  buf.write('BM', 0, 'latin1');
  buf.writeUInt32LE(54 + dataSize, 2);
  buf.writeUInt32LE(54, 10);
  buf.writeUInt32LE(40, 14);
  buf.writeInt32LE(width, 18);
  buf.writeInt32LE(height, 22);
  buf.writeUInt16LE(1, 26);
  buf.writeUInt16LE(24, 28);
  buf.writeUInt32LE(dataSize, 34);
  for (let y = 0; y < height; y++) {
    const row = 54 + (height - 1 - y) * rowSize;
    for (let x = 0; x < width; x++) {
      const s = (y * width + x) * 3;
      buf[row + x * 3] = rgb[s + 2];
      buf[row + x * 3 + 1] = rgb[s + 1];
      buf[row + x * 3 + 2] = rgb[s];
    }
  }
  return buf;
}

/** A flat `DATA/<class>/*` folder with `perClass` distinct PNGs in each class. */
export async function makeClassFolder(root: string, classes: Record<string, number>, seedBase = 1): Promise<void> {
  let seed = seedBase;
  for (const [name, count] of Object.entries(classes)) {
    for (let i = 0; i < count; i++) await writeImage(path.join(root, name, `img_${String(i).padStart(3, '0')}.png`), seed++);
  }
}
