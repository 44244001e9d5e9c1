// `lamm demo`: the demo dataset (ImageFolder) from the committed recipe; with --pretrain, the
// committed demo CLIP retrained from scratch; with --check, a model's zero-shot accuracy on the
// recipe's test split, per class and per kind of class name (plain / jargon).
import path from 'node:path';
import { startBackend } from './engine';
import { optionalNumber, optionalString, type ParsedArgs, type Command } from './args';
import { loadClip } from '../clip';
import { DEMO_MODEL_DIR, DEMO_RECIPE_FILE, generateDemoDataset, loadRecipe, type DemoRecipe } from '../demo/dataset';
import { demoZeroShot } from '../demo/evaluate';
import { DEMO_PRETRAIN, pretrainDemoClip } from '../demo/pretrain';
import { stderrContext } from '../jobs/context';

/** Where `lamm demo` writes the dataset when --out is not given. */
export const DEFAULT_DEMO_DATA_DIR = 'lamm-demo-data';

async function zeroShotOf(modelDir: string, recipe: DemoRecipe) {
  const model = await loadClip(modelDir);
  try {
    return await demoZeroShot(model, recipe);
  } finally {
    model.dispose();
  }
}

async function pretrain(args: ParsedArgs, recipe: DemoRecipe) {
  const out = path.resolve(optionalString(args, 'out') ?? DEMO_MODEL_DIR);
  const settings = {
    ...DEMO_PRETRAIN,
    steps: optionalNumber(args, 'steps', { integer: true, min: 1 }) ?? DEMO_PRETRAIN.steps,
    seed: optionalNumber(args, 'seed', { integer: true }) ?? DEMO_PRETRAIN.seed,
  };
  settings.warmupSteps = Math.min(settings.warmupSteps, Math.floor(settings.steps / 10));
  const report = await pretrainDemoClip(out, settings, stderrContext());
  return { ...report, zeroShot: await zeroShotOf(out, recipe) };
}

export const demo: Command = {
  usage: '[--out DIR] [--force] [--recipe FILE] | --pretrain [--out MODEL_DIR] [--steps N] [--seed S] | --check [--model DIR]',
  switches: ['force', 'pretrain', 'check'],
  async run(args) {
    const recipe = loadRecipe(optionalString(args, 'recipe') ?? DEMO_RECIPE_FILE);
    if (args.options.pretrain || args.options.check) {
      await startBackend();
      if (args.options.pretrain) return pretrain(args, recipe);
      const model = path.resolve(optionalString(args, 'model') ?? DEMO_MODEL_DIR);
      return { model, zeroShot: await zeroShotOf(model, recipe) };
    }
    const out = optionalString(args, 'out') ?? DEFAULT_DEMO_DATA_DIR;
    return generateDemoDataset(out, recipe, { force: args.options.force === true, ctx: stderrContext() });
  },
};
