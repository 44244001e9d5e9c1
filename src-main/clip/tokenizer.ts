// CLIP's byte-level BPE tokenizer, matching Hugging Face's CLIP tokenizer.
//
// Normalisation follows HF's CLIPTokenizerFast (what AutoTokenizer loads): NFC, runs of
// whitespace to one space, lower-case per code point. The slow CLIPTokenizer gives the same
// ids when ftfy is installed; without ftfy it falls back to BERT's BasicTokenizer, which also
// puts spaces around CJK ideographs and so splits '日本語' differently from every other CLIP
// tokenizer (OpenAI's, HF fast, golden.json). HTML entities are left alone (HF does not
// unescape; OpenAI's tokenizer does).
import fs from 'node:fs';
import path from 'node:path';

export const SOT_TOKEN = '<|startoftext|>';
export const EOT_TOKEN = '<|endoftext|>';
export const END_OF_WORD = '</w>';
/** CLIP's text context (positions); callers may pass a model's own. */
export const CLIP_CONTEXT_LENGTH = 77;
/** HF reads at most this many merges (49152 BPE symbols less the 256 bytes and 2 specials). */
const MAX_MERGES = 49152 - 256 - 2;
/** Bound on the per-word BPE cache, so a long-lived app cannot grow it without end. */
const MAX_CACHED_WORDS = 100_000;

const SPECIAL_SPLIT = /(<\|startoftext\|>|<\|endoftext\|>)/;
const WHITESPACE_RUN = /\p{White_Space}+/gu;
// CLIP's pre-tokenizer: contractions, letter runs, single digits, runs of other symbols.
const WORD_PATTERN = /'s|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|[^\p{White_Space}\p{L}\p{N}]+/gu;

/**
 * GPT-2's reversible byte → printable-character map: printable Latin-1 bytes map to
 * themselves, the rest to code points from 256 up, so BPE never sees whitespace or controls.
 */
export function bytesToUnicode(): string[] {
  const printable = (b: number) => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
  const table: string[] = new Array(256);
  let next = 256;
  for (let b = 0; b < 256; b++) table[b] = String.fromCharCode(printable(b) ? b : next++);
  return table;
}

const BYTE_TO_CHAR = bytesToUnicode();
const CHAR_TO_BYTE = new Map(BYTE_TO_CHAR.map((ch, b) => [ch, b]));
const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8'); // non-fatal: broken sequences become U+FFFD, like HF's errors="replace"

function normalize(text: string): string {
  const collapsed = text.normalize('NFC').replace(WHITESPACE_RUN, ' ').trim();
  // Per code point, like the Rust normaliser (String.toLowerCase would turn a final Σ into ς).
  let lower = '';
  for (const ch of collapsed) lower += ch.toLowerCase();
  return lower;
}

export class ClipTokenizer {
  readonly sot: number;
  readonly eot: number;
  readonly vocabSize: number;
  private readonly encoder: Map<string, number>;
  private readonly decoder: string[];
  /** Merge rank by the pair key `${left} ${right}` (symbols never contain a space). */
  private readonly ranks: Map<string, number>;
  private readonly cache = new Map<string, number[]>();

  /** Reads `vocab.json` and `merges.txt` from a Hugging Face CLIP folder. */
  static fromFolder(folder: string): ClipTokenizer {
    const vocabFile = path.join(folder, 'vocab.json');
    const mergesFile = path.join(folder, 'merges.txt');
    return ClipTokenizer.fromText(readText(vocabFile), readText(mergesFile), { vocab: vocabFile, merges: mergesFile, folder });
  }

  /** The same from the two files' text (the GPU host page has no file system); `names` label errors. */
  static fromText(vocabText: string, mergesText: string, names = { vocab: 'vocab.json', merges: 'merges.txt', folder: 'the model' }): ClipTokenizer {
    const vocab = parseVocab(vocabText, names.vocab);
    const text = mergesText.trim();
    if (text === '') throw new Error(`${names.merges} is empty`);
    const lines = text.split('\n');
    // HF skips line 1, the "#version" header every CLIP merges.txt has; a file without one keeps its first rule.
    const merges = lines[0]?.startsWith('#version') ? lines.slice(1) : lines;
    try {
      return new ClipTokenizer(vocab, merges.slice(0, MAX_MERGES));
    } catch (err) {
      throw new Error(`tokenizer in ${names.folder}: ${(err as Error).message}`);
    }
  }

