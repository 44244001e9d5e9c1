// Label issues the way cleanlab finds them (Northcutt et al., "Confident Learning"; cleanlab's
// count.compute_confident_joint and filter.find_label_issues): out-of-sample probabilities
// from a k-fold probe on the cached view-0 features (data/probe.ts), per-class thresholds
// t_j = mean p_j over the images labelled j, the confident joint of given × likely-true class,
// calibrated to the label counts, and pruning by noise rate: for each off-diagonal cell
// (given i, true j) with count n_ij, the n_ij images labelled i with the largest margin
// p_j − p_i are issues. Like cleanlab, an image the probe still predicts as its given class is
// never an issue. Score = 1 − p_given (cleanlab's self-confidence, inverted so the most
// suspicious image comes first); the suggested class is the likeliest other class.
import type { ClipModel } from '../clip';
import { silentContext, type JobContext } from '../jobs/context';
import { DEFAULT_TEMPLATE } from '../lamm/config';
import { zeroShotTextFeatures } from '../lamm/zeroshot';
import { featuresFor, loadFeatures } from './features';
import { DEFAULT_FOLDS, PROBE_DEFAULTS } from './probe';
import { runOffThread } from '../jobs/compute';
import type { ProjectStore, SplitName } from './store';

/**
 * Which classifier gives the out-of-sample probabilities. Measured with bench/label-issues.ts
 * (10 seeds of 10% flipped demo training labels): the linear probe found more (precision 0.95,
 * recall 0.89) than the zero-shot head tuned per fold (0.92, 0.85 at its best pull), so it is the
 * default. The strong L2 pull keeps a probe from fitting the flipped labels it is meant to find.
 */
const PROBE_TABLE = {
  linear: { l2: 0.3, scale: () => PROBE_DEFAULTS.scale, zeroShotStart: false },
  // The zero-shot head starts at CLIP's own probabilities only under CLIP's own logit scale.
  zeroshot: { l2: 0.1, scale: (model: ClipModel) => Math.exp(model.logitScale), zeroShotStart: true },
} as const;
export type ProbeKind = keyof typeof PROBE_TABLE;
export const PROBES = Object.keys(PROBE_TABLE) as ProbeKind[];
/** 'prune_by_noise_rate' is cleanlab's default; 'confident_learning' takes the confident joint's off-diagonal as it is. */
export const ISSUE_FILTERS = ['prune_by_noise_rate', 'confident_learning'] as const;
export type IssueFilter = (typeof ISSUE_FILTERS)[number];

export interface FoundIssue {
  /** Index of the example. */
  index: number;
  suggested: number;
  /** 1 − p(given class), higher is more suspicious. */
  score: number;
}

/** cleanlab's per-class confident thresholds; a class nobody is labelled with gets 2 (never reached). */
export function confidentThresholds(probs: Float32Array, labels: ArrayLike<number>, classes: number): Float64Array {
  const sum = new Float64Array(classes);
  const count = new Float64Array(classes);
  for (let i = 0; i < labels.length; i++) {
    sum[labels[i]] += probs[i * classes + labels[i]];
    count[labels[i]]++;
  }
  return sum.map((s, k) => (count[k] ? s / count[k] : 2));
}

/**
 * The class each example confidently belongs to, or −1: among classes whose probability
 * reaches their threshold, the likeliest.
 */
export function confidentGuesses(probs: Float32Array, n: number, classes: number, thresholds: Float64Array): Int32Array {
  const out = new Int32Array(n).fill(-1);
  for (let i = 0; i < n; i++) {
    let best = -1;
    for (let k = 0; k < classes; k++) {
      const p = probs[i * classes + k];
      if (p >= thresholds[k] - 1e-6 && (best < 0 || p > probs[i * classes + best])) best = k;
    }
    out[i] = best;
  }
  return out;
}

/** The confident joint C[given][guess], calibrated (each row summing to its label count), as integer counts. */
export function confidentJoint(labels: ArrayLike<number>, guesses: Int32Array, classes: number): number[][] {
  const raw = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  const labelCounts = new Array<number>(classes).fill(0);
  for (let i = 0; i < labels.length; i++) {
    labelCounts[labels[i]]++;
    if (guesses[i] >= 0) raw[labels[i]][guesses[i]]++;
  }
  for (let k = 0; k < classes; k++) raw[k][k] = Math.max(raw[k][k], 1);
  const calibrated = raw.map((row, k) => {
    const total = row.reduce((s, v) => s + v, 0);
    return row.map((v) => (v / total) * labelCounts[k]);
  });
  return calibrated.map(roundPreservingTotal);
}

/** Largest-remainder rounding: integers whose sum is the rounded row total. */
function roundPreservingTotal(row: number[]): number[] {
  const floors = row.map(Math.floor);
  let missing = Math.round(row.reduce((s, v) => s + v, 0)) - floors.reduce((s, v) => s + v, 0);
  const order = row.map((v, k) => [v - floors[k], k]).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (const [, k] of order) {
    if (missing <= 0) break;
    floors[k]++;
    missing--;
  }
  return floors;
}

