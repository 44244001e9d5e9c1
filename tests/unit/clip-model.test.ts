// The CLIP engine on generated model folders: loading, malformed folders, shapes, exactness of
// prompt truncation and frozen-layer gradients, and no tensor leaks.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadClip } from '../../src-main/clip/model';
import type { ClipModel } from '../../src-main/clip/types';
import { parseSafetensors, readSafetensorsHeader, encodeSafetensors } from '../../src-main/clip/safetensors';
import { TINY_SPEC, writeSyntheticClip } from '../../src-main/clip/synthetic';
import { textForward, textForwardKeeping, textPrefix } from '../../src-main/clip/encoders';
import { parseClipConfig } from '../../src-main/clip/config';
import { buildWeights, disposeWeights } from '../../src-main/clip/weights';
import { maxAbsDiff } from '../helpers/golden';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lamm-clip-'));
const goodDir = path.join(tmp, 'good');
writeSyntheticClip(goodDir, { ...TINY_SPEC, seed: 7 });

/** A copy of the good folder with one change, for the malformed-model cases. */
function variant(name: string, change: (dir: string) => void): string {
  const dir = path.join(tmp, name);
  fs.cpSync(goodDir, dir, { recursive: true });
  change(dir);
  return dir;
}

function rewriteWeights(dir: string, edit: (t: Record<string, { shape: number[]; data: Float32Array }>) => void, dtype: 'F32' | 'F16' = 'F32') {
  const file = path.join(dir, 'model.safetensors');
  const { tensors } = parseSafetensors(fs.readFileSync(file), file);
  const plain = Object.fromEntries([...tensors].map(([k, v]) => [k, { shape: v.shape, data: v.data }]));
  edit(plain);
  fs.writeFileSync(file, encodeSafetensors(plain, {}, dtype));
}

function editConfig(dir: string, edit: (c: any) => void) {
  const file = path.join(dir, 'config.json');
  const cfg = JSON.parse(fs.readFileSync(file, 'utf8'));
  edit(cfg);
  fs.writeFileSync(file, JSON.stringify(cfg));
}

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('safetensors', () => {
  it('round-trips F32 and converts F16 and BF16 to float32', () => {
    const data = new Float32Array([0, 1, -2.5, 65504, 1e-3, 3.140625]);
    const f32 = parseSafetensors(encodeSafetensors({ x: { shape: [2, 3], data } }), 'f32').tensors.get('x')!;
    expect(Array.from(f32.data)).toEqual(Array.from(data));
    const f16 = parseSafetensors(encodeSafetensors({ x: { shape: [2, 3], data } }, {}, 'F16'), 'f16').tensors.get('x')!;
    expect(f16.dtype).toBe('F16');
    expect(maxAbsDiff(f16.data, data)).toBeLessThan(1e-3);

    // BF16 is the top half of a float32: build one by hand.
    const values = [1, -2, 0.5, 3.140625];
    const header = Buffer.from(JSON.stringify({ y: { dtype: 'BF16', shape: [4], data_offsets: [0, 8] } }));
    const buf = Buffer.alloc(8 + header.length + 8);
    buf.writeBigUInt64LE(BigInt(header.length), 0);
    header.copy(buf, 8);
    const f = new Float32Array(values);
    const u = new Uint32Array(f.buffer);
    u.forEach((bits, i) => buf.writeUInt16LE(bits >>> 16, 8 + header.length + 2 * i));
    expect(Array.from(parseSafetensors(buf, 'bf16').tensors.get('y')!.data)).toEqual(values);
  });

  it('rejects truncated files and bad headers with one-line errors', () => {
    const good = encodeSafetensors({ x: { shape: [4], data: new Float32Array(4) } });
    expect(() => readSafetensorsHeader(good.subarray(0, 5), 'm')).toThrow(/truncated/);
    expect(() => readSafetensorsHeader(good.subarray(0, good.length - 4), 'm')).toThrow(/truncated/);
    const badLen = Buffer.from(good);
    badLen.writeBigUInt64LE(1n << 40n, 0);
    expect(() => readSafetensorsHeader(badLen, 'm')).toThrow(/bad header length/);
    const badJson = Buffer.from(good);
    badJson.write('!', 8);
    expect(() => readSafetensorsHeader(badJson, 'm')).toThrow(/not valid JSON/);
  });
});

