// Image decoding and CLIPImageProcessor steps on tiny generated images. Expected resamples
// come from Pillow 9.4 (`Image.resize(size, Image.BICUBIC)`) and expected normalised values
// from numpy float32, run once on the same formulas; the engine must match them bit for bit.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { augmentedView, flipHorizontal, randomResizedCropBox } from '../../src-main/clip/augment';
import { CLIP_MEAN, CLIP_STD, type PreprocessConfig } from '../../src-main/clip/config';
import {
  centerCrop,
  decodeImage,
  preprocessImage,
  preprocessRgb,
  resizeBicubic,
  shortestEdgeSize,
  toPixelValues,
  type RgbImage,
} from '../../src-main/clip/preprocess';
import { mulberry32 } from '../../src-main/clip/random';

/** The values in tiny-random-clip's preprocessor_config.json (float32 mean/std as stored). */
const MEAN_F32: [number, number, number] = [0.48145467042922974, 0.45782750844955444, 0.40821072459220886];
const STD_F32: [number, number, number] = [0.2686295509338379, 0.2613025903701782, 0.27577710151672363];
const cfg = (size: number, crop = size): PreprocessConfig => ({
  doResize: true,
  shortestEdge: size,
  doCenterCrop: true,
  cropHeight: crop,
  cropWidth: crop,
  doRescale: true,
  rescaleFactor: 1 / 255,
  doNormalize: true,
  mean: MEAN_F32,
  std: STD_F32,
});

/** A deterministic test pattern (the same formula produced the Pillow fixtures). */
function pattern(width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) data[(y * width + x) * 3 + c] = (x * 37 + y * 91 + c * 53 + ((x * y * 7) % 31)) % 256;
    }
  }
  return { data, width, height };
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lamm-pre-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const tmpFile = (name: string, bytes: Buffer | string): string => {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, bytes);
  return file;
};

describe('PIL bicubic resampling', () => {
  it('matches a hand-computed 4→2 downscale', () => {
    // Scale 2 widens the cubic (a = −0.5) to support 4. Output 0 is centred at input 1: taps on
    // inputs 0..3 at distances 0.25, 0.25, 0.75, 1.25 (halved) weigh 0.8672, 0.8672, 0.2266,
    // −0.0703, normalised by their sum 1.8906: 0·0.4587 + 100·0.4587 + 200·0.1198 − 255·0.0372
    // = 60.35 → 60. Output 1 mirrors it: 100·0.1198 + 200·0.4587 + 255·0.4587 − 0 = 220.7 → 221.
    const row = { data: Uint8Array.from([0, 0, 0, 100, 100, 100, 200, 200, 200, 255, 255, 255]), width: 4, height: 1 };
    expect([...resizeBicubic(row, 2, 1).data]).toEqual([60, 60, 60, 221, 221, 221]);
  });

  it('matches Pillow downscaling 13×11 → 5×4', () => {
    const pil = [
      105, 130, 141, 112, 129, 148, 121, 131, 115, 114, 130, 106, 110, 135, 115, 134, 128, 118, 126, 117, 142, 143, 129, 128, 133, 137, 104, 127, 126, 128, 125,
      125, 130, 110, 132, 157, 129, 121, 148, 121, 119, 127, 125, 110, 132, 121, 133, 142, 117, 107, 127, 130, 111, 141, 122, 135, 127, 135, 114, 124,
    ];
    const out = resizeBicubic(pattern(13, 11), 5, 4);
    expect([out.width, out.height]).toEqual([5, 4]);
    expect([...out.data]).toEqual(pil);
  });

  it('matches Pillow upscaling 4×3 → 7×5 (overshoot clipped to 0..255)', () => {
    const pil = [
      0, 43, 96, 3, 56, 108, 27, 80, 132, 48, 100, 164, 69, 123, 195, 93, 159, 219, 106, 179, 231, 27, 77, 142, 38, 95, 160, 64, 128, 185, 93, 158, 154, 121,
      169, 122, 148, 130, 148, 161, 105, 166, 88, 141, 194, 103, 156, 218, 132, 185, 246, 157, 226, 135, 182, 224, 24, 211, 86, 52, 226, 3, 76, 150, 216, 90,
      173, 170, 110, 205, 94, 142, 145, 111, 118, 83, 137, 90, 101, 90, 109, 117, 61, 121, 185, 255, 15, 213, 172, 32, 245, 27, 66, 130, 27, 108, 11, 72, 144,
      21, 98, 157, 37, 111, 162,
    ];
    expect([...resizeBicubic(pattern(4, 3), 7, 5).data]).toEqual(pil);
  });

  it('is the identity at the same size and rejects empty targets', () => {
    const img = pattern(6, 5);
    expect(resizeBicubic(img, 6, 5).data).toEqual(img.data);
    expect(() => resizeBicubic(img, 0, 5)).toThrow(/positive integers/);
  });
});