/** Confident learning on out-of-sample probabilities [N, C] flat; issues ordered by score, highest first. */
export function findIssuesInProbabilities(
  probs: Float32Array,
  labels: ArrayLike<number>,
  classes: number,
  filter: IssueFilter = 'prune_by_noise_rate',
): FoundIssue[] {
  const n = labels.length;
  const p = (i: number, k: number) => probs[i * classes + k];
  const guesses = confidentGuesses(probs, n, classes, confidentThresholds(probs, labels, classes));
  const flagged = new Set<number>();
  if (filter === 'confident_learning') {
    for (let i = 0; i < n; i++) if (guesses[i] >= 0 && guesses[i] !== labels[i]) flagged.add(i);
  } else {
    const joint = confidentJoint(labels, guesses, classes);
    for (let given = 0; given < classes; given++) {
      const members: number[] = [];
      for (let i = 0; i < n; i++) if (labels[i] === given) members.push(i);
      if (members.length <= 1) continue; // cleanlab's min_examples_per_class: a class keeps at least one image
      const budget = members.length - 1;
      let pruned = 0;
      for (let truth = 0; truth < classes; truth++) {
        const count = Math.min(truth === given ? 0 : joint[given][truth], budget - pruned);
        if (count <= 0) continue;
        const byMargin = [...members].sort((a, b) => p(b, truth) - p(b, given) - (p(a, truth) - p(a, given)) || a - b);
        for (const i of byMargin.slice(0, count)) flagged.add(i);
        pruned += count;
      }
    }
  }
  const issues: FoundIssue[] = [];
  for (const i of flagged) {
    const given = labels[i];
    let suggested = -1;
    for (let k = 0; k < classes; k++) if (k !== given && (suggested < 0 || p(i, k) > p(i, suggested))) suggested = k;
    if (suggested < 0 || p(i, given) >= p(i, suggested)) continue; // the probe still agrees with the label
    issues.push({ index: i, suggested, score: 1 - p(i, given) });
  }
  return issues.sort((a, b) => b.score - a.score || a.index - b.index);
}

// ---------- over a project ----------

export interface LabelIssueOptions {
  folds?: number;
  seed?: number;
  probe?: ProbeKind;
  filter?: IssueFilter;
  /** Which images to check (default: all present, non-excluded images). */
  split?: SplitName;
  /** Template of the zero-shot head the 'zeroshot' probe starts from. */
  template?: string;
}

export interface LabelIssue {
  imageId: number;
  givenClassId: number;
  suggestedClassId: number;
  score: number;
  /** Out-of-sample probability of the suggested class. */
  suggestedProbability: number;
}

export interface LabelIssueReport {
  checked: number;
  folds: number;
  probe: ProbeKind;
  issues: LabelIssue[];
  /** Images left out because they would not decode. */
  failed: { imageId: number; path: string; reason: string }[];
}

/** Computes the view-0 features it needs, then k-fold probe + confident learning over a dataset's images. */
export async function findLabelIssues(
  store: ProjectStore,
  model: ClipModel,
  datasetId: number,
  opts: LabelIssueOptions = {},
  ctx?: JobContext,
): Promise<LabelIssueReport> {
  const probe = opts.probe ?? 'linear';
  if (!PROBES.includes(probe)) throw new Error(`probe must be one of ${PROBES.join(', ')}, got "${String(probe)}"`);
  const filter = opts.filter ?? 'prune_by_noise_rate';
  if (!ISSUE_FILTERS.includes(filter)) throw new Error(`filter must be one of ${ISSUE_FILTERS.join(', ')}, got "${String(filter)}"`);
  const folds = opts.folds ?? DEFAULT_FOLDS;
  const images = store.listImages(datasetId, opts.split ? { split: opts.split } : {});
  const { summary: features, present: checked } = await featuresFor(store, model, images, ctx);
  const classes = store.listClasses(datasetId);
  const classIndex = new Map(classes.map((c, k) => [c.id, k]));
  const labels = Int32Array.from(checked, (img) => classIndex.get(img.classId)!);
  const width = model.config.projectionDim;
  const x = loadFeatures(
    store,
    features.modelId,
    checked.map((i) => i.id),
    0,
    { normalize: true },
  );
  const row = PROBE_TABLE[probe];
  const init = row.zeroShotStart
    ? await zeroShotTextFeatures(
        model,
        classes.map((c) => c.promptName),
        [opts.template ?? DEFAULT_TEMPLATE],
        ctx,
      )
    : null;
  ctx?.progress({ stage: 'label-issues', done: 0, total: folds });
  // Off the service's thread (jobs/compute.ts); x is not needed here afterwards, so it moves there.
  const probs = await runOffThread(
    'probe',
    { x, labels, width, classes: classes.length, opts: { folds, seed: opts.seed, init, scale: row.scale(model), l2: row.l2 } },
    ctx ?? silentContext(),
    [x.buffer as ArrayBuffer],
  );
  const C = classes.length;
  const issues = findIssuesInProbabilities(probs, labels, C, filter).map((f) => ({
    imageId: checked[f.index].id,
    givenClassId: classes[labels[f.index]].id,
    suggestedClassId: classes[f.suggested].id,
    score: f.score,
    suggestedProbability: probs[f.index * C + f.suggested],
  }));
  return { checked: checked.length, folds, probe, issues, failed: features.failed };
}