  /** `merges`: lines "left right" in rank order, without the header. */
  constructor(vocab: Record<string, number>, merges: string[]) {
    this.encoder = new Map(Object.entries(vocab));
    this.vocabSize = this.encoder.size;
    this.decoder = [];
    for (const [token, id] of this.encoder) this.decoder[id] = token;
    const sot = this.encoder.get(SOT_TOKEN);
    const eot = this.encoder.get(EOT_TOKEN);
    if (sot === undefined || eot === undefined) throw new Error(`vocab.json lacks ${sot === undefined ? SOT_TOKEN : EOT_TOKEN}`);
    this.sot = sot;
    this.eot = eot;
    const missingByte = BYTE_TO_CHAR.find((ch) => !this.encoder.has(ch));
    if (missingByte !== undefined) throw new Error(`vocab.json lacks the byte symbol ${JSON.stringify(missingByte)}: not a byte-level BPE vocabulary`);
    this.ranks = new Map();
    merges.forEach((raw, rank) => {
      const line = raw.trim();
      const space = line.indexOf(' ');
      if (space <= 0 || space === line.length - 1 || line.includes(' ', space + 1)) {
        throw new Error(`merges.txt rule ${rank + 1} is not "left right": ${JSON.stringify(raw)}`);
      }
      this.ranks.set(line, rank); // a repeated rule takes its later rank, as in HF's dict
    });
  }

  /** BPE ids of `text`, without SOT/EOT. Literal `<|startoftext|>`/`<|endoftext|>` become their ids, as in HF. */
  encode(text: string): number[] {
    const ids: number[] = [];
    for (const piece of text.split(SPECIAL_SPLIT)) {
      if (piece === SOT_TOKEN) ids.push(this.sot);
      else if (piece === EOT_TOKEN) ids.push(this.eot);
      else for (const word of normalize(piece).match(WORD_PATTERN) ?? []) ids.push(...this.encodeWord(word));
    }
    return ids;
  }

  /** `[SOT, ...ids, EOT]`, cut to `contextLength` with EOT kept last (as CLIP truncates). */
  encodeWithSpecials(text: string, contextLength = CLIP_CONTEXT_LENGTH): number[] {
    if (!(contextLength >= 2)) throw new Error(`context length must be at least 2 (SOT and EOT), got ${contextLength}`);
    const ids = [this.sot, ...this.encode(text)].slice(0, contextLength - 1);
    ids.push(this.eot);
    return ids;
  }

  /** Text back from ids: SOT/EOT skipped, `</w>` read as a space, bytes decoded as UTF-8, trimmed. */
  decode(ids: number[]): string {
    return this.decodeTokens(ids.filter((id) => id !== this.sot && id !== this.eot).map((id) => this.tokenString(id)));
  }

  /** The raw vocabulary entry, e.g. `dog</w>`. */
  tokenString(id: number): string {
    const token = Number.isInteger(id) ? this.decoder[id] : undefined;
    if (token === undefined) throw new RangeError(`token id ${id} is not in the vocabulary (${this.vocabSize} tokens)`);
    return token;
  }

  /** One token as readable text (`dog</w>` → `dog`); the special tokens read as themselves. */
  tokenText(id: number): string {
    if (id === this.sot || id === this.eot) return this.tokenString(id);
    return this.decodeTokens([this.tokenString(id)]);
  }

  private decodeTokens(tokens: string[]): string {
    const bytes: number[] = [];
    for (const ch of tokens.join('')) {
      const b = CHAR_TO_BYTE.get(ch);
      // Only an added token could hold a character outside the byte alphabet: keep it as its own UTF-8.
      if (b === undefined) bytes.push(...utf8.encode(ch));
      else bytes.push(b);
    }
    return utf8Decoder.decode(Uint8Array.from(bytes)).replaceAll(END_OF_WORD, ' ').trim();
  }

  private encodeWord(word: string): number[] {
    const cached = this.cache.get(word);
    if (cached) return cached;
    let mapped = '';
    for (const b of utf8.encode(word)) mapped += BYTE_TO_CHAR[b];
    const ids = this.bpe(mapped).map((symbol) => this.encoder.get(symbol) ?? this.eot); // HF's unk token is EOT
    if (this.cache.size >= MAX_CACHED_WORDS) this.cache.clear();
    this.cache.set(word, ids);
    return ids;
  }

