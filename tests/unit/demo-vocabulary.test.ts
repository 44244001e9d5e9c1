// The demo's BPE: CLIP's vocabulary layout, every corpus word one token through the project's
// CLIP tokenizer, and the heraldic words kept out of every caption.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ClipTokenizer } from '../../src-main/clip/tokenizer';
import { captionWords } from '../../src-main/demo/captions';
import { byteSymbolsInVocabOrder, EOT_TOKEN as END_OF_TEXT, SOT_TOKEN as START_OF_TEXT } from '../../src-main/clip/tokenizer';
import { RARE_WORDS, buildVocabulary, demoVocabularyWords, learnMerges, writeTokenizerFiles } from '../../src-main/demo/vocabulary';
import { GOLDEN_MODEL_DIR, HAS_GOLDEN } from '../helpers/golden';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lamm-demo-vocab-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('demo vocabulary', () => {
  it('learns merges until every word is one symbol, deterministically', () => {
    const words = ['lower', 'lowest', 'newer', 'wider', 'a'];
    const merges = learnMerges(words);
    expect(learnMerges([...words].reverse())).toEqual(merges);
    // The most shared pair comes first: "e r</w>" ends lower, newer and wider.
    expect(merges[0]).toEqual(['e', 'r</w>']);
    // Each word of n bytes needs at most n − 1 merges, shared ones counted once.
    expect(merges.length).toBeLessThanOrEqual(words.reduce((n, w) => n + w.length - 1, 0));
  });

  it("lays the vocabulary out as CLIP's: bytes, bytes</w>, merges, then the two specials", () => {
    const vocab = buildVocabulary(['circle', 'circles', 'red']);
    const bytes = byteSymbolsInVocabOrder();
    expect(bytes).toHaveLength(256);
    expect(new Set(bytes).size).toBe(256);
    expect(vocab.tokens.slice(0, 256)).toEqual(bytes);
    expect(vocab.tokens.slice(256, 512)).toEqual(bytes.map((b) => `${b}</w>`));
    expect(vocab.tokens.slice(-2)).toEqual([START_OF_TEXT, END_OF_TEXT]);
    expect(new Set(vocab.tokens).size).toBe(vocab.tokens.length);
    expect(vocab.tokens).toContain('circle</w>');
    expect(vocab.tokens).toContain('circles</w>');
  });

  it.skipIf(!HAS_GOLDEN)('orders the byte symbols exactly as the real CLIP vocabulary does', () => {
    const golden = JSON.parse(fs.readFileSync(path.join(GOLDEN_MODEL_DIR, 'vocab.json'), 'utf8')) as Record<string, number>;
    const first = Object.entries(golden)
      .filter(([, id]) => id < 512)
      .sort((a, b) => a[1] - b[1])
      .map(([t]) => t);
    const bytes = byteSymbolsInVocabOrder();
    expect(first).toEqual([...bytes, ...bytes.map((b) => `${b}</w>`)]);
  });

  it('makes every demo word a single token for the CLIP tokenizer, and decodes it back', () => {
    const words = demoVocabularyWords();
    const dir = path.join(tmp, 'demo');
    writeTokenizerFiles(dir, buildVocabulary(words), 32);
    expect(fs.readFileSync(path.join(dir, 'merges.txt'), 'utf8').split('\n')[0]).toBe('#version: 0.2');
    const tokenizer = ClipTokenizer.fromFolder(dir);
    for (const w of words) {
      const ids = tokenizer.encode(w);
      expect(ids, w).toHaveLength(1);
      expect(tokenizer.decode(ids)).toBe(w);
    }
    const prompt = tokenizer.encodeWithSpecials('A photo of a gules lozenge.');
    expect(prompt).toHaveLength(9);
    expect(prompt[0]).toBe(tokenizer.vocabSize - 2);
    expect(prompt.at(-1)).toBe(tokenizer.vocabSize - 1);
    // Words outside the corpus still tokenise, as pieces.
    expect(tokenizer.decode(tokenizer.encode('octagon'))).toBe('octagon');
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer_config.json'), 'utf8')).model_max_length).toBe(32);
  });

  it('keeps the rare (heraldic) words out of every caption', () => {
    const taught = new Set(captionWords());
    for (const w of RARE_WORDS) expect(taught.has(w), w).toBe(false);
  });
});
