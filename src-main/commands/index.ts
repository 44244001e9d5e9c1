// The command table of `lamm`. Each command lives in its own module beside this one and is
// registered here once; DESIGN §5 fixes names, flags and JSON shapes.
import type { Command } from './args';
import { bench } from './bench';
import { embedImage, embedText, tokenize } from './clip';
import { demo } from './demo';
import { serve } from './serve';
import { zeroshot } from './zeroshot';
import { train } from './train';
import { neighbours } from './neighbours';
import { exportRun } from './export';
import { classify } from './classify';
import { labelIssues } from './label-issues';
import { merge } from './merge';
import { doctor } from './doctor';

export const commands: Record<string, Command> = {
  tokenize,
  'embed-text': embedText,
  'embed-image': embedImage,
  serve,
  zeroshot,
  demo,
  train,
  neighbours,
  export: exportRun,
  classify,
  'label-issues': labelIssues,
  merge,
  bench,
  doctor,
};