describe('CLIPImageProcessor geometry', () => {
  it('sizes the shortest edge like HF (long side truncated)', () => {
    expect(shortestEdgeSize(50, 40, 32)).toEqual({ width: 40, height: 32 });
    expect(shortestEdgeSize(40, 70, 32)).toEqual({ width: 32, height: 56 });
    expect(shortestEdgeSize(97, 97, 32)).toEqual({ width: 32, height: 32 });
    expect(shortestEdgeSize(3, 1000, 224)).toEqual({ width: 224, height: 74666 });
    expect(shortestEdgeSize(641, 480, 224)).toEqual({ width: 299, height: 224 }); // 299.13 → 299
  });

  it('centre-crops at floor((size − crop) / 2)', () => {
    const img = pattern(5, 5);
    const crop = centerCrop(img, 2, 2);
    const at = (im: RgbImage, x: number, y: number) => [...im.data.subarray((y * im.width + x) * 3, (y * im.width + x) * 3 + 3)];
    expect(at(crop, 0, 0)).toEqual(at(img, 1, 1));
    expect(at(crop, 1, 1)).toEqual(at(img, 2, 2));
  });

  it('pads an image smaller than the crop with black, centred like HF', () => {
    const img = pattern(2, 2);
    const at = (im: RgbImage, x: number, y: number) => [...im.data.subarray((y * im.width + x) * 3, (y * im.width + x) * 3 + 3)];
    const out = centerCrop(img, 4, 3); // pad 1 left, 1 top (ceil of half the shortfall)
    expect([out.width, out.height]).toEqual([4, 3]);
    for (let x = 0; x < 4; x++) expect(at(out, x, 0)).toEqual([0, 0, 0]);
    expect(at(out, 0, 1)).toEqual([0, 0, 0]);
    expect(at(out, 1, 1)).toEqual(at(img, 0, 0));
    expect(at(out, 2, 2)).toEqual(at(img, 1, 1));
    expect(at(out, 3, 2)).toEqual([0, 0, 0]);
    // Wider than the crop but too short: crop horizontally, pad vertically.
    const wide = pattern(6, 2);
    const mixed = centerCrop(wide, 4, 4);
    expect(at(mixed, 0, 0)).toEqual([0, 0, 0]);
    expect(at(mixed, 0, 1)).toEqual(at(wide, 1, 0));
    expect(at(mixed, 3, 2)).toEqual(at(wide, 4, 1));
    expect(at(mixed, 3, 3)).toEqual([0, 0, 0]);
  });
});

