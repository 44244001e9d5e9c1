// The one place training encodes prompts. Input embeddings are built by concatenation along the
// sequence axis, [SOT] [context] [label tokens E] [frozen rest], never by scatter/gather (they
// have no gradients on wasm): only E (LAMM) and/or the context (CoOp) carry gradients.
// Rows are padded to the longest prompt of the task, not 77: under the causal mask and EOT
// pooling the padding never reaches a feature. When the context is the template's own frozen
// words (pure LAMM), "[SOT] a photo of a" is the same for every class and, under the causal
// mask, never depends on what follows: its keys/values are computed once and only the
// positions from the first label token on run per call (exact; DESIGN §6).
import * as tf from '@tensorflow/tfjs';
import { repeatAlongBatch } from '../clip/encoders';
import type { ClipModel, TextPrefix } from '../clip/types';
import type { LabelTokenSetup } from './prompts';

export class PromptEncoder {
  /** E0 [C, minLen, D]: the frozen token embeddings of each class's first minLen name tokens. */
  readonly initialLabels: tf.Tensor3D;
  /** The template words before the label [labelStart−1, D]: CoOp's context initialisation. */
  readonly initialContext: tf.Tensor2D;
  private readonly sot: tf.Tensor3D;
  /** Frozen embeddings after the trained tokens, padded to a common length [C, Lrest, D]. */
  private readonly rest: tf.Tensor3D;
  /** Keys/values of [SOT] + the template's own context words, made on first use. */
  private prefix: TextPrefix | null = null;

  /** `prefixCache: false` runs the whole prompt every call (the reference the cache is tested against). */
  constructor(private readonly model: ClipModel, readonly setup: LabelTokenSetup, private readonly options: { prefixCache?: boolean } = {}) {
    const { promptIds, labelStart, minLen, labelTokenIds } = setup;
    const classes = promptIds.length;
    const width = model.tokenEmbedding.shape[1];
    const rows = (ids: number[]) => tf.gather(model.tokenEmbedding, tf.tensor1d(ids, 'int32'));
    const restStart = labelStart + minLen;
    const restLen = Math.max(...promptIds.map((ids) => ids.length)) - restStart;
    // Pad with each prompt's own EOT id: whatever sits after EOT is never attended to from it.
    const restIds = promptIds.flatMap((ids) => {
      const rest = ids.slice(restStart);
      return [...rest, ...new Array<number>(restLen - rest.length).fill(ids[ids.length - 1])];
    });
    this.sot = tf.tidy(() => rows([promptIds[0][0]]).reshape([1, 1, width]));
    this.initialContext = tf.tidy(() => rows(promptIds[0].slice(1, labelStart)) as tf.Tensor2D);
    this.initialLabels = tf.tidy(() => rows(labelTokenIds.flat()).reshape([classes, minLen, width]));
    this.rest = tf.tidy(() => rows(restIds).reshape([classes, restLen, width]));
  }

  get classes(): number {
    return this.setup.promptIds.length;
  }

  /** Tokens per prompt row (the task's longest prompt). */
  get sequenceLength(): number {
    return this.setup.labelStart + this.setup.minLen + this.rest.shape[1];
  }

  /** Positions the text encoder runs per class with this context: the label onwards when the template prefix is cached. */
  tokensPerClass(context: tf.Tensor2D = this.initialContext): number {
    return this.usesPrefix(context) ? this.sequenceLength - this.setup.labelStart : this.sequenceLength;
  }

  private usesPrefix(context: tf.Tensor2D): boolean {
    return this.options.prefixCache !== false && context === this.initialContext;
  }

  private templatePrefix(): TextPrefix {
    if (!this.prefix) {
      const width = this.initialLabels.shape[2];
      const embeds = tf.concat([this.sot.reshape([1, width]), this.initialContext], 0) as tf.Tensor2D;
      this.prefix = this.model.textPrefix(embeds);
      embeds.dispose();
    }
    return this.prefix;
  }

  /**
   * Projected, unnormalised text features [end−start, P] of classes start..end−1, with their
   * label tokens `labels` [end−start, minLen, D] and the template context `context` [n, D].
   * Defaults: all classes, E0, the template's own words.
   */
  encode(labels?: tf.Tensor3D, context: tf.Tensor2D = this.initialContext, start = 0, end = this.classes): tf.Tensor2D {
    const prefix = this.usesPrefix(context) ? this.templatePrefix() : undefined;
    return tf.tidy(() => {
      const c = end - start;
      const width = this.initialLabels.shape[2];
      const rows = <T extends tf.Tensor>(t: T) => (start === 0 && end === this.classes ? t : (tf.slice(t, start, c) as T));
      const tail = [labels ?? rows(this.initialLabels), rows(this.rest)];
      const eot = this.setup.eot.slice(start, end);
      if (prefix) {
        const shift = this.setup.labelStart;
        return this.model.encodeTextEmbeddings(tf.concat(tail, 1) as tf.Tensor3D, eot.map((e) => e - shift), { prefix });
      }
      const head = tf.concat([this.sot, context.expandDims(0) as tf.Tensor3D], 1);
      const embeds = tf.concat([repeatAlongBatch(head.squeeze([0]), c), ...tail], 1);
      return this.model.encodeTextEmbeddings(embeds.reshape([c, -1, width]) as tf.Tensor3D, eot);
    });
  }

  dispose(): void {
    tf.dispose([this.sot, this.initialContext, this.initialLabels, this.rest]);
    this.prefix?.dispose();
    this.prefix = null;
  }
}
