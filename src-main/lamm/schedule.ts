// The learning-rate schedule of the released code (Dassl's ConstantWarmupScheduler around
// CosineAnnealingLR with T_max = epochs), stepped once per epoch: `warmupEpochs` epochs at
// `warmupLr`, then lr = 0.5·lr·(1 + cos(π·k/epochs)) where k counts the epochs since the
// warm-up ended. Dassl only steps the cosine once the warm-up is over, so the first epoch
// after it runs at the full rate: with one warm-up epoch, 0-based epoch e has k = e − 1.

export interface ScheduleConfig {
  lr: number;
  epochs: number;
  warmupEpochs: number;
  warmupLr: number;
}

/** Learning rate for the 0-based `epoch`. */
export function learningRate(epoch: number, c: ScheduleConfig): number {
  if (epoch < c.warmupEpochs) return c.warmupLr;
  return 0.5 * c.lr * (1 + Math.cos((Math.PI * (epoch - c.warmupEpochs)) / c.epochs));
}