describe('loadClip: malformed folders fail with one clear line', () => {
  const cases: [string, (dir: string) => void, RegExp][] = [
    ['no config', (d) => fs.rmSync(path.join(d, 'config.json')), /config\.json is missing/],
    ['config not JSON', (d) => fs.writeFileSync(path.join(d, 'config.json'), '{oops'), /config\.json is not valid JSON/],
    ['no weights', (d) => fs.rmSync(path.join(d, 'model.safetensors')), /model\.safetensors is missing/],
    [
      'truncated weights',
      (d) => {
        const f = path.join(d, 'model.safetensors');
        fs.truncateSync(f, fs.statSync(f).size - 100);
      },
      /truncated/,
    ],
    ['garbage weights', (d) => fs.writeFileSync(path.join(d, 'model.safetensors'), 'not a model at all'), /safetensors/],
    [
      'missing tensor',
      (d) => rewriteWeights(d, (t) => delete t['text_model.final_layer_norm.weight']),
      /missing tensor "text_model\.final_layer_norm\.weight"/,
    ],
    [
      'shape disagrees with config',
      (d) => {
        const cfg = JSON.parse(fs.readFileSync(path.join(d, 'config.json'), 'utf8'));
        cfg.text_config.intermediate_size = 100;
        fs.writeFileSync(path.join(d, 'config.json'), JSON.stringify(cfg));
      },
      /has shape \[128,32\] but config\.json implies \[100,32\]/,
    ],
    ['no vocab', (d) => fs.rmSync(path.join(d, 'vocab.json')), /vocab\.json/],
    // Fewer layers in config.json than in the weights used to load silently (and embed wrongly).
    [
      'config has fewer text layers than the weights',
      (d) =>
        editConfig(d, (c) => {
          c.text_config.num_hidden_layers = 1;
        }),
      /^model\.safetensors: 16 tensors are not used by config\.json: ("text_model\.encoder\.layers\.1\.[\w.]+", ){2}"text_model\.encoder\.layers\.1\.[\w.]+" and 13 more/,
    ],
    [
      'config has fewer vision layers than the weights',
      (d) =>
        editConfig(d, (c) => {
          c.vision_config.num_hidden_layers = 1;
        }),
      /not used by config\.json: "vision_model\.encoder\.layers\.1\./,
    ],
    [
      'a tensor the model has no place for',
      (d) =>
        rewriteWeights(d, (t) => {
          t['text_model.encoder.layers.0.mlp.fc3.weight'] = { shape: [2], data: new Float32Array(2) };
        }),
      /^model\.safetensors: 1 tensor is not used by config\.json: "text_model\.encoder\.layers\.0\.mlp\.fc3\.weight" \(/,
    ],
  ];
  for (const [name, change, message] of cases) {
    it(name, async () => {
      const dir = variant(name.replace(/\W+/g, '-'), change);
      const err = await loadClip(dir).then(
        () => null,
        (e: Error) => e,
      );
      expect(err?.message).toMatch(message);
      expect(err?.message).not.toContain('\n');
    });
  }
  it('position_ids in the weights are still ignored', async () => {
    const dir = variant('position-ids', (d) =>
      rewriteWeights(d, (t) => {
        t['text_model.embeddings.position_ids'] = { shape: [1, 77], data: Float32Array.from({ length: 77 }, (_, i) => i) };
        t['vision_model.embeddings.position_ids'] = { shape: [1, 17], data: Float32Array.from({ length: 17 }, (_, i) => i) };
      }),
    );
    const model = await loadClip(dir);
    model.dispose();
  });
  it('a folder that does not exist', async () => {
    await expect(loadClip(path.join(tmp, 'nope'))).rejects.toThrow(/model folder not found/);
  });
});

describe('loadClip on a valid folder', () => {
  let model: ClipModel;
  beforeAll(async () => {
    model = await loadClip(goodDir);
  });
  afterAll(() => model.dispose());

  it('has the configured shapes', async () => {
    expect(model.tokenEmbedding.shape).toEqual([514, 32]);
    const t = model.encodeText([
      [512, 10, 11, 513],
      [512, 513],
    ]);
    expect(t.shape).toEqual([2, 16]);
    t.dispose();
    const pixels = tf.randomNormal([3, 32, 32, 3]) as tf.Tensor4D;
    const v = model.encodeImages(pixels);
    expect(v.shape).toEqual([3, 16]);
    tf.dispose([pixels, v]);
    expect(model.weightsSha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('prompts cut to the longest row give the same features as 77 tokens', async () => {
    const rows = [
      [512, 40, 41, 42, 513],
      [512, 99, 513],
    ];
    const cut = model.encodeText(rows);
    const full = model.encodeText(rows.map((r) => [...r, ...new Array(77 - r.length).fill(513)]));
    expect(maxAbsDiff(await cut.data(), await full.data())).toBeLessThan(1e-5);
    tf.dispose([cut, full]);
  });

  it('frozen-layer custom gradients equal plain autodiff', async () => {
    const plain = await loadClip(goodDir, { textInputGradients: false });
    const custom = await loadClip(goodDir, { textInputGradients: true });
    const ids = [
      [512, 60, 61, 513],
      [512, 70, 513, 513],
    ];
    const eot = [3, 2];
    const embeds = tf.tidy(() => tf.gather(model.tokenEmbedding, tf.tensor2d(ids, [2, 4], 'int32')) as unknown as tf.Tensor3D);
    const target = tf.randomNormal([2, 16]);
    const grad = (m: ClipModel) => tf.grad((e: tf.Tensor) => tf.sum(tf.mul(m.encodeTextEmbeddings(e as tf.Tensor3D, eot), target)))(embeds);
    const a = grad(custom);
    const b = grad(plain);
    const scale = tf.max(tf.abs(b)).dataSync()[0];
    expect(scale).toBeGreaterThan(0);
    expect(maxAbsDiff(await a.data(), await b.data()) / scale).toBeLessThan(1e-5);
    tf.dispose([embeds, target, a, b]);
    plain.dispose();
    custom.dispose();
  });

  it('accepts logit_scale of shape [1] and F16 weights', async () => {
    const dir = variant('f16', (d) =>
      rewriteWeights(
        d,
        (t) => {
          t.logit_scale = { shape: [1], data: t.logit_scale.data };
        },
        'F16',
      ),
    );
    const half = await loadClip(dir);
    expect(half.logitScale).toBeCloseTo(model.logitScale, 2);
    const a = half.encodeText([[512, 5, 513]]);
    const b = model.encodeText([[512, 5, 513]]);
    expect(maxAbsDiff(await a.data(), await b.data())).toBeLessThan(2e-2);
    tf.dispose([a, b]);
    half.dispose();
  });

  it('leaks no tensors across repeated calls', async () => {
    const once = async () => {
      const t = model.encodeText([[512, 1, 2, 513]]);
      await t.data();
      t.dispose();
      const px = tf.zeros([1, 32, 32, 3]) as tf.Tensor4D;
      const v = model.encodeImages(px);
      await v.data();
      tf.dispose([px, v]);
      const e = tf.zeros([1, 3, 32]) as tf.Tensor3D;
      const g = tf.grad((x: tf.Tensor) => tf.sum(model.encodeTextEmbeddings(x as tf.Tensor3D, [2])))(e);
      await g.data();
      tf.dispose([e, g]);
    };
    await once();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) await once();
    expect(tf.memory().numTensors).toBe(before);
  });

  it("pools at the vocabulary's EOT even when config.json says eos_token_id 2 (old HF exports)", async () => {
    const dir = variant('eos2', (d) => {
      const cfg = JSON.parse(fs.readFileSync(path.join(d, 'config.json'), 'utf8'));
      cfg.text_config.eos_token_id = 2;
      cfg.text_config.bos_token_id = 0;
      fs.writeFileSync(path.join(d, 'config.json'), JSON.stringify(cfg));
    });
    const old = await loadClip(dir);
    const a = old.encodeText([[512, 5, 6, 513]]);
    const b = model.encodeText([[512, 5, 6, 513]]);
    expect(maxAbsDiff(await a.data(), await b.data())).toBe(0);
    tf.dispose([a, b]);
    old.dispose();
  });

  it('refuses use after dispose', async () => {
    const m = await loadClip(goodDir);
    m.dispose();
    expect(() => m.encodeText([[512, 513]])).toThrow(/disposed/);
  });
});

describe('exact speed-ups of the text encoder', () => {
  let model: ClipModel;
  beforeAll(async () => {
    model = await loadClip(goodDir);
  });
  afterAll(() => model.dispose());

  // "[SOT] a photo of a" + label tokens + "." + EOT, for three classes of different lengths.
  const prefixIds = [512, 65, 300, 301, 65];
  const suffixes = [
    [120, 121, 46, 513],
    [130, 46, 513, 513],
    [140, 141, 142, 46],
  ];
  const eotInSuffix = [3, 2, 3];
  const suffixesWithEot = suffixes.map((s, i) => (i === 2 ? [...s, 513] : s));

  function embedRows(rows: number[][]): tf.Tensor3D {
    const len = Math.max(...rows.map((r) => r.length));
    const padded = rows.map((r) => [...r, ...new Array(len - r.length).fill(513)]);
    return tf.tidy(() => tf.gather(model.tokenEmbedding, tf.tensor2d(padded, [rows.length, len], 'int32')) as unknown as tf.Tensor3D);
  }

  async function featuresAndGrad(run: (suffix: tf.Tensor3D) => tf.Tensor2D, suffix: tf.Tensor3D, target: tf.Tensor) {
    const { value, grad } = tf.valueAndGrad((s: tf.Tensor) => tf.sum(tf.mul(run(s as tf.Tensor3D), target)))(suffix);
    const features = tf.tidy(() => run(suffix));
    const out = { features: await features.data(), loss: (await value.data())[0], grad: await grad.data() };
    tf.dispose([value, grad, features]);
    return out;
  }

  it('prefix keys/values give the same features, loss and gradients (1e-5)', async () => {
    const suffix = embedRows(suffixesWithEot);
    const prefixEmbeds = tf.tidy(() => tf.gather(model.tokenEmbedding, tf.tensor1d(prefixIds, 'int32')) as tf.Tensor2D);
    const target = tf.randomNormal([3, 16], 0, 1, 'float32', 3);
    const full = (s: tf.Tensor3D) => {
      const p = tf.broadcastTo(prefixEmbeds.expandDims(0), [3, prefixIds.length, 32]) as tf.Tensor3D;
      return model.encodeTextEmbeddings(
        tf.concat([p, s], 1),
        eotInSuffix.map((e) => e + prefixIds.length),
      );
    };
    const prefix = model.textPrefix(prefixEmbeds);
    const before = tf.memory().numTensors;
    const reference = await featuresAndGrad(full, suffix, target);
    const variants = [
      await featuresAndGrad((s) => model.encodeTextEmbeddings(s, eotInSuffix, { prefix }), suffix, target),
      await featuresAndGrad((s) => full(s).clone(), suffix, target),
    ];
    expect(tf.memory().numTensors).toBe(before);
    for (const v of variants) {
      expect(maxAbsDiff(v.features, reference.features)).toBeLessThan(1e-5);
      expect(Math.abs(v.loss - reference.loss) / Math.abs(reference.loss)).toBeLessThan(1e-5);
      const scale = Math.max(...Array.from(reference.grad, Math.abs));
      expect(maxAbsDiff(v.grad, reference.grad) / scale).toBeLessThan(1e-5);
    }
    tf.dispose([suffix, prefixEmbeds, target]);
    prefix.dispose();
  });
});

describe('hand-written block gradients equal autodiff', () => {
  // The same weights three ways: frozen with [out, in] copies (plain wasm), frozen without
  // (native GEMM), and as tf.Variables, which take plain autodiff.
  const file = path.join(goodDir, 'model.safetensors');
  const tensors = parseSafetensors(fs.readFileSync(file), file, (n) => n.endsWith('position_ids')).tensors;
  const baseConfig = parseClipConfig(JSON.parse(fs.readFileSync(path.join(goodDir, 'config.json'), 'utf8')));

  for (const act of ['quick_gelu', 'gelu'] as const) {
    it(`input gradients through the text tower (${act}), with and without a cached prefix`, () => {
      const config = { ...baseConfig, text: { ...baseConfig.text, hiddenAct: act } };
      const variants = [
        buildWeights(tensors, config, { textInputGradients: true }),
        buildWeights(tensors, config, { textInputGradients: false }),
        buildWeights(tensors, config, { textInputGradients: false, trainable: true }),
      ];
      const ids = [
        [512, 60, 61, 62, 513],
        [512, 70, 71, 513, 513],
      ];
      const eot = [4, 3];
      const embeds = tf.tidy(() => tf.gather(variants[0].text.tokenEmbedding, tf.tensor2d(ids, [2, 5], 'int32')) as unknown as tf.Tensor3D);
      const target = tf.randomNormal([2, 16], 0, 1, 'float32', 11);
      const gradOf = (w: (typeof variants)[number], withPrefix: boolean) =>
        tf.tidy(() => {
          if (!withPrefix)
            return tf
              .grad((e: tf.Tensor) => tf.sum(tf.mul(textForward(w.text, config.text, e as tf.Tensor3D, eot), target)))(embeds)
              .dataSync();
          const prefixEmbeds = tf.slice(embeds, [0, 0, 0], [1, 2, -1]).reshape([2, -1]) as tf.Tensor2D;
          const prefix = textPrefix(w.text, config.text, prefixEmbeds);
          const rest = tf.slice(embeds, [0, 2, 0], [-1, -1, -1]) as tf.Tensor3D;
          const g = tf
            .grad((e: tf.Tensor) =>
              tf.sum(
                tf.mul(
                  textForward(
                    w.text,
                    config.text,
                    e as tf.Tensor3D,
                    eot.map((p) => p - 2),
                    { prefix },
                  ),
                  target,
                ),
              ),
            )(rest)
            .dataSync();
          tf.dispose([...prefix.keys, ...prefix.values]);
          return g;
        });
      for (const withPrefix of [false, true]) {
        const [a, b, reference] = variants.map((w) => gradOf(w, withPrefix));
        const scale = Math.max(...Array.from(reference, Math.abs));
        expect(scale).toBeGreaterThan(0);
        expect(maxAbsDiff(a, reference) / scale).toBeLessThan(1e-5);
        expect(maxAbsDiff(b, reference) / scale).toBeLessThan(1e-5);
      }
      tf.dispose([embeds, target]);
      variants.forEach(disposeWeights);
    });
  }
});

describe('a text pass that runs its backward pass later', () => {
  it('gives the taped gradient, keeping activations in the wasm heap or in JS memory, and frees them', () => {
    const file = path.join(goodDir, 'model.safetensors');
    const tensors = parseSafetensors(fs.readFileSync(file), file, (n) => n.endsWith('position_ids')).tensors;
    const config = parseClipConfig(JSON.parse(fs.readFileSync(path.join(goodDir, 'config.json'), 'utf8')));
    const w = buildWeights(tensors, config, { textInputGradients: false });
    const ids = [
      [512, 60, 61, 62, 513],
      [512, 70, 71, 513, 513],
      [512, 80, 513, 513, 513],
    ];
    const eot = [4, 3, 2];
    const embeds = tf.tidy(() => tf.gather(w.text.tokenEmbedding, tf.tensor2d(ids, [3, 5], 'int32')) as unknown as tf.Tensor3D);
    const target = tf.randomNormal([3, 16], 0, 1, 'float32', 5) as tf.Tensor2D;
    const reference = tf.tidy(() =>
      tf
        .grad((e: tf.Tensor) => tf.sum(tf.mul(textForward(w.text, config.text, e as tf.Tensor3D, eot), target)))(embeds)
        .dataSync(),
    );
    const taped = tf.tidy(() => textForward(w.text, config.text, embeds, eot).dataSync());
    const before = tf.memory().numTensors;
    for (const keepInHeapMaxBytes of [Infinity, 0]) {
      const pass = textForwardKeeping(w.text, config.text, embeds, eot, { keepInHeapMaxBytes });
      expect(maxAbsDiff(pass.features.dataSync(), taped)).toBeLessThan(1e-6);
      const grad = pass.backward(target);
      const scale = Math.max(...Array.from(reference, Math.abs));
      expect(maxAbsDiff(grad.dataSync(), reference) / scale).toBeLessThan(1e-5);
      expect(() => pass.backward(target)).toThrow(/already/);
      tf.dispose([pass.features, grad]);
      expect(tf.memory().numTensors).toBe(before);
    }
    tf.dispose([embeds, target]);
    disposeWeights(w);
  });
});