describe('rescale and normalise', () => {
  it('matches numpy float32 arithmetic exactly', () => {
    // numpy: ((v.astype(float64) * (1/255)).astype(float32) - mean32) / std32, for v = 0, 1, 128, 255.
    const numpy = [
      -1.7922625541687012, -1.7520971298217773, -1.480219841003418, -1.777664065361023, -1.7370892763137817, -1.465999722480774, 0.07633614540100098,
      0.16889731585979462, 0.33994877338409424, 1.9303361177444458, 2.0748836994171143, 2.1458969116210938,
    ];
    const img = { data: Uint8Array.from([0, 0, 0, 1, 1, 1, 128, 128, 128, 255, 255, 255]), width: 4, height: 1 };
    expect([...toPixelValues(img, cfg(1))]).toEqual(numpy);
  });

  it('skips steps that are switched off', () => {
    const img = { data: Uint8Array.from([0, 51, 255]), width: 1, height: 1 };
    expect([...toPixelValues(img, { ...cfg(1), doNormalize: false })]).toEqual([0, Math.fround(0.2), 1]);
    expect([...toPixelValues(img, { ...cfg(1), doRescale: false, doNormalize: false })]).toEqual([0, 51, 255]);
    const out = toPixelValues(img, { ...cfg(1), mean: CLIP_MEAN, std: CLIP_STD });
    expect(out[2]).toBeCloseTo((1 - CLIP_MEAN[2]) / CLIP_STD[2], 5);
  });
});

describe('preprocessRgb / preprocessImage', () => {
  it('gives HWC float32 at the crop size', () => {
    for (const [w, h] of [
      [50, 40],
      [40, 70],
      [7, 5],
      [32, 32],
    ]) {
      expect(preprocessRgb(pattern(w, h), cfg(32))).toHaveLength(32 * 32 * 3);
    }
    expect(preprocessRgb(pattern(50, 40), cfg(24, 16))).toHaveLength(16 * 16 * 3);
  });

  it('leaves an image already at the model size unresized', () => {
    const img = pattern(32, 32);
    expect(preprocessRgb(img, cfg(32))).toEqual(toPixelValues(img, cfg(32)));
  });

  it('equals resize → crop → normalise done by hand', () => {
    const img = pattern(50, 40);
    const manual = toPixelValues(centerCrop(resizeBicubic(img, 40, 32), 32, 32), cfg(32));
    expect(preprocessRgb(img, cfg(32))).toEqual(manual);
  });

  it('refuses a result that is not the crop size', () => {
    expect(() => preprocessRgb(pattern(50, 40), { ...cfg(32), doCenterCrop: false })).toThrow(/40×32 pixels, the model expects 32×32/);
  });

  it('reads a file and a buffer the same way', async () => {
    const img = pattern(20, 12);
    const png = await sharp(Buffer.from(img.data), { raw: { width: 20, height: 12, channels: 3 } })
      .png()
      .toBuffer();
    const file = tmpFile('p.png', png);
    const fromFile = await preprocessImage(file, cfg(8));
    expect(await preprocessImage(png, cfg(8))).toEqual(fromFile);
    expect(fromFile).toEqual(preprocessRgb(img, cfg(8)));
  });
});