  /** Merges the lowest-ranked adjacent pair, everywhere in the word, until no known pair is left. */
  private bpe(mapped: string): string[] {
    let symbols = [...mapped];
    symbols[symbols.length - 1] += END_OF_WORD;
    while (symbols.length > 1) {
      let bestRank = Infinity;
      let best = -1;
      for (let i = 0; i < symbols.length - 1; i++) {
        const rank = this.ranks.get(`${symbols[i]} ${symbols[i + 1]}`);
        if (rank !== undefined && rank < bestRank) {
          bestRank = rank;
          best = i;
        }
      }
      if (best < 0) break;
      const left = symbols[best];
      const right = symbols[best + 1];
      const merged: string[] = [];
      for (let i = 0; i < symbols.length; i++) {
        if (i < symbols.length - 1 && symbols[i] === left && symbols[i + 1] === right) {
          merged.push(left + right);
          i++;
        } else {
          merged.push(symbols[i]);
        }
      }
      symbols = merged;
    }
    return symbols;
  }
}

function readText(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(code === 'ENOENT' ? `tokenizer file is missing: ${file}` : `cannot read ${file}: ${(err as Error).message}`);
  }
}

function parseVocab(text: string, file: string): Record<string, number> {
  let vocab: unknown;
  try {
    vocab = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file} is not valid JSON: ${(err as Error).message}`);
  }
  if (!vocab || typeof vocab !== 'object' || Array.isArray(vocab)) throw new Error(`${file} must be a JSON object of token → id`);
  for (const [token, id] of Object.entries(vocab)) {
    if (!Number.isInteger(id) || (id as number) < 0)
      throw new Error(`${file}: token ${JSON.stringify(token)} has id ${JSON.stringify(id)}, expected a non-negative integer`);
  }
  return vocab as Record<string, number>;
}

/** The byte symbols in CLIP's vocabulary order: printable bytes (which stand for themselves) first, then the rest (code points 256 up). */
export function byteSymbolsInVocabOrder(): string[] {
  return [...bytesToUnicode()].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
}

/**
 * The vocabulary Hugging Face derives from BPE merges ("left right" lines, in rank order), in
 * id order: the byte symbols, the same with `</w>`, each merge joined (unless already present),
 * then SOT and EOT.
 */
export function vocabularyFromMerges(merges: readonly string[]): string[] {
  const bytes = byteSymbolsInVocabOrder();
  const tokens = [...bytes, ...bytes.map((s) => s + END_OF_WORD)];
  const seen = new Set(tokens);
  for (const merge of merges) {
    const joined = merge.replace(' ', '');
    if (!seen.has(joined)) {
      seen.add(joined);
      tokens.push(joined);
    }
  }
  tokens.push(SOT_TOKEN, EOT_TOKEN);
  return tokens;
}

/** Writes vocab.json, merges.txt and the tokenizer configs of a Hugging Face CLIP folder. */
export function writeTokenizerFiles(dir: string, tokens: readonly string[], merges: readonly string[], maxPositions: number): void {
  fs.mkdirSync(dir, { recursive: true });
  // Written by hand in id order: JSON.stringify would move integer-like keys ("0"…"9") to the front.
  const entries = tokens.map((token, id) => `${JSON.stringify(token)}: ${id}`);
  fs.writeFileSync(path.join(dir, 'vocab.json'), `{${entries.join(', ')}}\n`);
  fs.writeFileSync(path.join(dir, 'merges.txt'), `#version: 0.2\n${merges.join('\n')}\n`);
  const special = { bos_token: SOT_TOKEN, eos_token: EOT_TOKEN, pad_token: EOT_TOKEN, unk_token: EOT_TOKEN };
  fs.writeFileSync(path.join(dir, 'special_tokens_map.json'), `${JSON.stringify(special, null, 2)}\n`);
  fs.writeFileSync(
    path.join(dir, 'tokenizer_config.json'),
    `${JSON.stringify({ ...special, model_max_length: maxPositions, do_lower_case: true, tokenizer_class: 'CLIPTokenizer' }, null, 2)}\n`,
  );
}
