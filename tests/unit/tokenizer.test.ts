// ClipTokenizer on a small byte-level vocabulary made here (the real 49k one is exercised in
// tests/conformance/tokenizer.test.ts): normalisation, pre-tokenizing, merge order,
// specials, truncation, decoding and file errors.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ClipTokenizer, vocabularyFromMerges } from '../../src-main/clip/tokenizer';

const vocabFromMerges = (merges: string[]) => Object.fromEntries(vocabularyFromMerges(merges).map((token, id) => [token, id]));

const MERGES = ['d o', 'do g</w>', 'c a', 'ca t</w>', "' s</w>", "' t</w>", 'i t</w>', 'a a', 'p h', 'ph o', 'pho t', 'phot o</w>', 'o f</w>'];
const vocab = vocabFromMerges(MERGES);
const tok = new ClipTokenizer(vocab, MERGES);
const id = (symbol: string): number => {
  const v = vocab[symbol];
  if (v === undefined) throw new Error(`test vocabulary lacks ${symbol}`);
  return v;
};

describe('ClipTokenizer: encoding', () => {
  it('finds SOT/EOT in the vocabulary', () => {
    expect(tok.sot).toBe(id('<|startoftext|>'));
    expect(tok.eot).toBe(id('<|endoftext|>'));
    expect(tok.vocabSize).toBe(Object.keys(vocab).length);
  });

  it('applies merges and marks the end of each word', () => {
    expect(tok.encode('dog cat')).toEqual([id('dog</w>'), id('cat</w>')]);
    expect(tok.encode('a photo of a dog')).toEqual([id('a</w>'), id('photo</w>'), id('of</w>'), id('a</w>'), id('dog</w>')]);
  });

  it('merges the lowest-ranked pair first', () => {
    const bcFirst = new ClipTokenizer(vocabFromMerges(['b c</w>', 'a b']), ['b c</w>', 'a b']);
    const abFirst = new ClipTokenizer(vocabFromMerges(['a b', 'b c</w>']), ['a b', 'b c</w>']);
    expect(bcFirst.encode('abc').map((i) => bcFirst.tokenString(i))).toEqual(['a', 'bc</w>']);
    expect(abFirst.encode('abc').map((i) => abFirst.tokenString(i))).toEqual(['ab', 'c</w>']);
  });

  it('merges repeated pairs left to right without overlap', () => {
    expect(tok.encode('aaa').map((i) => tok.tokenString(i))).toEqual(['aa', 'a</w>']);
    // 'a a</w>' is no rule: the final symbol carries the word end and stays apart.
    expect(tok.encode('aaaa').map((i) => tok.tokenString(i))).toEqual(['aa', 'a', 'a</w>']);
  });

  it('collapses whitespace, strips and lower-cases', () => {
    const expected = tok.encode('a photo of a dog');
    expect(tok.encode('  A\tPHOTO \n of   a Dog ')).toEqual(expected);
    expect(tok.encode('a\u3000photo\u00a0of\u0085a\u2028dog')).toEqual(expected); // Unicode White_Space, NEL included
  });

  it('composes to NFC before encoding', () => {
    expect(tok.encode('cafe\u0301')).toEqual(tok.encode('caf\u00e9'));
  });

  it('lower-cases per code point (a final Σ becomes σ, as in HF fast)', () => {
    expect(tok.encode('ΟΔΟΣ')).toEqual(tok.encode('οδοσ'));
    expect(tok.encode('ΟΔΟΣ')).not.toEqual(tok.encode('οδος'));
  });

  it('splits digits one by one', () => {
    expect(tok.encode('2012').map((i) => tok.tokenString(i))).toEqual(['2</w>', '0</w>', '1</w>', '2</w>']);
  });

  it("splits CLIP's contractions and runs of symbols", () => {
    expect(tok.encode("it's")).toEqual([id('it</w>'), id("'s</w>")]);
    expect(tok.encode("DON'T").map((i) => tok.tokenString(i))).toEqual(['do', 'n</w>', "'t</w>"]);
    expect(tok.encode('x-ray!!').map((i) => tok.tokenString(i))).toEqual(['x</w>', '-</w>', 'r', 'a', 'y</w>', '!', '!</w>']);
    expect(tok.encode('snake_case').map((i) => tok.tokenString(i))).toEqual(['s', 'n', 'a', 'k', 'e</w>', '_</w>', 'ca', 's', 'e</w>']);
  });

  it('keeps a run of CJK ideographs as one word (HF fast / OpenAI, not BERT-style splitting)', () => {
    const symbols = tok.encode('日本').map((i) => tok.tokenString(i));
    expect(symbols).toHaveLength(6); // six UTF-8 bytes, one word
    expect(symbols.filter((s) => s.endsWith('</w>'))).toHaveLength(1);
  });

  it('encodes emoji as their UTF-8 bytes', () => {
    const symbols = tok.encode('🐶').map((i) => tok.tokenString(i));
    expect(symbols).toHaveLength(4);
    expect(tok.decode(tok.encode('🐶'))).toBe('🐶');
  });

  it('does not unescape HTML entities (HF behaviour)', () => {
    expect(tok.encode('&amp;').map((i) => tok.tokenString(i))).toEqual(['&</w>', 'a', 'm', 'p</w>', ';</w>']);
  });

  it('reads literal special-token strings as the special ids', () => {
    expect(tok.encode('a <|endoftext|> dog')).toEqual([id('a</w>'), tok.eot, id('dog</w>')]);
  });

  it('gives the same ids on repeated calls (the word cache)', () => {
    const first = tok.encode('photo photo dog');
    expect(tok.encode('photo photo dog')).toEqual(first);
    expect(first[0]).toBe(first[1]);
  });
});

