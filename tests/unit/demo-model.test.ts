// The committed demo model and dataset do what the demo promises: a small HF CLIP folder whose
// heraldic tokens were never trained, zero-shot right on plain names and wrong on jargon, and
// `lamm train --shots 4` (LAMM defaults) closing the gap: the app's end-to-end path via the CLI.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { loadClip } from '../../src-main/clip';
import { readSafetensors, readSafetensorsHeader } from '../../src-main/clip/safetensors';
import { randomHfTensors } from '../../src-main/clip/weights';
import { DEMO_MODEL_DIR, loadRecipe, promptName } from '../../src-main/demo/dataset';
import { demoZeroShot, nameKind } from '../../src-main/demo/evaluate';
import { DEMO_PRETRAIN } from '../../src-main/demo/pretrain';
import { RARE_WORDS, buildVocabulary, demoVocabularyWords, writeTokenizerFiles } from '../../src-main/demo/vocabulary';
import { REPO_ROOT } from '../helpers/golden';

const run = promisify(execFile);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lamm-demo-model-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const recipe = loadRecipe();
const kinds = recipe.classes.map(nameKind);
const meanOf = (perClass: Record<string, number>, kind: string) => {
  const accs = recipe.classes.filter((_, i) => kinds[i] === kind).map((c) => perClass[c.folder]);
  return accs.reduce((a, b) => a + b, 0) / accs.length;
};

async function lamm(...args: string[]): Promise<any> {
  const { stdout } = await run(process.execPath, [path.join(REPO_ROOT, 'bin', 'lamm.js'), ...args, '--json'], { cwd: REPO_ROOT, maxBuffer: 1 << 24 });
  return JSON.parse(stdout);
}

describe('committed demo model', () => {
  it('is a small F16 Hugging Face CLIP folder whose rare words kept their initial embeddings', async () => {
    for (const f of ['config.json', 'model.safetensors', 'vocab.json', 'merges.txt', 'preprocessor_config.json', 'tokenizer_config.json']) {
      expect(fs.existsSync(path.join(DEMO_MODEL_DIR, f)), f).toBe(true);
    }
    const weightsFile = path.join(DEMO_MODEL_DIR, 'model.safetensors');
    expect(fs.statSync(weightsFile).size).toBeLessThan(4 * 1024 * 1024);
    const header = readSafetensorsHeader(fs.readFileSync(weightsFile), 'weights');
    expect(new Set(Object.values(header.entries).map((e) => e.dtype))).toEqual(new Set(['F16']));

    const model = await loadClip(DEMO_MODEL_DIR);
    try {
      expect(model.config.text.vocabSize).toBeLessThan(2000);
      for (const c of recipe.classes) for (const w of promptName(c).split(' ')) expect(model.tokenizer.encode(w), w).toHaveLength(1);
      // Provenance: pretraining from DEMO_PRETRAIN's seed never touched the heraldic rows.
      const init = randomHfTensors(model.config, DEMO_PRETRAIN.seed).get('text_model.embeddings.token_embedding.weight')!.data;
      const saved = readSafetensors(weightsFile).tensors.get('text_model.embeddings.token_embedding.weight')!.data;
      const width = model.config.text.hiddenSize;
      for (const w of RARE_WORDS) {
        const [id] = model.tokenizer.encode(w);
        for (let j = 0; j < width; j++) expect(Math.abs(saved[id * width + j] - init[id * width + j])).toBeLessThan(1e-4);
      }
    } finally {
      model.dispose();
    }
  });

  it("holds the vocabulary today's builder makes from today's captions", () => {
    const dir = path.join(tmp, 'vocab');
    writeTokenizerFiles(dir, buildVocabulary(demoVocabularyWords()), DEMO_PRETRAIN.model.text.context);
    for (const f of ['vocab.json', 'merges.txt', 'tokenizer_config.json']) {
      expect(fs.readFileSync(path.join(dir, f), 'utf8'), `${f}: rerun lamm demo --pretrain`).toBe(fs.readFileSync(path.join(DEMO_MODEL_DIR, f), 'utf8'));
    }
  });

  it('is right zero-shot on plain names and no better than chance on jargon ones', async () => {
    const model = await loadClip(DEMO_MODEL_DIR);
    try {
      const zs = await demoZeroShot(model, recipe);
      const chance = 1 / recipe.classes.length;
      expect(zs.byKind.plain).toBeGreaterThanOrEqual(0.9);
      expect(zs.byKind.jargon).toBeLessThanOrEqual(chance + 0.05);
    } finally {
      model.dispose();
    }
  });

  it('gains at least 20 points from `lamm train --shots 4`, on the jargon classes, plain ones kept', async () => {
    const data = path.join(tmp, 'data');
    const generated = await lamm('demo', '--out', data);
    expect(generated).toMatchObject({ dir: data, classes: recipe.classes.length, written: true });
    const result = await lamm('train', '--model', DEMO_MODEL_DIR, '--data', data, '--shots', '4');
    const { zeroShot, trained } = result;
    expect(trained.accuracy - zeroShot.accuracy).toBeGreaterThanOrEqual(0.2);
    expect(meanOf(trained.perClass, 'plain')).toBeGreaterThanOrEqual(meanOf(zeroShot.perClass, 'plain') - 0.05);
    expect(meanOf(trained.perClass, 'jargon') - meanOf(zeroShot.perClass, 'jargon')).toBeGreaterThanOrEqual(0.5);
  });
});
