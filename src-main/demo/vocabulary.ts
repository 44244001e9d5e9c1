// A small CLIP-format byte-level BPE for the demo model, learned from a word list and written
// in the Hugging Face layout: vocab.json = the 256 byte symbols, the same with `</w>`, one
// entry per merge (joined), then <|startoftext|> and <|endoftext|>; merges.txt = a version line
// then one "left right" pair per line, in rank order. CLIP's own tokenizer reads it unchanged.
import fs from 'node:fs';
import { bytesToUnicode, END_OF_WORD, vocabularyFromMerges, writeTokenizerFiles as writeClipTokenizerFiles } from '../clip/tokenizer';
import { captionWords } from './captions';

/**
 * Words the tokenizer knows as whole tokens but no caption ever uses: heraldry's names for
 * colours (tinctures) and shapes (charges). Like rare words in a real CLIP's vocabulary, each
 * has a token embedding that pretraining never trained, so CLIP cannot know what they look
 * like: the label gap LAMM closes. Only some are used as demo class names.
 */
export const RARE_WORDS: readonly string[] = [
  // tinctures
  'argent',
  'azure',
  'celeste',
  'gules',
  'murrey',
  'purpure',
  'sable',
  'sanguine',
  'tenne',
  'vert',
  // charges
  'annulet',
  'bend',
  'bezant',
  'billet',
  'chevron',
  'delf',
  'escutcheon',
  'estoile',
  'fess',
  'fusil',
  'golpe',
  'lozenge',
  'mascle',
  'mullet',
  'pellet',
  'pomme',
  'roundel',
  'saltire',
  'torteau',
  'trefoil',
];

/** Every word of the demo tokenizer's corpus: what captions say, plus the rare words no caption uses. */
export function demoVocabularyWords(): string[] {
  return [...captionWords(), ...RARE_WORDS];
}

/** A word as BPE's starting symbols: one per UTF-8 byte, `</w>` on the last. */
function initialSymbols(word: string, byteToSymbol: string[]): string[] {
  const symbols = [...Buffer.from(word, 'utf8')].map((b) => byteToSymbol[b]);
  symbols[symbols.length - 1] += END_OF_WORD;
  return symbols;
}

/**
 * Learns merges until every word is a single token: each round merges the pair found in the
 * most words (ties broken alphabetically, so the result is deterministic).
 */
export function learnMerges(words: readonly string[]): [string, string][] {
  const byteToSymbol = bytesToUnicode();
  const unique = [...new Set(words.map((w) => w.toLowerCase()))].filter((w) => w.length > 0);
  let pieces = unique.map((w) => initialSymbols(w, byteToSymbol));
  const merges: [string, string][] = [];
  for (;;) {
    pieces = pieces.filter((p) => p.length > 1);
    if (pieces.length === 0) return merges;
    const counts = new Map<string, number>();
    for (const p of pieces) {
      for (let i = 0; i + 1 < p.length; i++) {
        const key = `${p[i]} ${p[i + 1]}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
    }
    let best = '';
    let bestCount = 0;
    for (const [key, count] of counts) {
      if (count > bestCount || (count === bestCount && key < best)) {
        best = key;
        bestCount = count;
      }
    }
    const [left, right] = best.split(' ') as [string, string];
    merges.push([left, right]);
    pieces = pieces.map((p) => mergePair(p, left, right));
  }
}

function mergePair(symbols: string[], left: string, right: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < symbols.length; i++) {
    if (i + 1 < symbols.length && symbols[i] === left && symbols[i + 1] === right) {
      out.push(left + right);
      i++;
    } else {
      out.push(symbols[i]);
    }
  }
  return out;
}

export interface Vocabulary {
  /** Tokens in id order. */
  tokens: string[];
  merges: [string, string][];
}

/** The vocabulary of a word list, ordered as CLIP's. */
export function buildVocabulary(words: readonly string[]): Vocabulary {
  const merges = learnMerges(words);
  return { tokens: vocabularyFromMerges(merges.map(([a, b]) => `${a} ${b}`)), merges };
}

/** The tokenizer files of a Hugging Face CLIP folder, sized for a model of `maxPositions` positions. */
export function writeTokenizerFiles(dir: string, vocab: Vocabulary, maxPositions: number): void {
  writeClipTokenizerFiles(
    dir,
    vocab.tokens,
    vocab.merges.map(([a, b]) => `${a} ${b}`),
    maxPositions,
  );
}

export function writeJson(file: string, value: unknown): void {
  fs.writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);
}
