// CLIPImageProcessor on the golden images with the golden model's preprocessor_config.json:
// the preprocessed pixels' mean and (unbiased, torch-style) std equal the reference's.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseClipConfig, parsePreprocessConfig, readJsonFile } from '../../src-main/clip/config';
import { decodeImage, preprocessImage, preprocessRgb, toPixelValues } from '../../src-main/clip/preprocess';
import { GOLDEN_IMAGES_DIR, GOLDEN_MODEL_DIR, HAS_GOLDEN, loadGolden } from '../helpers/golden';

const TOLERANCE = 1e-5;

function meanAndStd(values: Float32Array): { mean: number; std: number } {
  let sum = 0;
  for (const v of values) sum += v;
  const mean = sum / values.length;
  let squares = 0;
  for (const v of values) squares += (v - mean) ** 2;
  return { mean, std: Math.sqrt(squares / (values.length - 1)) };
}

describe.skipIf(!HAS_GOLDEN)('CLIP preprocessing matches the reference (golden)', () => {
  const config = () => {
    const clip = parseClipConfig(readJsonFile(path.join(GOLDEN_MODEL_DIR, 'config.json'), 'config.json'));
    return parsePreprocessConfig(readJsonFile(path.join(GOLDEN_MODEL_DIR, 'preprocessor_config.json'), 'preprocessor_config.json'), clip.vision);
  };

  for (const c of HAS_GOLDEN ? loadGolden().images_resized : []) {
    it(`resizes and crops ${c.file} to the reference's pixel statistics`, async () => {
      const cfg = config();
      const file = path.join(GOLDEN_IMAGES_DIR, c.file);
      const img = await decodeImage(file);
      expect(img.width !== cfg.cropWidth || img.height !== cfg.cropHeight).toBe(true); // really needs resize + crop
      const pixels = await preprocessImage(file, cfg);
      expect(pixels).toHaveLength(cfg.cropHeight * cfg.cropWidth * 3);
      const { mean, std } = meanAndStd(pixels);
      expect(Math.abs(mean - c.pixel_mean)).toBeLessThan(TOLERANCE);
      expect(Math.abs(std - c.pixel_std)).toBeLessThan(TOLERANCE);
    });
  }

  for (const c of HAS_GOLDEN ? loadGolden().images : []) {
    it(`leaves ${c.file} (already at model size) unresized`, async () => {
      const cfg = config();
      const img = await decodeImage(path.join(GOLDEN_IMAGES_DIR, c.file));
      expect([img.width, img.height]).toEqual([cfg.cropWidth, cfg.cropHeight]);
      expect(preprocessRgb(img, cfg)).toEqual(toPixelValues(img, cfg));
    });
  }
});
