// `lamm train --model DIR --data DIR --shots K [--seed S] [--epochs E] [--method M] [--db FILE]` (methods: lamm/methods.ts)
// → {"zeroShot": {...}, "trained": {...}, "runId": id, "backend": name} (DESIGN §5).
// Without --db the folder is imported into a throwaway in-memory project (as `zeroshot`);
// with it, the run, its log, embeddings and predictions are kept there. Ctrl-C cancels.
import { optionalNumber, optionalString, requireString, UsageError, type ParsedArgs, type Command } from './args';
import { loadClip } from '../clip';
import { importForCommand, startBackend } from './engine';
import { ProjectStore } from '../data/store';
import { stderrContext } from '../jobs/context';
import type { TrainConfigInput, TrainMethod, WeightConsistencyScale } from '../lamm/config';
import { isTrainMethod, TRAIN_METHODS } from '../lamm/methods';
import { formatTerms, WEIGHTED_LOSS_TERMS } from '../lamm/loss-terms';
import { trainRun, type AccuracyReport } from '../lamm/run';

function configFrom(args: ParsedArgs): TrainConfigInput {
  const method = optionalString(args, 'method') as TrainMethod | undefined;
  if (method !== undefined && !isTrainMethod(method)) throw new UsageError(`--method must be one of ${TRAIN_METHODS.join(', ')}, got "${method}"`);
  const wcScale = optionalString(args, 'wc-scale') as WeightConsistencyScale | undefined;
  if (wcScale !== undefined && wcScale !== 'one' && wcScale !== 'inverse-shots')
    throw new UsageError(`--wc-scale must be "one" or "inverse-shots", got "${wcScale}"`);
  const shots = optionalNumber(args, 'shots', { integer: true, min: 1 });
  if (shots === undefined) throw new UsageError('--shots is required');
  return {
    method,
    shots,
    seed: optionalNumber(args, 'seed', { integer: true }),
    epochs: optionalNumber(args, 'epochs', { integer: true, min: 1 }),
    template: optionalString(args, 'template'),
    views: optionalNumber(args, 'views', { integer: true, min: 1 }),
    lr: optionalNumber(args, 'lr', { min: 0 }),
    batchSize: optionalNumber(args, 'batch-size', { integer: true, min: 1 }),
    onlineAugment: args.options['online-augment'] === true ? true : undefined,
    wcScale,
    lambdas: {
      ...Object.fromEntries(WEIGHTED_LOSS_TERMS.map((t) => [t.weight, optionalNumber(args, `lambda-${t.weight}`, { min: 0 })])),
      T: optionalNumber(args, 'temperature', { min: Number.MIN_VALUE }),
    },
  };
}

export const train: Command = {
  usage: `--model DIR --data DIR --shots K [--seed S] [--epochs E] [--method ${TRAIN_METHODS.join('|')}] [--db FILE] [--classes a,b,...] [--template T] [--views V] [--lr X] [--batch-size B] [--online-augment] [--wc-scale one|inverse-shots] ${WEIGHTED_LOSS_TERMS.map((t) => `[--lambda-${t.weight} X]`).join(' ')} [--temperature T]`,
  switches: ['online-augment'],
  async run(args) {
    const modelDir = requireString(args, 'model');
    const dataDir = requireString(args, 'data');
    const config = configFrom(args);
    const classes = optionalString(args, 'classes')
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const dbFile = optionalString(args, 'db');

    await startBackend();
    const controller = new AbortController();
    const onSigint = () => {
      process.stderr.write('cancelling at the next step…\n');
      controller.abort();
    };
    process.once('SIGINT', onSigint);
    const ctx = stderrContext(controller.signal);
    const model = await loadClip(modelDir);
    const store = ProjectStore.open(dbFile ?? ':memory:');
    try {
      const imported = await importForCommand(store, dataDir, ctx);
      const outcome = await trainRun(
        store,
        model,
        { datasetId: imported.datasetId, classes, config },
        {
          ctx,
          log: (m) => process.stderr.write(`${m}\n`),
          onEpoch: (_runId, e) => {
            if (e.testAccuracy === null)
              process.stderr.write(
                `epoch ${e.epoch + 1}: loss ${e.loss.toFixed(4)} (${formatTerms(e.terms)}) lr ${e.lr.toExponential(2)} train acc ${(100 * e.trainAccuracy).toFixed(1)}% ${e.seconds.toFixed(2)}s\n`,
              );
          },
        },
      );
      process.stderr.write(
        `run ${outcome.runId}${dbFile ? ` in ${store.file}` : ''}: ${outcome.timings.secondsPerEpoch.toFixed(3)} s/epoch, ${outcome.timings.secondsPerStep.toFixed(3)} s/step\n`,
      );
      return { zeroShot: outcome.zeroShot, trained: outcome.trained, runId: outcome.runId, backend: outcome.backend };
    } finally {
      process.removeListener('SIGINT', onSigint);
      store.close();
      model.dispose();
    }
  },
  print(result: { zeroShot: AccuracyReport; trained: AccuracyReport; runId: number; backend: string }) {
    const pct = (x: number | undefined) => (x === undefined ? '   -  ' : `${(100 * x).toFixed(1).padStart(5)}%`);
    const lines = Object.keys(result.trained.perClass).map(
      (folder) => `  ${pct(result.zeroShot.perClass[folder])} → ${pct(result.trained.perClass[folder])}  ${folder}`,
    );
    process.stdout.write(
      `run ${result.runId} (${result.backend})\n  zero-shot → trained\n  ${pct(result.zeroShot.accuracy)} → ${pct(result.trained.accuracy)}  all\n${lines.join('\n')}\n`,
    );
  },
};
