// Inspect's "Words" view: neighbours drawn from whole-word tokens only, on the committed demo
// CLIP, whose vocabulary is mostly byte tokens; the original token's rank still counts them all.
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src-main/backend';
import { loadClip, type ClipModel } from '../../src-main/clip';
import { DEMO_MODEL_DIR } from '../../src-main/demo/dataset';
import { isWordToken, readableToken, tokenNeighbours } from '../../src-main/lamm/neighbours';

let model: ClipModel;

beforeAll(async () => {
  await initBackend();
  model = await loadClip(DEMO_MODEL_DIR);
});
afterAll(() => model?.dispose());

const id = (token: string) => {
  for (let i = 0; i < model.tokenizer.vocabSize; i++) if (model.tokenizer.tokenString(i) === token) return i;
  throw new Error(`${token} is not in the demo vocabulary`);
};

describe('word tokens', () => {
  it('are word-final entries of letters or digits, not bytes, single characters or word starts', () => {
    const t = model.tokenizer;
    expect(isWordToken(t, id('blue</w>'))).toBe(true);
    expect(isWordToken(t, id('azure</w>'))).toBe(true);
    expect(isWordToken(t, id('v</w>'))).toBe(false); // a lone ASCII character
    expect(isWordToken(t, id('Ã</w>'))).toBe(false); // half of a UTF-8 character
    expect(isWordToken(t, id('argen'))).toBe(false); // a word's start: no </w>
    expect(isWordToken(t, t.sot)).toBe(false);
  });

  it('read as their text, or as bytes where the text is not whole characters', () => {
    const t = model.tokenizer;
    expect(readableToken(t, id('blue</w>'))).toBe('blue');
    expect(readableToken(t, id('argen'))).toBe('argen');
    expect(readableToken(t, id('Ã</w>'))).toBe('<0xC3>');
    expect(readableToken(t, id('Ċ'))).toBe('<0x0A>'); // a newline
    const shown = Array.from({ length: t.vocabSize }, (_, i) => readableToken(t, i));
    expect(shown.every((s) => s.length > 0 && !s.includes('\uFFFD'))).toBe(true);
  });

  it('filter the neighbours but not the rank of the original token', async () => {
    const before = tf.memory().numTensors;
    const ids = model.tokenizer.encode('azure roundel');
    // A vector between two tokens, so neither is its own nearest and the rank is above 1.
    const rows = tf.tidy(() => {
      const table = tf.gather(model.tokenEmbedding, tf.tensor1d(ids, 'int32'));
      return tf.add(table.mul(0.4), table.reverse(0).mul(0.6)).dataSync() as Float32Array;
    });
    const words = (i: number) => isWordToken(model.tokenizer, i);
    const all = await tokenNeighbours(model, rows, ids, 12);
    const onlyWords = await tokenNeighbours(model, rows, ids, 12, words);
    for (let q = 0; q < ids.length; q++) {
      expect(onlyWords[q].originalRank).toBe(all[q].originalRank);
      expect(onlyWords[q].drift).toBe(all[q].drift);
      expect(onlyWords[q].neighbours).toHaveLength(12);
      expect(onlyWords[q].neighbours.every((n) => words(n.id))).toBe(true);
      // The same order as the full list, with the non-words taken out.
      const cosines = onlyWords[q].neighbours.map((n) => n.cosine);
      expect(cosines).toEqual([...cosines].sort((a, b) => b - a));
      expect(all[q].neighbours.filter((n) => words(n.id))).toEqual(onlyWords[q].neighbours.slice(0, all[q].neighbours.filter((n) => words(n.id)).length));
    }
    expect(all.some((r) => r.neighbours.some((n) => !words(n.id)))).toBe(true); // the filter had something to do
    expect(tf.memory().numTensors).toBe(before);
  });
});
