// Label-token setup against a word-level stand-in tokenizer (one token per word, "." its own
// token), so the positions are easy to read; the golden test checks it with the real BPE.
import { describe, expect, it } from 'vitest';
import { setupLabelTokens, type PromptTokenizer } from '../../src-main/lamm/prompts';

const SOT = 1000,
  EOT = 1001;
function wordTokenizer(): PromptTokenizer {
  const vocab = new Map<string, number>();
  const encode = (text: string) =>
    (text.toLowerCase().match(/[a-z]+|[^\sa-z]/g) ?? []).map((w) => {
      if (!vocab.has(w)) vocab.set(w, vocab.size);
      return vocab.get(w)!;
    });
  return { encode, encodeWithSpecials: (text) => [SOT, ...encode(text), EOT] };
}

describe('setupLabelTokens', () => {
  it("finds one label start, min_len and each prompt's EOT", () => {
    const tok = wordTokenizer();
    const s = setupLabelTokens(tok, ['dog', 'red circle', 'annual crop land'], 'a photo of a {}.', 77);
    expect(s.labelStart).toBe(5);
    expect(s.minLen).toBe(1);
    expect(s.promptIds.map((ids) => ids.length)).toEqual([8, 9, 10]);
    expect(s.eot).toEqual([7, 8, 9]);
    expect(s.promptIds.every((ids, c) => ids[s.eot[c]] === EOT && ids[0] === SOT)).toBe(true);
    expect(s.labelTokenIds).toEqual([tok.encode('dog'), tok.encode('red'), tok.encode('annual')]);
  });

  it('trains as many tokens as the shortest name has', () => {
    const s = setupLabelTokens(wordTokenizer(), ['sea lion', 'red circle square'], '{} in the wild', 77);
    expect(s.labelStart).toBe(1);
    expect(s.minLen).toBe(2);
    expect(s.labelTokenIds[1]).toHaveLength(2);
  });

  it('rejects names without tokens, templates that swallow the name, and prompts too long', () => {
    expect(() => setupLabelTokens(wordTokenizer(), ['dog', '  '], 'a {}', 77)).toThrow(/has no tokens/);
    // This stand-in merges nothing, so mimic BPE joining "x" + name by a template without a slot boundary.
    const joining: PromptTokenizer = { encode: (t) => [t.length], encodeWithSpecials: (t) => [SOT, t.length, EOT] };
    expect(() => setupLabelTokens(joining, ['dog'], 'x{}', 77)).toThrow(/joins the class name "dog"/);
    expect(() => setupLabelTokens(wordTokenizer(), ['a b c d e f'], 'a photo of a {}.', 8)).toThrow(/at most 8/);
    expect(() => setupLabelTokens(wordTokenizer(), [], 'a {}', 77)).toThrow(/no classes/);
  });
});
