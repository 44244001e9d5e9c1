// The demo dataset: a recipe (resources/demo/dataset.json) naming classes of the demo world,
// some with the plain words the demo CLIP learned ("red circle"), some with heraldic jargon it
// has tokens for but never saw in a caption ("azure roundel" = a blue circle). `generate…`
// renders it as an ImageFolder (train/<class>/*.png, test/<class>/*.png), the same bytes for
// the same recipe on every machine.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { deriveSeed, mulberry32 } from '../clip/random';
import { throwIfCancelled, type JobContext } from '../jobs/context';
import { isColour, isShape, renderScene, sampleScene, type Concept } from './world';

/** resources/demo, found from this file in the sources (src-main/demo) and in the build (out/main) alike. */
export const DEMO_RESOURCES_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'resources', 'demo');
export const DEMO_MODEL_DIR = path.join(DEMO_RESOURCES_DIR, 'model');
export const DEMO_RECIPE_FILE = path.join(DEMO_RESOURCES_DIR, 'dataset.json');
/** Written at the root of a generated dataset (hidden, so imports skip it): the recipe it came from. */
export const DEMO_MARKER_FILE = '.lamm-demo.json';

export const SPLITS = ['train', 'test'] as const;
export type Split = (typeof SPLITS)[number];

export interface DemoClass extends Concept {
  /** Folder name; its prompt name is the folder with `_` as spaces. */
  folder: string;
}

export interface DemoRecipe {
  name: string;
  seed: number;
  /** Side of the square images, in pixels. */
  imageSize: number;
  perClass: Record<Split, number>;
  classes: DemoClass[];
}

const FOLDER_NAME = /^[a-z][a-z0-9_]*$/;

/** Checks a parsed recipe; every problem is one line naming the field. */
export function parseRecipe(raw: unknown, label = 'demo recipe'): DemoRecipe {
  const r = raw as Partial<DemoRecipe> | null;
  if (!r || typeof r !== 'object') throw new Error(`${label} is not a JSON object`);
  if (typeof r.name !== 'string' || !r.name) throw new Error(`${label}: "name" must be a non-empty string`);
  if (!Number.isInteger(r.seed)) throw new Error(`${label}: "seed" must be an integer`);
  if (!Number.isInteger(r.imageSize) || r.imageSize! < 8) throw new Error(`${label}: "imageSize" must be an integer of at least 8`);
  for (const split of SPLITS) {
    const n = r.perClass?.[split];
    if (!Number.isInteger(n) || n! < 1) throw new Error(`${label}: "perClass.${split}" must be a positive integer`);
  }
  if (!Array.isArray(r.classes) || r.classes.length < 2) throw new Error(`${label}: "classes" must list at least two classes`);
  const folders = new Set<string>();
  const concepts = new Set<string>();
  for (const c of r.classes) {
    if (typeof c?.folder !== 'string' || !FOLDER_NAME.test(c.folder))
      throw new Error(`${label}: class folder ${JSON.stringify(c?.folder)} must be lower-case letters, digits and _`);
    if (!isColour(c.colour)) throw new Error(`${label}: class "${c.folder}" has unknown colour ${JSON.stringify(c.colour)}`);
    if (!isShape(c.shape)) throw new Error(`${label}: class "${c.folder}" has unknown shape ${JSON.stringify(c.shape)}`);
    if (folders.has(c.folder)) throw new Error(`${label}: class folder "${c.folder}" appears twice`);
    const concept = `${c.colour} ${c.shape}`;
    if (concepts.has(concept)) throw new Error(`${label}: two classes are both a ${concept}`);
    folders.add(c.folder);
    concepts.add(concept);
  }
  return {
    name: r.name,
    seed: r.seed!,
    imageSize: r.imageSize!,
    perClass: { train: r.perClass!.train, test: r.perClass!.test },
    classes: r.classes.map((c) => ({ folder: c.folder, colour: c.colour, shape: c.shape })),
  };
}

