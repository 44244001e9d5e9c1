// Training views for the feature cache: torchvision's RandomResizedCrop(scale 0.08–1,
// ratio 3/4–4/3, bicubic) + RandomHorizontalFlip(0.5), as LAMM's (Dassl) training transform,
// drawn from a seeded generator so (seed, view) always gives the same pixels.
import type { PreprocessConfig } from './config';
import { cropRgb, preprocessRgb, resizeBicubic, toPixelValues, type RgbImage } from './preprocess';
import { deriveSeed, mulberry32 } from './random';

const SCALE: [number, number] = [0.08, 1];
const RATIO: [number, number] = [3 / 4, 4 / 3];
const CROP_ATTEMPTS = 10;
const FLIP_PROBABILITY = 0.5;

export interface CropBox {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** Python's round(): halves go to the even neighbour. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** torchvision's RandomResizedCrop.get_params with `random` in place of torch's generator. */
export function randomResizedCropBox(width: number, height: number, random: () => number): CropBox {
  const area = width * height;
  const logRatio = [Math.log(RATIO[0]), Math.log(RATIO[1])];
  for (let attempt = 0; attempt < CROP_ATTEMPTS; attempt++) {
    const targetArea = area * (SCALE[0] + (SCALE[1] - SCALE[0]) * random());
    const aspect = Math.exp(logRatio[0] + (logRatio[1] - logRatio[0]) * random());
    const w = roundHalfEven(Math.sqrt(targetArea * aspect));
    const h = roundHalfEven(Math.sqrt(targetArea / aspect));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      const top = Math.floor(random() * (height - h + 1));
      const left = Math.floor(random() * (width - w + 1));
      return { left, top, width: w, height: h };
    }
  }
  // Fallback: the largest centred crop whose aspect ratio is within range.
  const inRatio = width / height;
  let w = width;
  let h = height;
  if (inRatio < RATIO[0]) h = roundHalfEven(w / RATIO[0]);
  else if (inRatio > RATIO[1]) w = roundHalfEven(h * RATIO[1]);
  return { left: Math.floor((width - w) / 2), top: Math.floor((height - h) / 2), width: w, height: h };
}

export function flipHorizontal(img: RgbImage): RgbImage {
  const out = new Uint8Array(img.data.length);
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) {
      const from = (y * img.width + x) * 3;
      const to = (y * img.width + (img.width - 1 - x)) * 3;
      out[to] = img.data[from];
      out[to + 1] = img.data[from + 1];
      out[to + 2] = img.data[from + 2];
    }
  }
  return { data: out, width: img.width, height: img.height };
}

/**
 * View 0 is the plain preprocessed image (CLIPImageProcessor); views ≥ 1 are random
 * resized crops at the crop size, flipped half the time, then rescaled and normalised.
 * Float32 HWC [cropHeight, cropWidth, 3]. Give each image its own seed.
 */
export function augmentedView(img: RgbImage, cfg: PreprocessConfig, seed: number, view: number): Float32Array {
  if (!Number.isInteger(view) || view < 0) throw new Error(`view must be a non-negative integer, got ${view}`);
  if (view === 0) return preprocessRgb(img, cfg);
  const random = mulberry32(deriveSeed(seed, 'view', view));
  const box = randomResizedCropBox(img.width, img.height, random);
  let out = resizeBicubic(cropRgb(img, box.left, box.top, box.width, box.height), cfg.cropWidth, cfg.cropHeight);
  if (random() < FLIP_PROBABILITY) out = flipHorizontal(out);
  return toPixelValues(out, cfg);
}
