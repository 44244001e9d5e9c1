// Export of a trained classifier (DESIGN §4) into a folder: `manifest.json` (classes, prompt
// names, template, min_len, label start, base model and its weights' SHA-256, metrics) plus the
// tensors `label_embeddings [C, min_len, D]` (a merge of tasks with different min_len pads each
// class to the longest, see tokensPerClass), `label_embeddings_init`, `text_features [C, P]`
// (normalised: a ready linear head) and, for CoOp, `context [n, D]`, as one safetensors file,
// one .npy per tensor, or one JSON file. `importExport` reads any of the three back.
import fs from 'node:fs';
import path from 'node:path';
import { EXPORT_FORMATS as FORMATS, type ExportFormat } from './formats';
import { readSafetensors, writeSafetensors } from '../clip/safetensors';
import type { Classifier } from '../lamm/classifier';
import { isTrainMethod } from '../lamm/methods';
import { resolveInside } from '../api/file-guard';
import { decodeNpy, encodeNpy } from './npy';

export type { ExportFormat };
/** Named once in the contract, which the CLI, the UI and RPC validation all read. */
export const EXPORT_FORMATS: readonly ExportFormat[] = FORMATS;

export const MANIFEST_FILE = 'manifest.json';
const MANIFEST_KIND = 'lamm-studio-export';
const MANIFEST_VERSION = 1;
const SAFETENSORS_FILE = 'lamm.safetensors';
const JSON_TENSORS_FILE = 'tensors.json';

type TensorName = 'label_embeddings' | 'label_embeddings_init' | 'text_features' | 'context';

export interface Manifest {
  kind: typeof MANIFEST_KIND;
  version: number;
  method: Classifier['method'];
  template: string;
  minLen: number;
  /** Tokens trained per class; label_embeddings is [C, max(tokensPerClass), D], zero-padded after a class's own tokens. */
  tokensPerClass: number[];
  labelStart: number;
  logitScale: number;
  classes: Classifier['classes'];
  width: number;
  projectionDim: number;
  baseModel: Classifier['baseModel'];
  metrics: Classifier['metrics'];
  createdAt: string;
  tensors: { format: ExportFormat; files: Partial<Record<TensorName, string>> };
}

interface Tensor {
  shape: number[];
  data: Float32Array;
}

/** Ragged per-class rows → [C, maxTokens, D], zero-padded (exactly [C, minLen, D] for a single run). */
function padTokens(ragged: Float32Array, tokensPerClass: number[], width: number): Float32Array {
  const maxTokens = Math.max(...tokensPerClass);
  const out = new Float32Array(tokensPerClass.length * maxTokens * width);
  let offset = 0;
  tokensPerClass.forEach((tokens, c) => {
    out.set(ragged.subarray(offset, offset + tokens * width), c * maxTokens * width);
    offset += tokens * width;
  });
  return out;
}

function unpadTokens(padded: Float32Array, tokensPerClass: number[], width: number): Float32Array {
  const maxTokens = Math.max(...tokensPerClass);
  const out = new Float32Array(tokensPerClass.reduce((n, t) => n + t, 0) * width);
  let offset = 0;
  tokensPerClass.forEach((tokens, c) => {
    out.set(padded.subarray(c * maxTokens * width, (c * maxTokens + tokens) * width), offset);
    offset += tokens * width;
  });
  return out;
}

function tensorsOf(c: Classifier): Partial<Record<TensorName, Tensor>> {
  const classes = c.classes.length;
  const embeddingShape = [classes, Math.max(...c.tokensPerClass), c.width];
  const out: Partial<Record<TensorName, Tensor>> = {
    label_embeddings: { shape: embeddingShape, data: padTokens(c.labelEmbeddings, c.tokensPerClass, c.width) },
    label_embeddings_init: { shape: embeddingShape, data: padTokens(c.initialLabelEmbeddings, c.tokensPerClass, c.width) },
    text_features: { shape: [classes, c.projectionDim], data: c.textFeatures },
  };
  if (c.context) out.context = { shape: [c.context.length / c.width, c.width], data: c.context };
  return out;
}

