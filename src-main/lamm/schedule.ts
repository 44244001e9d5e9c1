// The learning-rate schedule of the released code (Dassl's ConstantWarmupScheduler around
// CosineAnnealingLR), stepped once per epoch: `warmupEpochs` epochs at `warmupLr`, then
// lr_e = 0.5·lr·(1 + cos(π·e/epochs)) for the 0-based epoch e. The cosine keeps counting
// from 0 during the warm-up, so the first cosine epoch (e = warmupEpochs) is already below lr.

export interface ScheduleConfig {
  lr: number;
  epochs: number;
  warmupEpochs: number;
  warmupLr: number;
}

/** Learning rate for the 0-based `epoch`. */
export function learningRate(epoch: number, c: ScheduleConfig): number {
  if (epoch < c.warmupEpochs) return c.warmupLr;
  return 0.5 * c.lr * (1 + Math.cos((Math.PI * epoch) / c.epochs));
}
