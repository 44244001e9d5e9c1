// The messages between the main process and the GPU host page (compute.ts), over one
// MessagePort. Plain data only (structured clone): the page has no Node and no project store,
// so the main process sends the parsed model and the image features, and keeps every file.
import type { ModelFiles } from '../clip/assemble';
import type { LossWeights, TrainConfig } from '../lamm/config';
import type { LabelTokenSetup } from '../lamm/prompts';
import type { Sample } from '../lamm/sampling';
import type { EpochSummary, StepEvent, TrainedPrompts } from '../lamm/trainer';
import type { Progress } from '../jobs/context';

/** What the page found: tfjs's backend and the adapter it computes on. */
export interface GpuHostInfo {
  backend: string;
  adapter: { vendor: string; architecture: string; device: string; description: string; software: boolean };
}

/** The feature rows of one batch, [samples.length, P] row-major. */
export interface FeatureRows {
  data: Float32Array;
  rows: number;
  cols: number;
}

/** One call: op, its parameters, its result. */
export interface GpuHostOps {
  init: { params: Record<string, never>; result: GpuHostInfo };
  loadModel: { params: { files: ModelFiles }; result: { classes?: never } };
  embedTexts: { params: { texts: string[] }; result: Float32Array[] };
  /** Preprocessed pixels (HWC float32, as clip/preprocess makes them). */
  embedPixels: { params: { pixels: Float32Array[] }; result: Float32Array[] };
  /** One LAMM step's loss terms ([total, ...LOSS_TERMS]) and gradients at given label embeddings (checks, benches). */
  step: {
    params: { setup: LabelTokenSetup; labelEmbeddings: Float32Array | null; imageFeatures: FeatureRows; labels: number[]; weights: LossWeights };
    result: { terms: Float32Array; grads: Record<string, Float32Array> };
  };
  /** trainPrompts on the page; batch features are asked of the main process with a 'features' need. */
  train: { params: { setup: LabelTokenSetup; config: TrainConfig; labels: number[]; tokensPerPass?: number }; result: TrainedPrompts };
  /** Cancels the running call `target` at its next step boundary. */
  cancel: { params: { target: number }; result: { cancelled: boolean } };
}
export type GpuHostOp = keyof GpuHostOps;

export type ToHost =
  | { id: number; op: GpuHostOp; params: unknown }
  /** The answer to a 'features' need. */
  | { id: number; op: 'features'; features: FeatureRows }
  | { id: number; op: 'features'; error: string };

export type HostEvent = { kind: 'step'; step: StepEvent } | { kind: 'epoch'; epoch: EpochSummary } | { kind: 'progress'; progress: Progress };

export type FromHost =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: string; cancelled?: boolean }
  | { id: number; event: HostEvent }
  /** The running call `id` needs these samples' features; answer with op 'features' and id `ask`. */
  | { id: number; need: 'features'; ask: number; samples: Sample[] };

/** The IPC channel on which the GPU window's preload receives its port (the only message it takes). */
export const GPU_PORT_CHANNEL = 'lamm-gpu-port';

/** The message the page waits for, whose first transferred port carries everything else. */
export const PORT_MESSAGE = 'lamm-gpu-port';
