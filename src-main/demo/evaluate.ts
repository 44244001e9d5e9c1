// Zero-shot accuracy of a CLIP on a demo recipe's test split, per class and per kind of class
// name (plain words the demo CLIP was taught vs. jargon it never saw). Images are rendered in
// memory: the same 8-bit pixels the PNGs of `generateDemoDataset` hold.
import { embedPixels, embedTexts } from '../clip';
import { preprocessRgb } from '../clip/preprocess';
import type { ClipModel } from '../clip/types';
import { DEFAULT_TEMPLATE } from '../lamm/config';
import { accuracyOf, normaliseRows, predict } from '../lamm/evaluate';
import { fillTemplate } from '../lamm/prompts';
import { captionWords } from './captions';
import { promptName, renderDatasetImage, type DemoClass, type DemoRecipe } from './dataset';

export type NameKind = 'plain' | 'jargon';

const TAUGHT_WORDS = new Set(captionWords());

/** Plain when every word of the class's prompt name appears in the demo CLIP's captions. */
export function nameKind(c: DemoClass): NameKind {
  return promptName(c)
    .split(' ')
    .every((w) => TAUGHT_WORDS.has(w))
    ? 'plain'
    : 'jargon';
}

export interface DemoAccuracy {
  accuracy: number;
  perClass: Record<string, number>;
  /** Mean per-class accuracy of each kind of name. */
  byKind: Record<NameKind, number>;
}

const IMAGE_BATCH = 64;

export async function demoZeroShot(model: ClipModel, recipe: DemoRecipe, template: string = DEFAULT_TEMPLATE): Promise<DemoAccuracy> {
  const width = model.config.projectionDim;
  const text = normaliseRows(
    flatten(
      await embedTexts(
        model,
        recipe.classes.map((c) => fillTemplate(template, promptName(c))),
      ),
    ),
    width,
  );
  const size = recipe.imageSize;
  const labels: number[] = [];
  const features: Float32Array[] = [];
  let pending: Float32Array[] = [];
  const flush = async () => {
    if (pending.length) features.push(...(await embedPixels(model, pending)));
    pending = [];
  };
  for (const [index, c] of recipe.classes.entries()) {
    for (let i = 0; i < recipe.perClass.test; i++) {
      pending.push(preprocessRgb({ data: renderDatasetImage(recipe, 'test', c, i), width: size, height: size }, model.preprocess));
      labels.push(index);
      if (pending.length === IMAGE_BATCH) await flush();
    }
  }
  await flush();
  const predictions = await predict(normaliseRows(flatten(features), width), text, width, model.logitScale);
  const { accuracy, perClass } = accuracyOf(
    predictions.map((p) => p.predicted),
    labels,
  );
  const byClass = Object.fromEntries(recipe.classes.map((c, i) => [c.folder, perClass.get(i) ?? 0]));
  const kindMean = (kind: NameKind) => {
    const accs = recipe.classes.filter((c) => nameKind(c) === kind).map((c) => byClass[c.folder]);
    return accs.length ? accs.reduce((a, b) => a + b, 0) / accs.length : NaN;
  };
  return { accuracy, perClass: byClass, byKind: { plain: kindMean('plain'), jargon: kindMean('jargon') } };
}

function flatten(rows: Float32Array[]): Float32Array {
  const width = rows[0]?.length ?? 0;
  const out = new Float32Array(rows.length * width);
  rows.forEach((r, i) => out.set(r, i * width));
  return out;
}
