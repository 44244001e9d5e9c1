// CLIPImageProcessor, reproduced exactly: RGB → resize the shortest edge (PIL bicubic) →
// centre crop (zero padding when too small) → rescale → normalise, in float32 like numpy.
// sharp only decodes; every pixel operation is here, so results do not depend on libvips.
import fs from 'node:fs';
import sharp, { type Metadata } from 'sharp';
import type { PreprocessConfig } from './config';
import { firstLine } from '../errors';

/** 8-bit RGB, row-major HWC. */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/** Larger images are refused rather than exhausting memory (about 16k × 16k). */
export const MAX_PIXELS = 268_402_689;

/**
 * The most pixels a decode holds (25 MP: 75 MiB as RGB, 100 MiB for a grey image widened to
 * RGB). Images within it decode whole, so preprocessing stays bit-exact to HF's; larger ones
 * are shrunk by libvips while it reads them (line by line: the full raster never exists) to
 * fit it, before the exact resize. A 24 MP camera photo is within it.
 */
export const DECODE_PIXEL_BUDGET = 25_000_000;

/** Decodes of more pixels than this wait for one of a few slots, so parallel file work cannot stack them up. */
const LARGE_DECODE_PIXELS = 4_000_000;
const LARGE_DECODE_SLOTS = 2;
let largeDecodes = 0;
const waitingForSlot: (() => void)[] = [];

/** Runs `work` (which holds about `pixels` pixels) in a large-decode slot when it is large. */
export async function withDecodeSlot<T>(pixels: number, work: () => Promise<T>): Promise<T> {
  if (pixels <= LARGE_DECODE_PIXELS) return work();
  while (largeDecodes >= LARGE_DECODE_SLOTS) await new Promise<void>((resolve) => waitingForSlot.push(resolve));
  largeDecodes++;
  try {
    return await work();
  } finally {
    largeDecodes--;
    waitingForSlot.shift()?.();
  }
}

/** How much larger than the model's input a shrunk image stays: random crops of 8% of its area still have the model's resolution. */
const PRESHRINK_FACTOR = 4;

export interface DecodeOptions {
  /**
   * When the image is over the budget anyway, shrink it further, to this short side (but
   * never under it): a few times the model's input is all preprocessing needs (preshrinkEdge).
   */
  shortEdge?: number;
}

/** The short side to give `decodeImage` for a model's preprocessing. */
export function preshrinkEdge(cfg: PreprocessConfig): number {
  return PRESHRINK_FACTOR * Math.max(cfg.shortestEdge, cfg.cropWidth, cfg.cropHeight, cfg.exactSize?.width ?? 0, cfg.exactSize?.height ?? 0);
}

/** The size a `width`×`height` image is decoded at: itself within the budget, else shrunk to fit it (see DecodeOptions). */
export function decodeSize(width: number, height: number, opts: DecodeOptions = {}): { width: number; height: number; shrunk: boolean } {
  if (width * height <= DECODE_PIXEL_BUDGET) return { width, height, shrunk: false };
  const scale = Math.min(Math.sqrt(DECODE_PIXEL_BUDGET / (width * height)), opts.shortEdge ? opts.shortEdge / Math.min(width, height) : Infinity);
  const side = (n: number) => Math.max(1, Math.floor(n * scale + 1e-6)); // floor: never over the budget
  return { width: side(width), height: side(height), shrunk: true };
}

// ---------------------------------------------------------------- decoding

/**
 * Decodes JPEG, PNG, WebP, GIF (first frame), TIFF (first page) or BMP to 8-bit RGB the way
 * PIL's `Image.open(...).convert('RGB')` does: alpha dropped without compositing, EXIF
 * orientation not applied, embedded ICC profiles ignored, CMYK converted with PIL's formula.
 */
export async function decodeImage(input: string | Buffer, opts: DecodeOptions = {}): Promise<RgbImage> {
  return withDecodedImage(input, (img) => img, opts);
}

/**
 * Decodes `input` and runs `use` on the pixels while still holding the decode's slot (see
 * withDecodeSlot), so a large raster and the work on it count against the cap together.
 */
