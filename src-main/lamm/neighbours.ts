// What a learned label token "means": its nearest vocabulary tokens by cosine against the
// frozen token-embedding table (special tokens left out), the rank its original token has
// fallen to, and how far it moved (‖E − E0‖).
import * as tf from '@tensorflow/tfjs';
import { readAndDispose } from '../backend';
import type { ClipModel } from '../clip/types';
import { END_OF_WORD, bytesToUnicode, type ClipTokenizer } from '../clip/tokenizer';
import type { ProjectStore } from '../data/store';
import { loadRunClassifier } from './classifier';
import { DEFAULT_NEIGHBOURS } from './report-defaults';

export { DEFAULT_NEIGHBOURS };

export interface NeighbourOptions {
  /** Neighbours per token; DEFAULT_NEIGHBOURS when omitted. */
  k?: number;
  /** Draw neighbours from whole-word tokens only (isWordToken); the original's rank still counts every token. */
  wordsOnly?: boolean;
}

export interface TokenNeighbour {
  token: string;
  cosine: number;
}

/** Inspect's report of one class (the contract re-exports it). */
export interface LabelTokenReport {
  classId: number;
  folder: string;
  promptName: string;
  tokens: {
    position: number;
    /** The vocabulary token it started from. */
    original: string;
    /** Rank of the original token among all vocabulary tokens by cosine to the learned vector (1 = still nearest). */
    originalRank: number;
    /** ‖E − E0‖ for this token. */
    drift: number;
    neighbours: TokenNeighbour[];
  }[];
}

export interface Neighbour {
  id: number;
  token: string;
  cosine: number;
}

export interface TokenReport {
  originalId: number;
  original: string;
  /** 1 = the original token is still the nearest. */
  originalRank: number;
  drift: number;
  neighbours: Neighbour[];
}

const CHAR_TO_BYTE = new Map(bytesToUnicode().map((ch, b) => [ch, b]));

/**
 * A token as a person can read it: its text, or where that is not whole characters (a byte of a
 * longer UTF-8 character, a control, a space) its bytes written `<0xC3>`, so no two look alike.
 */
