// CLIP's shape, read from a Hugging Face folder's config.json and preprocessor_config.json.
// Everything that sizes the model comes from here; nothing assumes ViT-B/32.
import fs from 'node:fs';
import path from 'node:path';

export interface TowerConfig {
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  layerNormEps: number;
  /** 'quick_gelu' (OpenAI CLIP) or 'gelu' (some retrained CLIPs). */
  hiddenAct: 'quick_gelu' | 'gelu';
}

export interface TextConfig extends TowerConfig {
  vocabSize: number;
  maxPositions: number;
  bosTokenId: number;
  eosTokenId: number;
}

export interface VisionConfig extends TowerConfig {
  imageSize: number;
  patchSize: number;
  numChannels: number;
}

export interface ClipConfig {
  projectionDim: number;
  logitScaleInit: number;
  text: TextConfig;
  vision: VisionConfig;
}

export interface PreprocessConfig {
  doResize: boolean;
  shortestEdge: number;
  /** Set when `size` is {height, width}: resize to exactly that (no aspect kept), as HF does. */
  exactSize?: { height: number; width: number };
  doCenterCrop: boolean;
  cropHeight: number;
  cropWidth: number;
  doRescale: boolean;
  rescaleFactor: number;
  doNormalize: boolean;
  mean: [number, number, number];
  std: [number, number, number];
}

/** transformers' CLIPTextConfig / CLIPVisionConfig defaults (ViT-B/32), used only for keys a config omits. */
const TEXT_DEFAULTS = {
  hidden_size: 512,
  intermediate_size: 2048,
  num_hidden_layers: 12,
  num_attention_heads: 8,
  max_position_embeddings: 77,
  vocab_size: 49408,
  layer_norm_eps: 1e-5,
  hidden_act: 'quick_gelu',
  bos_token_id: 49406,
  eos_token_id: 49407,
};
const VISION_DEFAULTS = {
  hidden_size: 768,
  intermediate_size: 3072,
  num_hidden_layers: 12,
  num_attention_heads: 12,
  image_size: 224,
  patch_size: 32,
  num_channels: 3,
  layer_norm_eps: 1e-5,
  hidden_act: 'quick_gelu',
};
export const CLIP_MEAN: [number, number, number] = [0.48145466, 0.4578275, 0.40821073];
export const CLIP_STD: [number, number, number] = [0.26862954, 0.26130258, 0.27577711];

type Json = Record<string, unknown>;

