// The tokenizer on the real CLIP vocabulary (../shared/golden/tiny-random-clip) against
// golden.json's ids.
import { beforeAll, describe, expect, it } from 'vitest';
import { ClipTokenizer } from '../../src-main/clip/tokenizer';
import { GOLDEN_MODEL_DIR, HAS_GOLDEN, loadGolden } from '../helpers/golden';

const HTML_CASE = '&amp; html &lt;tag&gt;';
// golden.json holds OpenAI's ids for this case (it unescapes HTML). Hugging Face does not; these
// are HF's ids, from a line-by-line Python restatement of transformers' CLIPTokenizer run on
// the same vocab.json/merges.txt: '&' 'amp' ';' 'html' '&' 'lt' ';' 'tag' '&' 'gt' ';'.
const HTML_CASE_HF_IDS = [49406, 261, 6259, 282, 18231, 261, 3333, 282, 3640, 261, 4725, 282, 49407];

describe.skipIf(!HAS_GOLDEN)('CLIP tokenizer on the real vocabulary (golden)', () => {
  let tok: ClipTokenizer;
  beforeAll(() => {
    tok = ClipTokenizer.fromFolder(GOLDEN_MODEL_DIR);
  });

  // Speed is bench/encode.ts's business (ratios, not a time budget in a test).
  it('loads 49408 tokens and 48894 merges', () => {
    expect(tok.vocabSize).toBe(49408);
    expect([tok.sot, tok.eot]).toEqual([49406, 49407]);
  });

  for (const c of HAS_GOLDEN ? loadGolden().tokenize : []) {
    it(`tokenizes ${JSON.stringify(c.text)}`, () => {
      const ids = tok.encodeWithSpecials(c.text);
      if (c.text === HTML_CASE) {
        expect(c.ids).not.toEqual(HTML_CASE_HF_IDS); // golden's variant is OpenAI's
        expect(ids).toEqual(HTML_CASE_HF_IDS);
      } else {
        expect(ids).toEqual(c.ids);
      }
    });
  }

  it('decodes the golden ids back to the normalised text', () => {
    const byText = new Map(loadGolden().tokenize.map((c) => [c.text, c.ids]));
    expect(tok.decode(byText.get('a photo of a dog.')!)).toBe('a photo of a dog .');
    expect(tok.decode(byText.get('café crème brûlée')!)).toBe('café crème brûlée');
    expect(tok.decode(byText.get('日本語のテキスト')!)).toBe('日本語のテキスト');
    expect(tok.decode(byText.get('emoji 🐶 dog')!)).toBe('emoji 🐶 dog');
    expect(tok.decode(byText.get('1234567890')!)).toBe('1 2 3 4 5 6 7 8 9 0');
  });

  it('shows single tokens for the neighbour view', () => {
    expect(tok.tokenString(1929)).toBe('dog</w>');
    expect(tok.tokenText(1929)).toBe('dog');
    expect(tok.tokenText(tok.sot)).toBe('<|startoftext|>');
  });

  it('encodes a long prompt list the same word by word as whole (the per-word cache changes nothing)', () => {
    const fresh = ClipTokenizer.fromFolder(GOLDEN_MODEL_DIR);
    const prompts = Array.from({ length: 2000 }, (_, i) => `a photo of a dog, a type of pet number ${i}.`);
    const warm = prompts.map((p) => tok.encodeWithSpecials(p));
    expect(prompts.map((p) => tok.encodeWithSpecials(p))).toEqual(warm);
    expect(fresh.encodeWithSpecials(prompts[1999])).toEqual(warm[1999]);
  });
});