export function readableToken(tokenizer: ClipTokenizer, id: number): string {
  const text = tokenizer.tokenText(id);
  if (text && !/[\uFFFD\p{C}]/u.test(text)) return text;
  const raw = tokenizer.tokenString(id).replace(END_OF_WORD, '');
  const byteText = (b: number) => (b > 32 && b < 127 ? String.fromCharCode(b) : `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
  return [...raw].map((ch) => (CHAR_TO_BYTE.has(ch) ? byteText(CHAR_TO_BYTE.get(ch)!) : ch)).join('');
}

/**
 * A whole word: a vocabulary entry that ends a word and reads as letters or digits (not a lone
 * ASCII character, nor a byte of a longer UTF-8 character). Small vocabularies are mostly
 * byte tokens, which say nothing to a reader.
 */
export function isWordToken(tokenizer: ClipTokenizer, id: number): boolean {
  if (!tokenizer.tokenString(id).endsWith(END_OF_WORD)) return false;
  const text = tokenizer.tokenText(id);
  return /^[\p{L}\p{N}]+$/u.test(text) && !(text.length === 1 && text.charCodeAt(0) < 0x80);
}

/**
 * Reports for `vectors` [Q, D] (flat) that started as the token rows `originalIds` (E0 = those
 * rows, so the drift is measured against the table itself). Neighbours are drawn from the
 * tokens `include` accepts (default all); the original's rank counts every token.
 */
export async function tokenNeighbours(
  model: ClipModel,
  vectors: Float32Array,
  originalIds: number[],
  k: number,
  include?: (id: number) => boolean,
): Promise<TokenReport[]> {
  const [vocab, width] = model.tokenEmbedding.shape;
  const queries = originalIds.length;
  if (vectors.length !== queries * width) throw new Error(`expected ${queries}×${width} values, got ${vectors.length}`);
  if (!Number.isInteger(k) || k < 1) throw new Error(`k must be a positive integer, got ${k}`);
  const special = new Set([model.tokenizer.sot, model.tokenizer.eot]);
  // Typed arrays are read outside tf.tidy: tidy walks every element of what it returns, which
  // for [vocab × queries] cosines cost seconds at a few hundred classes.
  const [cosineTensor, originalTensor] = tf.tidy(() => {
    const table = model.tokenEmbedding;
    const unitTable = tf.div(table, tf.sqrt(tf.sum(tf.square(table), 1, true)));
    const q = tf.tensor2d(vectors, [queries, width]);
    const unitQ = tf.div(q, tf.sqrt(tf.sum(tf.square(q), 1, true)));
    return [tf.matMul(unitTable, unitQ.transpose()), tf.gather(table, tf.tensor1d(originalIds, 'int32'))];
  });
  const cosines = await readAndDispose(cosineTensor);
  const originals = await readAndDispose(originalTensor);
  // Per vocabulary entry, once for all queries: 0 never listed, 1 counts for the rank only, 2 a candidate neighbour.
  const role = new Uint8Array(vocab);
  for (let v = 0; v < vocab; v++) role[v] = special.has(v) ? 0 : include && !include(v) ? 1 : 2;

  return originalIds.map((originalId, q) => {
    const cos = (v: number) => cosines[v * queries + q];
    const originalCos = cos(originalId);
    let rank = 1;
    const best: number[] = [];
    for (let v = 0; v < vocab; v++) {
      if (role[v] === 0) continue;
      const c = cos(v);
      if (v !== originalId && c > originalCos) rank++;
      if (role[v] === 1) continue;
      if (best.length < k || c > cos(best[best.length - 1])) {
        let i = best.length;
        while (i > 0 && cos(best[i - 1]) < c) i--;
        best.splice(i, 0, v);
        if (best.length > k) best.pop();
      }
    }
    let drift = 0;
    for (let j = 0; j < width; j++) drift += (vectors[q * width + j] - originals[q * width + j]) ** 2;
    return {
      originalId,
      original: readableToken(model.tokenizer, originalId),
      originalRank: rank,
      drift: Math.sqrt(drift),
      neighbours: best.map((id) => ({ id, token: readableToken(model.tokenizer, id), cosine: cos(id) })),
    };
  });
}

/** The Inspect view of a finished run (and `lamm neighbours`): every learned label token of every class (DESIGN §4). */
export async function runNeighbours(store: ProjectStore, model: ClipModel, runId: number, opts: NeighbourOptions = {}): Promise<LabelTokenReport[]> {
  const c = loadRunClassifier(store, runId);
  if (c.baseModel.sha256 && c.baseModel.sha256 !== model.weightsSha256) {
    throw new Error(`run ${runId} was trained on other weights (${c.baseModel.name}) than ${model.folder}`);
  }
  // The tokens each class started from: the first tokens of its prompt name as the run spelled it.
  const originalIds = c.classes.flatMap((cls, i) => {
    const ids = model.tokenizer.encode(cls.promptName).slice(0, c.tokensPerClass[i]);
    if (ids.length !== c.tokensPerClass[i])
      throw new Error(`class "${cls.folder}" has ${ids.length} name tokens under this tokenizer, the run trained ${c.tokensPerClass[i]}`);
    return ids;
  });
  const words = opts.wordsOnly ? Uint8Array.from({ length: model.tokenizer.vocabSize }, (_, id) => Number(isWordToken(model.tokenizer, id))) : null;
  const reports = await tokenNeighbours(model, c.labelEmbeddings, originalIds, opts.k ?? DEFAULT_NEIGHBOURS, words ? (id) => words[id] === 1 : undefined);
  const starts = c.tokensPerClass.map((_, i) => c.tokensPerClass.slice(0, i).reduce((a, b) => a + b, 0));
  return c.classes.map((cls, i) => ({
    classId: c.classIds[i],
    folder: cls.folder,
    promptName: cls.promptName,
    tokens: reports.slice(starts[i], starts[i] + c.tokensPerClass[i]).map((r, position) => ({
      position,
      original: r.original,
      originalRank: r.originalRank,
      drift: r.drift,
      neighbours: r.neighbours.map((n) => ({ token: n.token, cosine: n.cosine })),
    })),
  }));
}