/** Writes the export into folder `out` (created if needed); returns the files written, manifest first. */
export function exportClassifier(c: Classifier, format: ExportFormat, out: string): string[] {
  if (!EXPORT_FORMATS.includes(format)) throw new Error(`format "${format}" is not one of ${EXPORT_FORMATS.join(', ')}`);
  if (fs.existsSync(out) && !fs.statSync(out).isDirectory()) throw new Error(`${out} exists and is not a folder`);
  fs.mkdirSync(out, { recursive: true });
  const tensors = tensorsOf(c);
  const files: Partial<Record<TensorName, string>> = {};
  const written: string[] = [];
  if (format === 'safetensors') {
    writeSafetensors(path.join(out, SAFETENSORS_FILE), tensors as Record<string, Tensor>, { format: 'pt', producer: MANIFEST_KIND });
    for (const name of Object.keys(tensors) as TensorName[]) files[name] = SAFETENSORS_FILE;
    written.push(SAFETENSORS_FILE);
  } else if (format === 'npy') {
    for (const [name, t] of Object.entries(tensors) as [TensorName, Tensor][]) {
      fs.writeFileSync(path.join(out, `${name}.npy`), encodeNpy(t.shape, t.data));
      files[name] = `${name}.npy`;
      written.push(`${name}.npy`);
    }
  } else {
    const json = Object.fromEntries(Object.entries(tensors).map(([name, t]) => [name, { shape: t.shape, data: Array.from(t.data) }]));
    fs.writeFileSync(path.join(out, JSON_TENSORS_FILE), JSON.stringify(json));
    for (const name of Object.keys(tensors) as TensorName[]) files[name] = JSON_TENSORS_FILE;
    written.push(JSON_TENSORS_FILE);
  }
  const manifest: Manifest = {
    kind: MANIFEST_KIND,
    version: MANIFEST_VERSION,
    method: c.method,
    template: c.template,
    minLen: c.minLen,
    tokensPerClass: c.tokensPerClass,
    labelStart: c.labelStart,
    logitScale: c.logitScale,
    classes: c.classes,
    width: c.width,
    projectionDim: c.projectionDim,
    baseModel: c.baseModel,
    metrics: c.metrics,
    createdAt: new Date().toISOString(),
    tensors: { format, files },
  };
  fs.writeFileSync(path.join(out, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  return [MANIFEST_FILE, ...written].map((f) => path.join(out, f));
}

/** Reads an export folder (or its manifest.json) back into a classifier. */
export function importExport(exportPath: string): Classifier {
  const dir = path.basename(exportPath) === MANIFEST_FILE ? path.dirname(exportPath) : exportPath;
  const manifestFile = path.join(dir, MANIFEST_FILE);
  let manifest: Manifest;
  try {
    manifest = JSON.parse(fs.readFileSync(insideExport(dir, MANIFEST_FILE, manifestFile), 'utf8')) as Manifest;
  } catch (err) {
    if (err instanceof ManifestPathError) throw err;
    // A SyntaxError quotes the text it choked on: say what failed, never what the file holds.
    const why = (err as NodeJS.ErrnoException).code ?? 'not valid JSON';
    throw new Error(`${exportPath} is not a LAMM export: cannot read ${MANIFEST_FILE} (${why})`);
  }
  if (manifest.kind !== MANIFEST_KIND) throw new Error(`${manifestFile} is not a LAMM Studio export manifest`);
  if (manifest.version > MANIFEST_VERSION) throw new Error(`${manifestFile} is export version ${manifest.version}; this build reads up to ${MANIFEST_VERSION}`);
  if (!isTrainMethod(manifest.method)) throw new Error(`${manifestFile}: unknown method "${manifest.method}"`);

  if (typeof manifest.tensors?.files !== 'object' || manifest.tensors.files === null) throw new Error(`${manifestFile} lists no tensor files`);
  const load = loaderFor(dir, manifest.tensors.format, manifestFile);
  const get = (name: TensorName, shape: number[]): Float32Array => {
    const file = manifest.tensors.files[name];
    if (!file) throw new Error(`${manifestFile} lists no file for tensor "${name}"`);
    const t = load(file, name);
    if (t.shape.join(',') !== shape.join(',')) throw new Error(`${name} in ${path.join(dir, file)} has shape [${t.shape}], expected [${shape}]`);
    return t.data;
  };
  const classes = manifest.classes.length;
  const tokensPerClass = manifest.tokensPerClass ?? manifest.classes.map(() => manifest.minLen);
  if (tokensPerClass.length !== classes) throw new Error(`${manifestFile}: tokensPerClass has ${tokensPerClass.length} entries for ${classes} classes`);
  const embeddingShape = [classes, Math.max(...tokensPerClass), manifest.width];
  return {
    method: manifest.method,
    template: manifest.template,
    labelStart: manifest.labelStart,
    minLen: manifest.minLen,
    logitScale: manifest.logitScale,
    classes: manifest.classes,
    width: manifest.width,
    projectionDim: manifest.projectionDim,
    tokensPerClass,
    labelEmbeddings: unpadTokens(get('label_embeddings', embeddingShape), tokensPerClass, manifest.width),
    initialLabelEmbeddings: unpadTokens(get('label_embeddings_init', embeddingShape), tokensPerClass, manifest.width),
    textFeatures: get('text_features', [classes, manifest.projectionDim]),
    context: manifest.tensors.files.context ? load(manifest.tensors.files.context, 'context').data : null,
    baseModel: manifest.baseModel,
    metrics: manifest.metrics,
  };
}

/** A file name the manifest should not have used (as opposed to a file that cannot be read). */
class ManifestPathError extends Error {}

/**
 * The real path of `file` (as a manifest names it) when it lies inside the export folder `dir`:
 * relative, without `..`, and no symbolic link on the way leads out. A manifest from elsewhere
 * must not make the app read, or quote, files the user never meant to share.
 */
function insideExport(dir: string, file: unknown, label: string): string {
  if (typeof file !== 'string' || file === '') throw new ManifestPathError(`${label}: a tensor file name is missing or not text`);
  const parts = file.split(/[\\/]+/);
  const full = path.join(dir, file);
  if (path.isAbsolute(file) || path.win32.isAbsolute(file) || parts.includes('..'))
    throw new ManifestPathError(`${label} names ${JSON.stringify(file)}, which is outside the export folder`);
  if (!fs.existsSync(full)) throw Object.assign(new Error(`${full} is missing from the export`), { code: 'ENOENT' });
  const real = resolveInside([dir], full);
  if (!real) throw new ManifestPathError(`${full} is a symbolic link to outside the export folder`);
  return real;
}

function loaderFor(dir: string, format: ExportFormat, manifestFile: string): (file: string, name: TensorName) => Tensor {
  const cache = new Map<string, unknown>();
  const once = <T>(file: string, read: () => T): T => {
    if (!cache.has(file)) cache.set(file, read());
    return cache.get(file) as T;
  };
  // Each reader's own errors are one line about the structure (sizes, dtypes), never the bytes;
  // JSON.parse's would quote them, so its are replaced.
  const real = (file: string) => insideExport(dir, file, manifestFile);
  switch (format) {
    case 'safetensors':
      return (file, name) => {
        const t = once(file, () => readSafetensors(real(file))).tensors.get(name);
        if (!t) throw new Error(`${path.join(dir, file)} has no tensor "${name}"`);
        return t;
      };
    case 'npy':
      return (file) => decodeNpy(fs.readFileSync(real(file)), path.join(dir, file));
    case 'json':
      return (file, name) => {
        const all = once(file, () => readJsonTensors(real(file), path.join(dir, file)));
        const t = all[name];
        if (!t || !Array.isArray(t.shape) || !Array.isArray(t.data)) throw new Error(`${path.join(dir, file)} has no tensor "${name}"`);
        return { shape: t.shape, data: Float32Array.from(t.data) };
      };
    default:
      throw new Error(`unknown tensor format "${String(format)}" in the manifest`);
  }
}

function readJsonTensors(file: string, label: string): Record<string, { shape?: unknown; data?: unknown }> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${label} is not a JSON tensor file (${(err as NodeJS.ErrnoException).code ?? 'not valid JSON'})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error(`${label} is not a JSON tensor file (no object of tensors)`);
  return parsed as Record<string, { shape?: unknown; data?: unknown }>;
}