describe('decodeImage', () => {
  const img = pattern(6, 4);
  const raw = { raw: { width: 6, height: 4, channels: 3 as const } };

  it('decodes lossless PNG, WebP, TIFF and GIF to the same RGB', async () => {
    const encoded = {
      png: await sharp(Buffer.from(img.data), raw).png().toBuffer(),
      webp: await sharp(Buffer.from(img.data), raw).webp({ lossless: true }).toBuffer(),
      tiff: await sharp(Buffer.from(img.data), raw).tiff({ compression: 'lzw' }).toBuffer(),
    };
    for (const [format, bytes] of Object.entries(encoded)) {
      const out = await decodeImage(bytes);
      expect([out.width, out.height], format).toEqual([6, 4]);
      expect(Buffer.from(out.data).equals(Buffer.from(img.data)), format).toBe(true);
    }
    // GIF is palette-based: two colours survive exactly.
    const twoColour = Uint8Array.from({ length: 24 * 3 }, (_, i) => (Math.floor(i / 3) % 2 ? [200, 10, 30] : [0, 90, 255])[i % 3]);
    const gif = await sharp(Buffer.from(twoColour), raw).gif().toBuffer();
    expect(Buffer.from((await decodeImage(gif)).data).equals(Buffer.from(twoColour))).toBe(true);
  });

  it('decodes JPEG to about the same pixels', async () => {
    const flat = new Uint8Array(6 * 4 * 3).fill(120);
    const jpeg = await sharp(Buffer.from(flat), raw).jpeg({ quality: 95 }).toBuffer();
    const out = await decodeImage(jpeg);
    expect(Math.max(...[...out.data].map((v) => Math.abs(v - 120)))).toBeLessThanOrEqual(2);
  });

  it('drops alpha without compositing and replicates grey', async () => {
    const rgba = await sharp(Buffer.from([10, 20, 30, 0, 40, 50, 60, 128]), { raw: { width: 2, height: 1, channels: 4 } })
      .png()
      .toBuffer();
    expect([...(await decodeImage(rgba)).data]).toEqual([10, 20, 30, 40, 50, 60]);
    const grey = await sharp(Buffer.from([0, 77, 255]), { raw: { width: 3, height: 1, channels: 1 } })
      .png()
      .toBuffer();
    expect([...(await decodeImage(grey)).data]).toEqual([0, 0, 0, 77, 77, 77, 255, 255, 255]);
  });

  it("converts CMYK JPEG with PIL's formula, not an ICC profile", async () => {
    // Pillow 9.4 wrote this 8×8 JPEG of inks (C, M, Y, K) = (20, 200, 100, 50) and reads it as RGB (189, 44, 125).
    const cmykJpeg = Buffer.from(
      '/9j/7gAOQWRvYmUAZAAAAAAA/9sAQwACAQEBAQECAQEBAgICAgIEAwICAgIFBAQDBAYFBgYGBQYGBgcJCAYHCQcGBggLCAkKCgoKCgYICwwLCgwJCgoK/8AAFAgACAAIBEMRAE0RAFkRAEsRAP/EAB8AAAEFAQEBAQEBAAAAAAAAAAABAgMEBQYHCAkKC//EALUQAAIBAwMCBAMFBQQEAAABfQECAwAEEQUSITFBBhNRYQcicRQygZGhCCNCscEVUtHwJDNicoIJChYXGBkaJSYnKCkqNDU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6g4SFhoeIiYqSk5SVlpeYmZqio6Slpqeoqaqys7S1tre4ubrCw8TFxsfIycrS09TV1tfY2drh4uPk5ebn6Onq8fLz9PX29/j5+v/aAA4EQwBNAFkASwAAPwD9rK/NuvbK/TSv/9k=',
      'base64',
    );
    const out = await decodeImage(cmykJpeg);
    expect([out.width, out.height]).toEqual([8, 8]);
    for (let p = 0; p < 64; p++) expect([...out.data.subarray(p * 3, p * 3 + 3)]).toEqual([189, 44, 125]);
  });

  it('does not apply EXIF orientation (PIL does not)', async () => {
    const jpeg = await sharp(Buffer.from(img.data), raw).jpeg().withMetadata({ orientation: 6 }).toBuffer();
    expect((await sharp(jpeg).metadata()).orientation).toBe(6);
    const out = await decodeImage(jpeg);
    expect([out.width, out.height]).toEqual([6, 4]);
  });

  it('gives one-line errors naming the file', async () => {
    const cases: [string, RegExp][] = [
      [tmpFile('empty.jpg', Buffer.alloc(0)), /file is empty/],
      [tmpFile('notes.png', 'just some text, not an image'), /unsupported image format/],
      [path.join(tmp, 'missing.png'), /file not found/],
      [tmp, /is a directory/],
    ];
    const png = await sharp(Buffer.from(img.data), raw).png().toBuffer();
    cases.push([tmpFile('truncated.png', png.subarray(0, png.length - 30)), /./]);
    for (const [file, reason] of cases) {
      const error = await decodeImage(file).then(
        () => null,
        (err: Error) => err,
      );
      expect(error?.message, file).toMatch(new RegExp(`^cannot decode image ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `));
      expect(error?.message, file).toMatch(reason);
      expect(error?.message, file).not.toContain('\n');
    }
    await expect(decodeImage(Buffer.from('xx'))).rejects.toThrow(/^cannot decode image \(2-byte buffer\): /);
  });
});