export async function withDecodedImage<T>(input: string | Buffer, use: (img: RgbImage) => T | Promise<T>, opts: DecodeOptions = {}): Promise<T> {
  const label = typeof input === 'string' ? input : `(${input.length}-byte buffer)`;
  let bytes: Buffer;
  try {
    bytes = typeof input === 'string' ? await readImageFile(input) : input;
    if (bytes.length === 0) throw new Error('file is empty');
  } catch (err) {
    throw decodeError(label, err);
  }
  if (isBmp(bytes)) {
    const img = (() => {
      try {
        return decodeBmp(bytes);
      } catch (err) {
        throw decodeError(label, err);
      }
    })();
    return use(img);
  }
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: MAX_PIXELS }).metadata();
  } catch (err) {
    throw decodeError(label, err);
  }
  const size = decodeSize(meta.width ?? 0, meta.height ?? 0, opts);
  return withDecodeSlot(size.width * size.height, async () => {
    let img: RgbImage;
    try {
      img = await decodeWithSharp(bytes, meta.space === 'cmyk', size);
    } catch (err) {
      throw decodeError(label, err);
    }
    return use(img);
  });
}

function decodeError(label: string, err: unknown): Error {
  const reason = firstLine(err).trim();
  return new Error(`cannot decode image ${label}: ${reason}`);
}

async function readImageFile(file: string): Promise<Buffer> {
  try {
    return await fs.promises.readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new Error('file not found');
    if (code === 'EISDIR') throw new Error('is a directory');
    if (code === 'EACCES') throw new Error('permission denied');
    throw err;
  }
}

async function decodeWithSharp(bytes: Buffer, cmyk: boolean, size: { width: number; height: number; shrunk: boolean }): Promise<RgbImage> {
  // ignoreIcc: PIL hands over the stored values; colour-managing them would shift pixels.
  // Sequential read lets libvips stream the file through the shrink below instead of decoding it whole first.
  let image = sharp(bytes, { ignoreIcc: true, limitInputPixels: MAX_PIXELS, sequentialRead: true });
  if (size.shrunk) image = image.resize(size.width, size.height, { fit: 'fill' });
  if (cmyk) {
    // libvips would convert CMYK through an ICC profile; take the raw inks and convert like PIL.
    const { data, info } = await image.pipelineColourspace('cmyk').toColourspace('cmyk').raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    return cmykToRgb(data, info.width, info.height, info.channels);
  }
  // Dropping alpha in libvips (a plain band copy, as PIL's convert('RGB')) saves a 4-byte-per-pixel copy here.
  const { data, info } = await image.removeAlpha().raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  return toRgb(data, info.width, info.height, info.channels);
}

/** Pillow's cmyk2rgb: each ink scales the remaining (255 − K), with its rounded integer divide by 255. */
function cmykToRgb(src: Uint8Array, width: number, height: number, channels: number): RgbImage {
  const out = new Uint8Array(width * height * 3);
  const mulDiv255 = (a: number, b: number) => {
    const t = a * b + 128;
    return ((t >> 8) + t) >> 8;
  };
  for (let p = 0, s = 0, o = 0; p < width * height; p++, s += channels, o += 3) {
    const remaining = 255 - src[s + 3];
    for (let c = 0; c < 3; c++) out[o + c] = remaining - mulDiv255(src[s + c], remaining);
  }
  return { data: out, width, height };
}

/** Grey → replicated, grey+alpha and RGBA → alpha dropped (PIL's convert('RGB')). */
function toRgb(src: Uint8Array, width: number, height: number, channels: number): RgbImage {
  if (channels === 3) return { data: new Uint8Array(src.buffer, src.byteOffset, width * height * 3), width, height };
  if (channels < 1 || channels > 4) throw new Error(`unsupported channel count ${channels}`);
  const out = new Uint8Array(width * height * 3);
  const grey = channels <= 2;
  for (let p = 0, s = 0, o = 0; p < width * height; p++, s += channels, o += 3) {
    out[o] = src[s];
    out[o + 1] = grey ? src[s] : src[s + 1];
    out[o + 2] = grey ? src[s] : src[s + 2];
  }
  return { data: out, width, height };
}

function isBmp(bytes: Buffer): boolean {
  return bytes.length >= 2 && bytes[0] === 0x42 && bytes[1] === 0x4d; // "BM"
}

