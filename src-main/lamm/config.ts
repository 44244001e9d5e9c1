// Every training setting, named once, with the defaults of the released LAMM code (DESIGN §3).
// The CLI, the service and the worker all pass a partial config through `resolveTrainConfig`.
// Plain data and zod only: the contract (and so the renderer) imports the schema.
import { z } from 'zod';
import { WEIGHTED_LOSS_TERMS, type LossWeightKey } from './loss-terms';

import { isTrainMethod, TRAIN_METHODS, type TrainMethod } from './methods';

export type { TrainMethod };

/** `one` (the released code: a plain sum) or `inverse-shots` (the sum scaled by 1/K). */
const WC_SCALES = ['one', 'inverse-shots'] as const;
export type WeightConsistencyScale = (typeof WC_SCALES)[number];

// The settings as a schema: the types below come from it, and the contract checks RPC input
// against it. Value ranges are resolveTrainConfig's, which the CLI goes through too.

/** λ per weighted loss term (lamm/loss-terms.ts), and the distillation temperature T. */
const LOSS_WEIGHTS = z.strictObject({
  ...(Object.fromEntries(WEIGHTED_LOSS_TERMS.map((t) => [t.weight, z.number()])) as Record<LossWeightKey, z.ZodNumber>),
  T: z.number(),
});

const TRAIN_CONFIG = z.strictObject({
  method: z.enum(TRAIN_METHODS),
  template: z.string(),
  shots: z.number(),
  seed: z.number(),
  epochs: z.number(),
  batchSize: z.number(),
  lr: z.number(),
  momentum: z.number(),
  weightDecay: z.number(),
  /** Epochs at the constant warm-up rate before the cosine schedule takes over. */
  warmupEpochs: z.number(),
  warmupLr: z.number(),
  /** λ_wc is lambdas.wc times 1 or 1/K according to this. */
  wcScale: z.enum(WC_SCALES),
  lambdas: LOSS_WEIGHTS,
  /** Augmented views per training image whose features are cached (view 0 is the centre crop). */
  views: z.number(),
  /** Augment every step through the image encoder instead of sampling cached views (GPU only, in practice). */
  onlineAugment: z.boolean(),
});

/** Any subset of the settings (nested λ's too); the rest come from the defaults. */
export const TRAIN_CONFIG_INPUT = TRAIN_CONFIG.extend({ lambdas: LOSS_WEIGHTS.partial() }).partial();

export type LossWeights = z.infer<typeof LOSS_WEIGHTS>;
export type TrainConfig = z.infer<typeof TRAIN_CONFIG>;
export type TrainConfigInput = z.input<typeof TRAIN_CONFIG_INPUT>;

export const DEFAULT_TEMPLATE = 'a photo of a {}.';

/** Throws unless `template` holds the class-name slot `{}` exactly once. */
export function checkTemplate(template: string): void {
  const first = template.indexOf('{}');
  if (first < 0 || template.indexOf('{}', first + 1) >= 0) throw new Error(`template "${template}" must contain "{}" exactly once`);
}

export const DEFAULT_TRAIN_CONFIG: TrainConfig = {
  method: 'lamm',
  template: DEFAULT_TEMPLATE,
  shots: 16,
  seed: 1,
  epochs: 50,
  batchSize: 32,
  lr: 0.002,
  momentum: 0.9,
  weightDecay: 5e-4,
  warmupEpochs: 1,
  warmupLr: 1e-5,
  wcScale: 'one',
  lambdas: { ...(Object.fromEntries(WEIGHTED_LOSS_TERMS.map((t) => [t.weight, t.defaultWeight])) as Record<LossWeightKey, number>), T: 2 },
  views: 8,
  onlineAugment: false,
};

/** Fills defaults and rejects impossible values with a one-line reason. */
export function resolveTrainConfig(input: TrainConfigInput = {}): TrainConfig {
  const c: TrainConfig = {
    ...DEFAULT_TRAIN_CONFIG,
    ...stripUndefined(input),
    lambdas: { ...DEFAULT_TRAIN_CONFIG.lambdas, ...stripUndefined(input.lambdas ?? {}) },
  };
  if (!isTrainMethod(c.method)) throw new Error(`method "${c.method}" is not one of ${TRAIN_METHODS.join(', ')}`);
  checkTemplate(c.template);
  positiveInteger(c.shots, 'shots');
  positiveInteger(c.epochs, 'epochs');
  positiveInteger(c.batchSize, 'batchSize');
  positiveInteger(c.views, 'views');
  if (!Number.isInteger(c.seed)) throw new Error(`seed must be an integer, got ${c.seed}`);
  if (!Number.isInteger(c.warmupEpochs) || c.warmupEpochs < 0) throw new Error(`warmupEpochs must be a non-negative integer, got ${c.warmupEpochs}`);
  for (const key of ['lr', 'warmupLr', 'momentum', 'weightDecay'] as const) nonNegative(c[key], key);
  for (const { weight } of WEIGHTED_LOSS_TERMS) nonNegative(c.lambdas[weight], `lambdas.${weight}`);
  if (!(c.lambdas.T > 0)) throw new Error(`lambdas.T must be positive, got ${c.lambdas.T}`);
  if (c.wcScale !== 'one' && c.wcScale !== 'inverse-shots') throw new Error(`wcScale "${c.wcScale}" must be "one" or "inverse-shots"`);
  return c;
}

/** λ's with the released defaults for every term not given. */
export function lossWeights(given: Partial<LossWeights> = {}): LossWeights {
  return { ...DEFAULT_TRAIN_CONFIG.lambdas, ...stripUndefined(given) };
}

/** The λ's the loss actually uses: λ_wc already scaled by 1 or 1/K. */
export function effectiveLossWeights(c: TrainConfig): LossWeights {
  return { ...c.lambdas, wc: c.wcScale === 'inverse-shots' ? c.lambdas.wc / c.shots : c.lambdas.wc };
}

function positiveInteger(v: number, name: string): void {
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a positive integer, got ${v}`);
}

function nonNegative(v: number, name: string): void {
  if (!Number.isFinite(v) || v < 0) throw new Error(`${name} must be a non-negative number, got ${v}`);
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