describe('BMP decoding', () => {
  /** Writes an uncompressed BMP with a BITMAPINFOHEADER; `pixel(x, y)` gives the stored bytes. */
  function bmp(
    opts: { width: number; height: number; bpp: number; topDown?: boolean; compression?: number; palette?: number[][]; masks?: number[] },
    pixel: (x: number, y: number) => number[],
  ): Buffer {
    const { width, height, bpp } = opts;
    const stride = Math.floor((bpp * width + 31) / 32) * 4;
    const paletteBytes = (opts.palette?.length ?? 0) * 4;
    const maskBytes = (opts.masks?.length ?? 0) * 4;
    const offset = 14 + 40 + maskBytes + paletteBytes;
    const buf = Buffer.alloc(offset + stride * height);
    buf.write('BM', 0, 'latin1');
    buf.writeUInt32LE(buf.length, 2);
    buf.writeUInt32LE(offset, 10);
    buf.writeUInt32LE(40, 14);
    buf.writeInt32LE(width, 18);
    buf.writeInt32LE(opts.topDown ? -height : height, 22);
    buf.writeUInt16LE(1, 26);
    buf.writeUInt16LE(bpp, 28);
    buf.writeUInt32LE(opts.compression ?? 0, 30);
    buf.writeUInt32LE(opts.palette?.length ?? 0, 46);
    opts.masks?.forEach((m, i) => buf.writeUInt32LE(m, 54 + i * 4));
    opts.palette?.forEach(([r, g, b], i) => buf.set([b, g, r, 0], 54 + maskBytes + i * 4));
    for (let y = 0; y < height; y++) {
      const row = offset + (opts.topDown ? y : height - 1 - y) * stride;
      if (bpp < 8) {
        for (let x = 0; x < width; x++) buf[row + ((x * bpp) >> 3)] |= pixel(x, y)[0] << (8 - bpp - ((x * bpp) & 7));
      } else {
        for (let x = 0; x < width; x++) buf.set(pixel(x, y), row + (x * bpp) / 8);
      }
    }
    return buf;
  }
  const img = pattern(5, 3); // odd width: 24-bit rows carry padding
  const rgbAt = (x: number, y: number) => [...img.data.subarray((y * 5 + x) * 3, (y * 5 + x) * 3 + 3)];

  it('reads 24-bit bottom-up and 32-bit top-down', async () => {
    const bgr = (x: number, y: number) => rgbAt(x, y).reverse();
    const b24 = await decodeImage(tmpFile('a.bmp', bmp({ width: 5, height: 3, bpp: 24 }, bgr)));
    expect([b24.width, b24.height]).toEqual([5, 3]);
    expect(b24.data).toEqual(img.data);
    const b32 = await decodeImage(bmp({ width: 5, height: 3, bpp: 32, topDown: true }, (x, y) => [...bgr(x, y), 255]));
    expect(b32.data).toEqual(img.data);
  });

  it('reads 32-bit BI_BITFIELDS with RGBA byte order', async () => {
    const masks = [0xff, 0xff00, 0xff0000]; // R in byte 0, G in byte 1, B in byte 2
    const out = await decodeImage(bmp({ width: 5, height: 3, bpp: 32, compression: 3, masks }, (x, y) => [...rgbAt(x, y), 0]));
    expect(out.data).toEqual(img.data);
  });

  it('reads 8-bit and 1-bit palettes', async () => {
    const palette = [
      [255, 0, 0],
      [0, 255, 0],
      [0, 0, 255],
      [9, 99, 199],
    ];
    const index = (x: number, y: number) => (x + y) % 4;
    const p8 = await decodeImage(bmp({ width: 5, height: 3, bpp: 8, palette }, (x, y) => [index(x, y)]));
    for (let y = 0; y < 3; y++) for (let x = 0; x < 5; x++) expect([...p8.data.subarray((y * 5 + x) * 3, (y * 5 + x) * 3 + 3)]).toEqual(palette[index(x, y)]);
    const p1 = await decodeImage(
      bmp(
        {
          width: 9,
          height: 2,
          bpp: 1,
          palette: [
            [0, 0, 0],
            [255, 255, 255],
          ],
        },
        (x, y) => [(x + y) % 2],
      ),
    );
    expect([...p1.data.subarray(0, 9)]).toEqual([0, 0, 0, 255, 255, 255, 0, 0, 0]);
    expect([...p1.data.subarray(8 * 3, 9 * 3)]).toEqual([0, 0, 0]); // x = 8 sits in the second byte
  });

  it('refuses compressed, truncated and empty BMPs with a reason', async () => {
    const rle = bmp({ width: 2, height: 2, bpp: 8, compression: 1, palette: [[0, 0, 0]] }, () => [0]);
    await expect(decodeImage(rle)).rejects.toThrow(/unsupported BMP compression 1/);
    const whole = bmp({ width: 5, height: 3, bpp: 24 }, () => [1, 2, 3]);
    await expect(decodeImage(whole.subarray(0, whole.length - 4))).rejects.toThrow(/truncated BMP pixel data/);
    await expect(decodeImage(Buffer.from('BM\0\0'))).rejects.toThrow(/truncated BMP header/);
    await expect(decodeImage(bmp({ width: 0, height: 3, bpp: 24 }, () => []))).rejects.toThrow(/no pixels/);
  });
});