export function loadRecipe(file: string = DEMO_RECIPE_FILE): DemoRecipe {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new Error(`demo recipe not found: ${file}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new Error(`demo recipe ${file} is not valid JSON: ${(err as Error).message}`);
  }
  return parseRecipe(raw, `demo recipe ${path.basename(file)}`);
}

/** A class's prompt name as the importer derives it from the folder name. */
export function promptName(c: DemoClass): string {
  return c.folder.replace(/[_-]+/g, ' ');
}

/** The RGB pixels of one dataset image: a pure function of (recipe, split, class, index). */
export function renderDatasetImage(recipe: DemoRecipe, split: Split, c: DemoClass, index: number): Uint8Array {
  const random = mulberry32(deriveSeed(recipe.seed, split, c.folder, index));
  return renderScene(sampleScene(c, recipe.imageSize, random), recipe.imageSize);
}

export function recipeDigest(recipe: DemoRecipe): string {
  return crypto.createHash('sha256').update(JSON.stringify(recipe)).digest('hex');
}

export interface GeneratedDataset {
  dir: string;
  classes: number;
  images: Record<Split, number>;
  /** False when `dir` already held this recipe's dataset and nothing was written. */
  written: boolean;
}

/**
 * Writes the dataset into `outDir`. An existing folder is reused when it holds the same
 * recipe's output, replaced when it holds another demo dataset (or `force`), and otherwise
 * left alone with an error: user folders are never overwritten.
 */
export async function generateDemoDataset(outDir: string, recipe: DemoRecipe, opts: { force?: boolean; ctx?: JobContext } = {}): Promise<GeneratedDataset> {
  const dir = path.resolve(outDir);
  const digest = recipeDigest(recipe);
  const images = { train: recipe.perClass.train * recipe.classes.length, test: recipe.perClass.test * recipe.classes.length };
  const summary = { dir, classes: recipe.classes.length, images };
  const existing = readMarker(dir);
  if (existing === digest && !opts.force) return { ...summary, written: false };
  if (fs.existsSync(dir) && fs.readdirSync(dir).length > 0 && existing === null) {
    throw new Error(`${dir} is not empty and is not a demo dataset; choose an empty or new folder`);
  }

  // Render into a sibling folder and swap it in, so an interrupted run never leaves half a dataset behind the marker.
  const staging = `${dir}.partial-${process.pid}`;
  fs.rmSync(staging, { recursive: true, force: true });
  const total = images.train + images.test;
  let done = 0;
  try {
    for (const split of SPLITS) {
      for (const c of recipe.classes) {
        const classDir = path.join(staging, split, c.folder);
        fs.mkdirSync(classDir, { recursive: true });
        for (let i = 0; i < recipe.perClass[split]; i++) {
          throwIfCancelled(opts.ctx);
          const pixels = renderDatasetImage(recipe, split, c, i);
          const file = path.join(classDir, `${c.folder}_${String(i).padStart(4, '0')}.png`);
          await sharp(Buffer.from(pixels), { raw: { width: recipe.imageSize, height: recipe.imageSize, channels: 3 } })
            .png()
            .toFile(file);
          opts.ctx?.progress({ stage: 'demo-dataset', done: ++done, total });
        }
      }
    }
    fs.writeFileSync(path.join(staging, DEMO_MARKER_FILE), `${JSON.stringify({ digest, recipe }, null, 2)}\n`);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(staging, dir);
  } catch (err) {
    fs.rmSync(staging, { recursive: true, force: true });
    throw err;
  }
  return { ...summary, written: true };
}

/** The digest recorded in a generated dataset, or null when `dir` is not one. */
function readMarker(dir: string): string | null {
  try {
    const marker = JSON.parse(fs.readFileSync(path.join(dir, DEMO_MARKER_FILE), 'utf8')) as { digest?: unknown };
    return typeof marker.digest === 'string' ? marker.digest : null;
  } catch {
    return null;
  }
}