/**
 * Uncompressed BMP (libvips, and so sharp, has no BMP loader): 1/4/8-bit palette, 24-bit,
 * 32-bit (BI_RGB, or BI_BITFIELDS with byte-aligned masks). RLE and 16-bit are refused.
 */
function decodeBmp(bytes: Buffer): RgbImage {
  if (bytes.length < 26) throw new Error('truncated BMP header');
  const pixelOffset = bytes.readUInt32LE(10);
  const headerSize = bytes.readUInt32LE(14);
  const core = headerSize === 12; // OS/2 BITMAPCOREHEADER: 16-bit sizes, 3-byte palette entries
  if (!core && headerSize < 40) throw new Error(`unsupported BMP header size ${headerSize}`);
  if (bytes.length < 14 + headerSize) throw new Error('truncated BMP header');
  const width = core ? bytes.readUInt16LE(18) : bytes.readInt32LE(18);
  const rawHeight = core ? bytes.readInt16LE(20) : bytes.readInt32LE(22);
  const bpp = bytes.readUInt16LE(core ? 24 : 28);
  const compression = core ? 0 : bytes.readUInt32LE(30);
  const topDown = rawHeight < 0;
  const height = Math.abs(rawHeight);
  if (width <= 0 || height === 0) throw new Error(`BMP has no pixels (${width}×${rawHeight})`);
  if (width * height > MAX_PIXELS) throw new Error(`BMP is too large (${width}×${height})`);

  // Byte offsets of R, G, B inside a pixel, for the direct-colour formats.
  let channelOffsets = [2, 1, 0];
  if (compression === 3 && bpp === 32) {
    const masks = [bytes.readUInt32LE(54), bytes.readUInt32LE(58), bytes.readUInt32LE(62)];
    channelOffsets = masks.map((mask) => [0xff, 0xff00, 0xff0000, 0xff000000].indexOf(mask));
    if (channelOffsets.includes(-1)) throw new Error('unsupported BMP bit masks');
  } else if (compression !== 0) {
    throw new Error(`unsupported BMP compression ${compression} (only uncompressed BMP is read)`);
  }

  let palette: Uint8Array | null = null;
  if (bpp <= 8) {
    if (![1, 4, 8].includes(bpp)) throw new Error(`unsupported BMP bit depth ${bpp}`);
    const entrySize = core ? 3 : 4;
    const used = core ? 0 : bytes.readUInt32LE(46);
    const count = used || 1 << bpp;
    const start = 14 + headerSize + (compression === 3 ? 12 : 0);
    if (start + count * entrySize > bytes.length) throw new Error('truncated BMP palette');
    palette = new Uint8Array(256 * 3); // indices past the palette read as black
    for (let i = 0; i < Math.min(count, 256); i++) {
      const e = start + i * entrySize;
      palette.set([bytes[e + 2], bytes[e + 1], bytes[e]], i * 3);
    }
  } else if (bpp !== 24 && bpp !== 32) {
    throw new Error(`unsupported BMP bit depth ${bpp}`);
  }

  const stride = Math.floor((bpp * width + 31) / 32) * 4;
  if (pixelOffset + stride * height > bytes.length) throw new Error('truncated BMP pixel data');
  const out = new Uint8Array(width * height * 3);
  const bytesPerPixel = bpp / 8;
  for (let y = 0; y < height; y++) {
    const row = pixelOffset + (topDown ? y : height - 1 - y) * stride;
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      if (palette) {
        const bit = x * bpp;
        const index = (bytes[row + (bit >> 3)] >> (8 - bpp - (bit & 7))) & ((1 << bpp) - 1);
        out[o] = palette[index * 3];
        out[o + 1] = palette[index * 3 + 1];
        out[o + 2] = palette[index * 3 + 2];
      } else {
        const p = row + x * bytesPerPixel;
        out[o] = bytes[p + channelOffsets[0]];
        out[o + 1] = bytes[p + channelOffsets[1]];
        out[o + 2] = bytes[p + channelOffsets[2]];
      }
    }
  }
  return { data: out, width, height };
}

// ---------------------------------------------------------------- PIL bicubic resampling

