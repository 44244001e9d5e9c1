// Random-weight CLIP folders in the exact Hugging Face layout, for tests and benchmarks that
// must run without downloads: a config, random weights, and a CLIP-format BPE vocabulary.
import fs from 'node:fs';
import path from 'node:path';
import { parseClipConfig, type ClipConfig } from './config';
import { writeSafetensors, type TensorDtype } from './safetensors';
import { vocabularyFromMerges, writeTokenizerFiles } from './tokenizer';
import { randomHfTensors } from './weights';

export interface SyntheticClipSpec {
  text: { width: number; layers: number; heads: number; context: number };
  vision: { width: number; layers: number; heads: number; imageSize: number; patch: number };
  projection: number;
  /** BPE merges ("a b" pairs) on top of the byte alphabet; none gives a byte-level vocabulary. */
  merges?: string[];
  /** A folder whose vocab.json + merges.txt to use instead (e.g. real CLIP's 49408-token vocabulary). */
  vocabFrom?: string;
  seed?: number;
  dtype?: TensorDtype;
}

export function syntheticConfigJson(spec: SyntheticClipSpec, vocabSize: number): Record<string, unknown> {
  const tower = (t: { width: number; layers: number; heads: number }) => ({
    hidden_size: t.width,
    intermediate_size: 4 * t.width,
    num_hidden_layers: t.layers,
    num_attention_heads: t.heads,
    hidden_act: 'quick_gelu',
    layer_norm_eps: 1e-5,
    projection_dim: spec.projection,
  });
  return {
    architectures: ['CLIPModel'],
    model_type: 'clip',
    projection_dim: spec.projection,
    logit_scale_init_value: 2.6592,
    text_config: {
      model_type: 'clip_text_model',
      ...tower(spec.text),
      vocab_size: vocabSize,
      max_position_embeddings: spec.text.context,
      bos_token_id: vocabSize - 2,
      eos_token_id: vocabSize - 1,
      pad_token_id: 1,
    },
    vision_config: {
      model_type: 'clip_vision_model',
      ...tower(spec.vision),
      image_size: spec.vision.imageSize,
      patch_size: spec.vision.patch,
      num_channels: 3,
    },
  };
}

/** Writes a complete model folder and returns its parsed config. */
export function writeSyntheticClip(dir: string, spec: SyntheticClipSpec): ClipConfig {
  fs.mkdirSync(dir, { recursive: true });
  let vocabSize: number;
  if (spec.vocabFrom) {
    for (const f of ['vocab.json', 'merges.txt']) fs.copyFileSync(path.join(spec.vocabFrom, f), path.join(dir, f));
    vocabSize = Object.keys(JSON.parse(fs.readFileSync(path.join(dir, 'vocab.json'), 'utf8'))).length;
  } else {
    const tokens = vocabularyFromMerges(spec.merges ?? []);
    vocabSize = tokens.length;
    writeTokenizerFiles(dir, tokens, spec.merges ?? [], spec.text.context);
  }
  const configJson = syntheticConfigJson(spec, vocabSize);
  const config = parseClipConfig(configJson);
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(configJson, null, 2));
  fs.writeFileSync(
    path.join(dir, 'preprocessor_config.json'),
    JSON.stringify(
      {
        crop_size: { height: spec.vision.imageSize, width: spec.vision.imageSize },
        do_center_crop: true,
        do_normalize: true,
        do_rescale: true,
        do_resize: true,
        image_mean: [0.48145466, 0.4578275, 0.40821073],
        image_std: [0.26862954, 0.26130258, 0.27577711],
        resample: 3,
        rescale_factor: 1 / 255,
        size: { shortest_edge: spec.vision.imageSize },
      },
      null,
      2,
    ),
  );
  const tensors = Object.fromEntries([...randomHfTensors(config, spec.seed ?? 0)].map(([name, t]) => [name, { shape: t.shape, data: t.data }]));
  writeSafetensors(path.join(dir, 'model.safetensors'), tensors, { format: 'pt' }, spec.dtype ?? 'F32');
  return config;
}

/** A model small enough for unit tests (about 100 KB). */
export const TINY_SPEC: SyntheticClipSpec = {
  text: { width: 32, layers: 2, heads: 2, context: 77 },
  vision: { width: 32, layers: 2, heads: 2, imageSize: 32, patch: 8 },
  projection: 16,
};

/** ViT-B/32's shape (benchmarks). */
export const VIT_B32_SPEC: SyntheticClipSpec = {
  text: { width: 512, layers: 12, heads: 8, context: 77 },
  vision: { width: 768, layers: 12, heads: 12, imageSize: 224, patch: 32 },
  projection: 512,
};

/** ViT-B/16's shape (training-speed benchmark). */
export const VIT_B16_SPEC: SyntheticClipSpec = { ...VIT_B32_SPEC, vision: { ...VIT_B32_SPEC.vision, patch: 16 } };
