// Label-token setup (DESIGN §3): where each class name sits in its prompt and which of its
// tokens LAMM trains. Every prompt is `[SOT] prefix-words  name-tokens  suffix-words [EOT]`;
// the prefix is the template's text before "{}", identical for all classes, so the first label
// token sits at one position (`labelStart`) in every prompt. The first `minLen` name tokens of
// each class are trained, where `minLen` is the fewest tokens of any name in the task.

import { checkTemplate } from './config';

export interface PromptTokenizer {
  /** BPE ids without SOT/EOT. */
  encode(text: string): number[];
  /** BPE ids with SOT first and EOT last, cut to `contextLength`. */
  encodeWithSpecials(text: string, contextLength?: number): number[];
}

export interface LabelTokenSetup {
  template: string;
  promptNames: string[];
  /** Each full prompt, SOT … EOT. */
  promptIds: number[][];
  /** Index of the first label token, the same in every prompt. */
  labelStart: number;
  /** Trained tokens per class. */
  minLen: number;
  /** Each class's first `minLen` name tokens: the rows of E0. */
  labelTokenIds: number[][];
  /** Index of each prompt's EOT token (its last). */
  eot: number[];
}

/** Tokenize without the tokenizer's cut at 77, so an over-long prompt is reported rather than silently truncated. */
const UNCUT = Number.MAX_SAFE_INTEGER;

export function fillTemplate(template: string, name: string): string {
  return template.replace('{}', name);
}

export function setupLabelTokens(tokenizer: PromptTokenizer, promptNames: string[], template: string, maxPositions: number): LabelTokenSetup {
  if (promptNames.length === 0) throw new Error('there are no classes to train');
  checkTemplate(template);
  const brace = template.indexOf('{}');
  const prefix = tokenizer.encodeWithSpecials(template.slice(0, brace), UNCUT).slice(0, -1); // [SOT, prefix words]
  const labelStart = prefix.length;

  const nameIds = promptNames.map((name) => {
    const ids = tokenizer.encode(name);
    if (ids.length === 0) throw new Error(`class prompt name "${name}" has no tokens; give it a name`);
    return ids;
  });
  const minLen = Math.min(...nameIds.map((ids) => ids.length));

  const promptIds = promptNames.map((name, c) => {
    const ids = tokenizer.encodeWithSpecials(fillTemplate(template, name), UNCUT);
    const expected = [...prefix, ...nameIds[c]];
    if (expected.some((id, i) => ids[i] !== id)) {
      // BPE merged the name with the template's neighbouring characters, so the label has no fixed place.
      throw new Error(`template "${template}" joins the class name "${name}" to its neighbouring text; put a space or punctuation around {}`);
    }
    if (ids.length > maxPositions) throw new Error(`prompt "${fillTemplate(template, name)}" is ${ids.length} tokens; the model takes at most ${maxPositions}`);
    return ids;
  });

  return {
    template,
    promptNames: [...promptNames],
    promptIds,
    labelStart,
    minLen,
    labelTokenIds: nameIds.map((ids) => ids.slice(0, minLen)),
    eot: promptIds.map((ids) => ids.length - 1),
  };
}