// Pillow's fixed-point 8-bit resampler (libImaging/Resample.c), step for step: the filter
// support widens with the downscale factor (antialiasing), weights are normalised, turned
// into 22-bit integers, and each pass rounds and clips to 8 bits.
const PRECISION_BITS = 32 - 8 - 2;
const BICUBIC_SUPPORT = 2;

function bicubic(x: number): number {
  const a = -0.5;
  if (x < 0) x = -x;
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}

interface Coefficients {
  /** Per output index: first input index and number of taps. */
  start: Int32Array;
  taps: Int32Array;
  /** Fixed-point weights, `ksize` per output index. */
  weights: Int32Array;
  ksize: number;
}

function precomputeCoefficients(inSize: number, outSize: number): Coefficients {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = BICUBIC_SUPPORT * filterScale;
  const inverseFilterScale = 1 / filterScale; // Pillow multiplies by the reciprocal; dividing can differ in the last bit
  const ksize = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const taps = new Int32Array(outSize);
  const weights = new Int32Array(outSize * ksize);
  const k = new Float64Array(ksize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let sum = 0;
    for (let x = 0; x < xmax; x++) {
      k[x] = bicubic((x + xmin - center + 0.5) * inverseFilterScale);
      sum += k[x];
    }
    for (let x = 0; x < xmax; x++) {
      const w = sum !== 0 ? k[x] / sum : k[x];
      weights[xx * ksize + x] = Math.trunc(w < 0 ? -0.5 + w * (1 << PRECISION_BITS) : 0.5 + w * (1 << PRECISION_BITS));
    }
    start[xx] = xmin;
    taps[xx] = xmax;
  }
  return { start, taps, weights, ksize };
}

function clip8(acc: number): number {
  if (acc >= 1 << (PRECISION_BITS + 8)) return 255;
  if (acc <= 0) return 0;
  return acc >> PRECISION_BITS;
}

function resampleHorizontal(src: RgbImage, outWidth: number): RgbImage {
  const { start, taps, weights, ksize } = precomputeCoefficients(src.width, outWidth);
  const input = src.data;
  const out = new Uint8Array(outWidth * src.height * 3);
  const half = 1 << (PRECISION_BITS - 1);
  let o = 0;
  for (let y = 0; y < src.height; y++) {
    const row = y * src.width * 3;
    for (let xx = 0; xx < outWidth; xx++) {
      let r = half;
      let g = half;
      let b = half;
      const n = taps[xx];
      let w = xx * ksize;
      let p = row + start[xx] * 3;
      for (let t = 0; t < n; t++, p += 3) {
        const k = weights[w++];
        r += input[p] * k;
        g += input[p + 1] * k;
        b += input[p + 2] * k;
      }
      out[o++] = clip8(r);
      out[o++] = clip8(g);
      out[o++] = clip8(b);
    }
  }
  return { data: out, width: outWidth, height: src.height };
}

function resampleVertical(src: RgbImage, outHeight: number): RgbImage {
  const { start, taps, weights, ksize } = precomputeCoefficients(src.height, outHeight);
  const input = src.data;
  const rowLength = src.width * 3;
  const out = new Uint8Array(rowLength * outHeight);
  const half = 1 << (PRECISION_BITS - 1);
  for (let yy = 0; yy < outHeight; yy++) {
    const w0 = yy * ksize;
    const n = taps[yy];
    const first = start[yy] * rowLength;
    for (let i = 0; i < rowLength; i++) {
      let acc = half;
      let p = first + i;
      for (let t = 0; t < n; t++, p += rowLength) acc += input[p] * weights[w0 + t];
      out[yy * rowLength + i] = clip8(acc);
    }
  }
  return { data: out, width: src.width, height: outHeight };
}

/** PIL's `Image.resize((width, height), Image.BICUBIC)` on an RGB image, bit for bit. */
export function resizeBicubic(img: RgbImage, width: number, height: number): RgbImage {
  if (!(width >= 1 && height >= 1 && Number.isInteger(width) && Number.isInteger(height))) {
    throw new Error(`resize target must be positive integers, got ${width}×${height}`);
  }
  // Pillow skips a pass whose size is unchanged, horizontal first.
  let out = img;
  if (width !== out.width) out = resampleHorizontal(out, width);
  if (height !== out.height) out = resampleVertical(out, height);
  return out;
}

