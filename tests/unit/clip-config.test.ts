// config.json / preprocessor_config.json parsing: sizes come from the files, with clear errors.
import { describe, expect, it } from 'vitest';
import { CLIP_MEAN, parseClipConfig, parsePreprocessConfig } from '../../src-main/clip/config';
import { resizeAndCrop } from '../../src-main/clip/preprocess';

const base = {
  model_type: 'clip',
  projection_dim: 8,
  text_config: { hidden_size: 16, num_attention_heads: 4 },
  vision_config: { hidden_size: 16, num_attention_heads: 2, image_size: 32, patch_size: 8 },
};

describe('parseClipConfig', () => {
  it('reads sizes and fills transformers defaults for missing keys', () => {
    const c = parseClipConfig(base);
    expect(c.text).toMatchObject({ hiddenSize: 16, numHeads: 4, numLayers: 12, maxPositions: 77, eosTokenId: 49407, hiddenAct: 'quick_gelu' });
    expect(c.vision).toMatchObject({ imageSize: 32, patchSize: 8, numChannels: 3 });
    expect(c.projectionDim).toBe(8);
  });
  it('rejects what it cannot run, in one line', () => {
    expect(() => parseClipConfig({ ...base, model_type: 'siglip' })).toThrow(/model_type is "siglip"/);
    expect(() => parseClipConfig({ ...base, text_config: { hidden_size: 18, num_attention_heads: 4 } })).toThrow(/not divisible/);
    expect(() => parseClipConfig({ ...base, vision_config: { ...base.vision_config, patch_size: 7 } })).toThrow(/not a multiple of patch_size/);
    expect(() => parseClipConfig({ ...base, text_config: { hidden_act: 'relu' } })).toThrow(/hidden_act "relu"/);
    expect(() => parseClipConfig({ ...base, projection_dim: 'big' })).toThrow(/projection_dim must be a number/);
  });
});

describe('parsePreprocessConfig', () => {
  const vision = parseClipConfig(base).vision;
  it('defaults to CLIP processing at the tower size when the file is missing', () => {
    const p = parsePreprocessConfig(null, vision);
    expect(p).toMatchObject({ shortestEdge: 32, cropHeight: 32, cropWidth: 32, doResize: true, doCenterCrop: true, mean: CLIP_MEAN, exactSize: undefined });
  });
  it('size {height, width} resizes to exactly that size, as Hugging Face does', () => {
    const p = parsePreprocessConfig({ size: { height: 32, width: 32 }, do_center_crop: false }, vision);
    expect(p.exactSize).toEqual({ height: 32, width: 32 });
    const img = { width: 50, height: 20, data: new Uint8Array(50 * 20 * 3).fill(128) };
    expect(resizeAndCrop(img, p)).toMatchObject({ width: 32, height: 32 });
  });
  it('rejects a malformed mean', () => {
    expect(() => parsePreprocessConfig({ image_mean: [1, 2] }, vision)).toThrow(/image_mean/);
  });
});

describe('real Hugging Face config variants', () => {
  it('lets *_config_dict override *_config, as transformers does', () => {
    const c = parseClipConfig({
      ...base,
      text_config: { hidden_size: 512, num_attention_heads: 8 },
      text_config_dict: { hidden_size: 768, num_attention_heads: 12 },
      vision_config_dict: null,
    });
    expect(c.text.hiddenSize).toBe(768);
    expect(c.text.numHeads).toBe(12);
    expect(c.vision.imageSize).toBe(32);
  });
});