describe('augmented views', () => {
  const img = pattern(60, 45);
  const c = cfg(16);

  it('view 0 is the plain preprocessed image', async () => {
    expect(augmentedView(img, c, 7, 0)).toEqual(preprocessRgb(img, c));
    const png = await sharp(Buffer.from(img.data), { raw: { width: 60, height: 45, channels: 3 } })
      .png()
      .toBuffer();
    expect(augmentedView(img, c, 7, 0)).toEqual(await preprocessImage(png, c));
  });

  it('is deterministic per (seed, view) and differs across views and seeds', () => {
    const a = augmentedView(img, c, 7, 3);
    expect(a).toHaveLength(16 * 16 * 3);
    expect(augmentedView(img, c, 7, 3)).toEqual(a);
    expect(augmentedView(img, c, 7, 4)).not.toEqual(a);
    expect(augmentedView(img, c, 8, 3)).not.toEqual(a);
    expect(() => augmentedView(img, c, 7, -1)).toThrow(/non-negative/);
  });

  it('draws crops inside the image with the configured scale and ratio', () => {
    const random = mulberry32(1);
    for (let i = 0; i < 500; i++) {
      const box = randomResizedCropBox(200, 150, random);
      expect(box.left >= 0 && box.top >= 0 && box.left + box.width <= 200 && box.top + box.height <= 150).toBe(true);
      const area = (box.width * box.height) / (200 * 150);
      expect(area).toBeGreaterThan(0.07); // 0.08 less rounding of both sides
      expect(area).toBeLessThanOrEqual(1);
      const ratio = box.width / box.height;
      expect(ratio).toBeGreaterThan(0.7);
      expect(ratio).toBeLessThan(1.45);
    }
  });

  it('falls back to a centred crop when no attempt fits', () => {
    // A 1000×1 strip: every attempt is taller than one row, so torchvision's fallback takes the
    // centred 1×1 square (width capped at height·4/3, rounded).
    expect(randomResizedCropBox(1000, 1, mulberry32(3))).toEqual({ left: 499, top: 0, width: 1, height: 1 });
  });

  it('flips horizontally', () => {
    const row = { data: Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]), width: 3, height: 1 };
    expect([...flipHorizontal(row).data]).toEqual([7, 8, 9, 4, 5, 6, 1, 2, 3]);
    expect(flipHorizontal(flipHorizontal(img)).data).toEqual(img.data);
  });
});
