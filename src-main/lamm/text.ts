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
  constructor(
    private readonly model: ClipModel,
    readonly setup: LabelTokenSetup,
    private readonly options: { prefixCache?: boolean } = {},
  ) {
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

  /** The text encoder's input for classes start..end−1: token embeddings, EOT positions, and the cached prefix when there is one. */
  private inputs(
    labels: tf.Tensor3D | undefined,
    context: tf.Tensor2D,
    start: number,
    end: number,
  ): { embeds: tf.Tensor3D; eot: number[]; prefix?: TextPrefix } {
    const prefix = this.usesPrefix(context) ? this.templatePrefix() : undefined;
    const c = end - start;
    const rows = <T extends tf.Tensor>(t: T) => (start === 0 && end === this.classes ? t : (tf.slice(t, start, c) as T));
    const tail = [labels ?? rows(this.initialLabels), rows(this.rest)];
    const eot = this.setup.eot.slice(start, end);
    if (prefix) return { embeds: tf.concat(tail, 1) as tf.Tensor3D, eot: eot.map((e) => e - this.setup.labelStart), prefix };
    const head = tf.concat([this.sot, context.expandDims(0) as tf.Tensor3D], 1);
    return { embeds: tf.concat([repeatAlongBatch(head.squeeze([0]), c), ...tail], 1) as tf.Tensor3D, eot };
  }

  /**
   * Projected, unnormalised text features [end−start, P] of classes start..end−1, with their
   * label tokens `labels` [end−start, minLen, D] and the template context `context` [n, D].
   * Defaults: all classes, E0, the template's own words.
   */
  encode(labels?: tf.Tensor3D, context: tf.Tensor2D = this.initialContext, start = 0, end = this.classes): tf.Tensor2D {
    return tf.tidy(() => {
      const { embeds, eot, prefix } = this.inputs(labels, context, start, end);
      return this.model.encodeTextEmbeddings(embeds, eot, { prefix });
    });
  }

  /**
   * encode() without a gradient tape, for a step computed in chunks: `backward(dL/dfeatures)`
   * later gives dL/dlabels [end−start, minLen, D] and dL/dcontext [n, D] (null when the context
   * is the template's frozen words), from activations kept outside the wasm heap.
   */
  encodeKeeping(
    labels?: tf.Tensor3D,
    context: tf.Tensor2D = this.initialContext,
    start = 0,
    end = this.classes,
  ): { features: tf.Tensor2D; backward(dFeatures: tf.Tensor2D): { labels: tf.Tensor3D; context: tf.Tensor2D | null } } {
    let eot: number[] = [];
    let prefix: TextPrefix | undefined;
    const embeds = tf.tidy(() => {
      const input = this.inputs(labels, context, start, end);
      ({ eot, prefix } = input);
      return input.embeds;
    });
    const pass = this.model.encodeTextEmbeddingsKeeping(embeds, eot, { prefix });
    embeds.dispose();
    const { labelStart, minLen } = this.setup;
    return {
      features: pass.features,
      backward: (dFeatures) => {
        const dEmbeds = pass.backward(dFeatures);
        const dLabels = tf.slice(dEmbeds, [0, prefix ? 0 : labelStart, 0], [-1, minLen, -1]) as tf.Tensor3D;
        // The context sits after SOT in every row: its gradient is the sum over the rows.
        const dContext = prefix ? null : tf.tidy(() => tf.sum(tf.slice(dEmbeds, [0, 1, 0], [-1, labelStart - 1, -1]), 0) as tf.Tensor2D);
        dEmbeds.dispose();
        return { labels: dLabels, context: dContext };
      },
    };
  }

  dispose(): void {
    tf.dispose([this.sot, this.initialContext, this.initialLabels, this.rest]);
    this.prefix?.dispose();
    this.prefix = null;
  }
}
