// `lamm bench train --classes C --shots K [--steps N] [--backend B] [--json]` (DESIGN §6): see lamm/speed-bench.ts.
import { optionalNumber, optionalString, UsageError, type ParsedArgs, type Command } from './args';
import { benchTrain } from '../lamm/speed-bench';
import { startBackend } from './engine';

export const bench: Command = {
  usage: 'train --classes C --shots K [--steps N] [--model DIR] [--backend tfjs-node-gpu|webgpu|tfjs-node|wasm|cpu]',
  async run(args: ParsedArgs) {
    const what = args.positional[0];
    if (what !== 'train') throw new UsageError('usage: lamm bench train --classes C --shots K [--steps N]');
    await startBackend(optionalString(args, 'backend'));
    return benchTrain({
      classes: optionalNumber(args, 'classes', { integer: true, min: 2 }) ?? 100,
      shots: optionalNumber(args, 'shots', { integer: true, min: 1 }) ?? 16,
      steps: optionalNumber(args, 'steps', { integer: true, min: 1 }) ?? 3,
      modelDir: optionalString(args, 'model'),
    });
  },
};