function num(obj: Json, key: string, fallback: number, where: string): number {
  const v = obj[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${where}.${key} must be a number, got ${JSON.stringify(v)}`);
  return v;
}

function act(obj: Json, where: string): 'quick_gelu' | 'gelu' {
  const v = obj.hidden_act ?? 'quick_gelu';
  if (v !== 'quick_gelu' && v !== 'gelu') throw new Error(`${where}.hidden_act "${String(v)}" is not supported (quick_gelu or gelu)`);
  return v;
}

function tower(obj: Json, d: Json, where: string): TowerConfig {
  const t: TowerConfig = {
    hiddenSize: num(obj, 'hidden_size', d.hidden_size as number, where),
    intermediateSize: num(obj, 'intermediate_size', d.intermediate_size as number, where),
    numLayers: num(obj, 'num_hidden_layers', d.num_hidden_layers as number, where),
    numHeads: num(obj, 'num_attention_heads', d.num_attention_heads as number, where),
    layerNormEps: num(obj, 'layer_norm_eps', d.layer_norm_eps as number, where),
    hiddenAct: act(obj, where),
  };
  if (t.hiddenSize % t.numHeads !== 0) throw new Error(`${where}: hidden_size ${t.hiddenSize} is not divisible by num_attention_heads ${t.numHeads}`);
  return t;
}

/** Older HF exports (e.g. openai/clip-vit-large-patch14) carry the real sizes in *_config_dict, which transformers lets override *_config. */
function towerJson(raw: Json, key: 'text' | 'vision'): Json {
  const base = raw[`${key}_config`];
  const override = raw[`${key}_config_dict`];
  return { ...(base && typeof base === 'object' ? (base as Json) : {}), ...(override && typeof override === 'object' ? (override as Json) : {}) };
}

export function parseClipConfig(raw: Json): ClipConfig {
  const textRaw = towerJson(raw, 'text');
  const visionRaw = towerJson(raw, 'vision');
  if (raw.model_type !== undefined && raw.model_type !== 'clip') {
    throw new Error(`config.json model_type is "${String(raw.model_type)}", expected "clip"`);
  }
  const text: TextConfig = {
    ...tower(textRaw, TEXT_DEFAULTS, 'text_config'),
    vocabSize: num(textRaw, 'vocab_size', TEXT_DEFAULTS.vocab_size, 'text_config'),
    maxPositions: num(textRaw, 'max_position_embeddings', TEXT_DEFAULTS.max_position_embeddings, 'text_config'),
    bosTokenId: num(textRaw, 'bos_token_id', TEXT_DEFAULTS.bos_token_id, 'text_config'),
    // Some older HF configs say eos_token_id 2 while the vocabulary's EOT is 49407; the loader reconciles with the tokenizer.
    eosTokenId: num(textRaw, 'eos_token_id', TEXT_DEFAULTS.eos_token_id, 'text_config'),
  };
  const vision: VisionConfig = {
    ...tower(visionRaw, VISION_DEFAULTS, 'vision_config'),
    imageSize: num(visionRaw, 'image_size', VISION_DEFAULTS.image_size, 'vision_config'),
    patchSize: num(visionRaw, 'patch_size', VISION_DEFAULTS.patch_size, 'vision_config'),
    numChannels: num(visionRaw, 'num_channels', VISION_DEFAULTS.num_channels, 'vision_config'),
  };
  if (vision.imageSize % vision.patchSize !== 0)
    throw new Error(`vision_config: image_size ${vision.imageSize} is not a multiple of patch_size ${vision.patchSize}`);
  return {
    projectionDim: num(raw, 'projection_dim', 512, 'config'),
    logitScaleInit: num(raw, 'logit_scale_init_value', 2.6592, 'config'),
    text,
    vision,
  };
}

function sizeField(v: unknown, key: 'shortest_edge' | 'height' | 'width', fallback: number): number {
  if (typeof v === 'number') return v;
  if (v && typeof v === 'object' && typeof (v as Json)[key] === 'number') return (v as Json)[key] as number;
  if (v && typeof v === 'object' && key !== 'shortest_edge' && typeof (v as Json).shortest_edge === 'number') return (v as Json).shortest_edge as number;
  return fallback;
}

/** CLIPImageProcessor settings; a missing file means CLIP's defaults at the vision tower's size. */
export function parsePreprocessConfig(raw: Json | null, vision: VisionConfig): PreprocessConfig {
  const r = raw ?? {};
  const size = vision.imageSize;
  const triple = (v: unknown, d: [number, number, number], key: string): [number, number, number] => {
    if (v === undefined) return d;
    if (Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === 'number')) return v as [number, number, number];
    if (typeof v === 'number') return [v, v, v];
    throw new Error(`preprocessor_config.json ${key} must be three numbers`);
  };
  const sizeObj = r.size as Json | undefined;
  const exact =
    sizeObj && typeof sizeObj === 'object' && sizeObj.shortest_edge === undefined && typeof sizeObj.height === 'number' && typeof sizeObj.width === 'number';
  return {
    doResize: r.do_resize !== false,
    shortestEdge: sizeField(r.size, 'shortest_edge', size),
    exactSize: exact ? { height: sizeObj.height as number, width: sizeObj.width as number } : undefined,
    doCenterCrop: r.do_center_crop !== false,
    cropHeight: sizeField(r.crop_size, 'height', size),
    cropWidth: sizeField(r.crop_size, 'width', size),
    doRescale: r.do_rescale !== false,
    rescaleFactor: typeof r.rescale_factor === 'number' ? r.rescale_factor : 1 / 255,
    doNormalize: r.do_normalize !== false,
    mean: triple(r.image_mean, CLIP_MEAN, 'image_mean'),
    std: triple(r.image_std, CLIP_STD, 'image_std'),
  };
}

export function readJsonFile(file: string, what: string): Json {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new Error(`${what} is missing: ${file}`);
  }
  try {
    const parsed = JSON.parse(text);
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
    return parsed as Json;
  } catch (err) {
    throw new Error(`${what} is not valid JSON (${path.basename(file)}: ${(err as Error).message})`);
  }
}
