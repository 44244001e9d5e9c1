// The training methods (DESIGN §3), one row each: what the trainer trains, which loss it uses,
// whether its runs merge class-incrementally, and how the UI and the CLI name it. The trainer,
// the config check, merge, export, the Train page's select and the CLI's usage all read this
// table; TrainMethod is its keys, so the compiler finds every use. Plain data without
// imports, so the renderer can read it through the contract.

export interface MethodSpec {
  /** How the UI titles its runs and jobs. */
  title: string;
  /** The Train page's select entry: what it learns. */
  label: string;
  /** Trains the first min_len label tokens E of each class name. */
  trainsLabels: boolean;
  /** Trains the template's words before {} as CoOp context vectors. */
  trainsContext: boolean;
  /** LAMM's hierarchical loss, or plain cross-entropy (the released CoOp). */
  loss: 'lamm' | 'cross-entropy';
  /** Runs on disjoint classes combine into one classifier: only when each class's tokens are its own (no shared context). */
  mergeable: boolean;
}

export const METHOD_SPECS = {
  lamm: { title: 'LAMM', label: 'LAMM (label tokens)', trainsLabels: true, trainsContext: false, loss: 'lamm', mergeable: true },
  coop: { title: 'CoOp', label: 'CoOp (context vectors)', trainsLabels: false, trainsContext: true, loss: 'cross-entropy', mergeable: false },
  'coop+lamm': { title: 'CoOp + LAMM', label: 'CoOp + LAMM (both)', trainsLabels: true, trainsContext: true, loss: 'lamm', mergeable: false },
} as const satisfies Record<string, MethodSpec>;

export type TrainMethod = keyof typeof METHOD_SPECS;
/** The method names in table order (a non-empty tuple, as schemas want). */
export const TRAIN_METHODS = Object.keys(METHOD_SPECS) as [TrainMethod, ...TrainMethod[]];

export function isTrainMethod(name: unknown): name is TrainMethod {
  return typeof name === 'string' && Object.hasOwn(METHOD_SPECS, name);
}
