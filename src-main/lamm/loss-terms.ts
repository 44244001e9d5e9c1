// The terms of LAMM's loss (DESIGN §3), listed once: lamm/loss.ts computes one value per name
// (the compiler checks it), and the step, the trainer's log, the run log, the contract's epoch
// record, the CLI's printout and the Train page's chart and weight inputs all read this list.
// Plain data without imports, so the renderer can read it through the contract.
//
// total = Σ λ_weight · term, λ = 1 for a term without a weight key.

export interface LossTermSpec {
  name: string;
  /** What the legend calls it. */
  label: string;
  /** The formula, as the UI writes it. */
  formula: string;
  /** The key in TrainConfig.lambdas (λ_key) that scales it; null: unweighted. */
  weight: string | null;
  /** λ's default, as released. */
  defaultWeight: number;
}

export const LOSS_TERMS = [
  { name: 'ce', label: 'cross-entropy', formula: 'CE(z, y)', weight: null, defaultWeight: 1 },
  { name: 'wc', label: 'weight consistency', formula: 'Σ(E−E0)²', weight: 'wc', defaultWeight: 1 },
  { name: 'cos', label: 'cosine', formula: '1 − cos(t, t0)', weight: 'cos', defaultWeight: 1 },
  { name: 'kd', label: 'distillation', formula: 'T²·CE(p, q)', weight: 'kd', defaultWeight: 0.05 },
] as const satisfies readonly LossTermSpec[];

export type LossTermName = (typeof LOSS_TERMS)[number]['name'];
/** The λ keys the terms name. */
export type LossWeightKey = Exclude<(typeof LOSS_TERMS)[number]['weight'], null>;
/** One value per term: what an epoch record, a step event and the run log carry. */
export type LossTermValues<T = number> = Record<LossTermName, T>;

export const WEIGHTED_LOSS_TERMS = LOSS_TERMS.filter((t): t is Extract<(typeof LOSS_TERMS)[number], { weight: string }> => t.weight !== null);

/** A record of the terms from values in LOSS_TERMS order. */
export function termsFromList<T>(values: ArrayLike<T>, offset = 0): LossTermValues<T> {
  return Object.fromEntries(LOSS_TERMS.map((t, i) => [t.name, values[offset + i]])) as LossTermValues<T>;
}

/** `ce 0.2723 wc 1.47e+1 …`: how the CLI and logs print the terms. */
export function formatTerms(terms: Partial<LossTermValues>): string {
  return LOSS_TERMS.map((t) => `${t.name} ${formatValue(terms[t.name])}`).join(' ');
}

function formatValue(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return '-';
  return v !== 0 && (Math.abs(v) >= 1e3 || Math.abs(v) < 1e-3) ? v.toExponential(2) : v.toFixed(4);
}