// ---------------------------------------------------------------- geometry

/** HF's output size for `size: {shortest_edge}`: the short side becomes `edge`, the long side int(edge·long/short). */
export function shortestEdgeSize(width: number, height: number, edge: number): { width: number; height: number } {
  const long = Math.trunc((edge * Math.max(width, height)) / Math.min(width, height));
  return width <= height ? { width: edge, height: long } : { width: long, height: edge };
}

/** A copy of the rectangle at (left, top); it must lie inside the image. */
export function cropRgb(img: RgbImage, left: number, top: number, width: number, height: number): RgbImage {
  if (left < 0 || top < 0 || left + width > img.width || top + height > img.height || width < 1 || height < 1) {
    throw new Error(`crop ${width}×${height}+${left}+${top} is outside the ${img.width}×${img.height} image`);
  }
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const from = ((top + y) * img.width + left) * 3;
    out.set(img.data.subarray(from, from + width * 3), y * width * 3);
  }
  return { data: out, width, height };
}

/**
 * HF's `center_crop`: offsets floor((size − crop)/2); an image smaller than the crop is first
 * centred on a black canvas (padding ceil((crop − size)/2) before), like HF does.
 */
export function centerCrop(img: RgbImage, width: number, height: number): RgbImage {
  const top = Math.floor((img.height - height) / 2);
  const left = Math.floor((img.width - width) / 2);
  if (top >= 0 && left >= 0) return cropRgb(img, left, top, width, height);
  const canvasWidth = Math.max(width, img.width);
  const canvasHeight = Math.max(height, img.height);
  const padTop = Math.ceil((canvasHeight - img.height) / 2);
  const padLeft = Math.ceil((canvasWidth - img.width) / 2);
  const canvas = new Uint8Array(canvasWidth * canvasHeight * 3);
  for (let y = 0; y < img.height; y++) {
    canvas.set(img.data.subarray(y * img.width * 3, (y + 1) * img.width * 3), ((y + padTop) * canvasWidth + padLeft) * 3);
  }
  return cropRgb({ data: canvas, width: canvasWidth, height: canvasHeight }, left + padLeft, top + padTop, width, height);
}

// ---------------------------------------------------------------- pixels

/** Rescale and normalise to float32 HWC, rounding at each step like numpy's float32 arrays. */
export function toPixelValues(img: RgbImage, cfg: PreprocessConfig): Float32Array {
  const out = new Float32Array(img.data.length);
  const mean = cfg.mean.map(Math.fround);
  const std = cfg.std.map(Math.fround);
  for (let i = 0; i < img.data.length; i++) {
    let v = Math.fround(cfg.doRescale ? img.data[i] * cfg.rescaleFactor : img.data[i]);
    if (cfg.doNormalize) v = Math.fround(v - mean[i % 3]) / std[i % 3];
    out[i] = v;
  }
  return out;
}

/** Resize + centre crop as configured; the result must have the crop size the model expects. */
export function resizeAndCrop(img: RgbImage, cfg: PreprocessConfig): RgbImage {
  let out = img;
  if (cfg.doResize) {
    const size = cfg.exactSize ?? shortestEdgeSize(out.width, out.height, cfg.shortestEdge);
    out = resizeBicubic(out, size.width, size.height);
  }
  if (cfg.doCenterCrop) out = centerCrop(out, cfg.cropWidth, cfg.cropHeight);
  if (out.width !== cfg.cropWidth || out.height !== cfg.cropHeight) {
    throw new Error(`preprocessing gives ${out.width}×${out.height} pixels, the model expects ${cfg.cropWidth}×${cfg.cropHeight} (enable do_center_crop)`);
  }
  return out;
}

/** CLIPImageProcessor on decoded pixels: float32 HWC [cropHeight, cropWidth, 3]. */
export function preprocessRgb(img: RgbImage, cfg: PreprocessConfig): Float32Array {
  return toPixelValues(resizeAndCrop(img, cfg), cfg);
}

export async function preprocessImage(input: string | Buffer, cfg: PreprocessConfig): Promise<Float32Array> {
  return withDecodedImage(input, (img) => preprocessRgb(img, cfg), { shortEdge: preshrinkEdge(cfg) });
}