describe('ClipTokenizer: specials and truncation', () => {
  it('wraps in SOT/EOT; empty text is [SOT, EOT]', () => {
    expect(tok.encodeWithSpecials('dog')).toEqual([tok.sot, id('dog</w>'), tok.eot]);
    expect(tok.encodeWithSpecials('')).toEqual([tok.sot, tok.eot]);
    expect(tok.encodeWithSpecials('   \n ')).toEqual([tok.sot, tok.eot]);
  });

  it('cuts over-long text to 77 tokens keeping EOT last', () => {
    const ids = tok.encodeWithSpecials('dog '.repeat(200));
    expect(ids).toHaveLength(77);
    expect(ids[0]).toBe(tok.sot);
    expect(ids[76]).toBe(tok.eot);
    expect(ids.slice(1, 76).every((i) => i === id('dog</w>'))).toBe(true);
  });

  it('honours a custom context length and leaves shorter text alone', () => {
    expect(tok.encodeWithSpecials('dog cat dog cat', 4)).toEqual([tok.sot, id('dog</w>'), id('cat</w>'), tok.eot]);
    expect(tok.encodeWithSpecials('dog cat', 4)).toEqual([tok.sot, id('dog</w>'), id('cat</w>'), tok.eot]);
    expect(() => tok.encodeWithSpecials('dog', 1)).toThrow(/at least 2/);
  });
});

describe('ClipTokenizer: decoding', () => {
  it('round-trips text (words separated by single spaces)', () => {
    for (const text of ['a photo of a dog', 'café crème brûlée', 'naïve résumé', '日本語のテキスト', 'emoji 🐶 dog', "it's", 'snake_case']) {
      const roundTrip = tok.decode(tok.encodeWithSpecials(text));
      expect(roundTrip.replaceAll(' ', '')).toBe(text.replaceAll(' ', ''));
    }
    expect(tok.decode(tok.encode('a photo of a dog'))).toBe('a photo of a dog');
    expect(tok.decode(tok.encode('a dog.'))).toBe('a dog .');
  });

  it('skips SOT/EOT and trims', () => {
    expect(tok.decode([tok.sot, id('dog</w>'), tok.eot, tok.eot])).toBe('dog');
    expect(tok.decode([])).toBe('');
  });

  it('gives raw and readable single tokens', () => {
    expect(tok.tokenString(id('dog</w>'))).toBe('dog</w>');
    expect(tok.tokenText(id('dog</w>'))).toBe('dog');
    expect(tok.tokenText(id('do'))).toBe('do');
    expect(tok.tokenText(tok.eot)).toBe('<|endoftext|>');
    // A lone UTF-8 continuation byte is not text on its own: it reads as U+FFFD.
    expect(tok.tokenText(tok.encode('é')[0])).toBe('\ufffd');
  });

  it('rejects ids outside the vocabulary', () => {
    expect(() => tok.tokenString(tok.vocabSize + 5)).toThrow(RangeError);
    expect(() => tok.decode([-1])).toThrow(/not in the vocabulary/);
  });
});

describe('ClipTokenizer.fromFolder', () => {
  const dirs: string[] = [];
  const folder = (files: Record<string, string>): string => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lamm-tok-'));
    dirs.push(dir);
    for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
    return dir;
  };
  afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
  const mergesText = `#version: 0.2\n${MERGES.join('\n')}\n`;

  it('reads vocab.json + merges.txt (header skipped)', () => {
    const fromDisk = ClipTokenizer.fromFolder(folder({ 'vocab.json': JSON.stringify(vocab), 'merges.txt': mergesText }));
    expect(fromDisk.encodeWithSpecials('a photo of a dog')).toEqual(tok.encodeWithSpecials('a photo of a dog'));
  });

  it('names the missing file', () => {
    expect(() => ClipTokenizer.fromFolder(folder({ 'merges.txt': mergesText }))).toThrow(/tokenizer file is missing: .*vocab\.json/);
    expect(() => ClipTokenizer.fromFolder(folder({ 'vocab.json': JSON.stringify(vocab) }))).toThrow(/tokenizer file is missing: .*merges\.txt/);
  });

  it('names a corrupt file in one line', () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ 'vocab.json': '{"a": 1,', 'merges.txt': mergesText }, /vocab\.json is not valid JSON/],
      [{ 'vocab.json': '[1, 2]', 'merges.txt': mergesText }, /vocab\.json must be a JSON object/],
      [{ 'vocab.json': '{"a": "x"}', 'merges.txt': mergesText }, /vocab\.json: token "a" has id "x"/],
      [{ 'vocab.json': JSON.stringify({ a: 0 }), 'merges.txt': mergesText }, /vocab\.json lacks <\|startoftext\|>/],
      [{ 'vocab.json': JSON.stringify(vocab), 'merges.txt': '#version: 0.2\nd o\ndog\n' }, /merges\.txt rule 2 is not "left right"/],
      [{ 'vocab.json': JSON.stringify(vocab), 'merges.txt': '\n' }, /merges\.txt is empty/],
    ];
    for (const [files, message] of cases) {
      let error: Error | undefined;
      try {
        ClipTokenizer.fromFolder(folder(files));
      } catch (err) {
        error = err as Error;
      }
      expect(error?.message).toMatch(message);
      expect(error?.message).not.toContain('\n');
    }
  });

  it('refuses a vocabulary without the byte alphabet', () => {
    expect(() => new ClipTokenizer({ a: 0, '<|startoftext|>': 1, '<|endoftext|>': 2 }, [])).toThrow(/byte symbol/);
  });
});
