// One epoch's mini-batches over the K-shot training set, as the released code's data loader
// draws them: every training image once per epoch in a seeded random order, each time under a
// fresh augmentation (here: one of its V cached views, drawn at random), batches of
// `batchSize`, the incomplete last batch dropped when there is at least one full batch
// (Dassl's drop_last rule).
import { shuffleInPlace } from '../clip/random';

export interface Sample {
  /** Index into the training set. */
  image: number;
  /** Which cached view of it (0 = centre crop). */
  view: number;
}

export function epochBatches(numImages: number, views: number, batchSize: number, random: () => number): Sample[][] {
  const order = shuffleInPlace(
    Array.from({ length: numImages }, (_, i) => i),
    random,
  );
  const samples = order.map((image) => ({ image, view: Math.floor(random() * views) }));
  const batches: Sample[][] = [];
  for (let start = 0; start < samples.length; start += batchSize) batches.push(samples.slice(start, start + batchSize));
  const dropLast = numImages >= batchSize && batches.length > 0 && batches[batches.length - 1].length < batchSize;
  return dropLast ? batches.slice(0, -1) : batches;
}

/** Steps per epoch for a training set of `numImages` (the same rule as epochBatches). */
export function stepsPerEpoch(numImages: number, batchSize: number): number {
  return numImages >= batchSize ? Math.floor(numImages / batchSize) : numImages > 0 ? 1 : 0;
}
