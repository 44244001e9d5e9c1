// `lamm zeroshot --model DIR --data DIR [--template T | --ensemble] [--split all|train|test] [--db FILE]`
// → {"accuracy": a, "perClass": {folder: acc}} (DESIGN §5). Without --db the folder is
// imported into a throwaway in-memory project; with it, into that project (re-importing
// picks up changes, features are cached there, and the run is kept).
import { optionalString, requireString, UsageError, type ParsedArgs, type Command } from './args';
import { loadClip } from '../clip';
import { importForCommand, startBackend } from './engine';
import { ProjectStore } from '../data/store';
import { stderrContext } from '../jobs/context';
import { ENSEMBLE_TEMPLATES, runZeroShot, type EvalSplit } from '../lamm/zeroshot';

const SPLITS: readonly EvalSplit[] = ['all', 'train', 'test'];

function templatesFrom(args: ParsedArgs): string[] | undefined {
  const template = optionalString(args, 'template');
  if (template !== undefined && args.options.ensemble) throw new UsageError('give --template or --ensemble, not both');
  if (args.options.ensemble) return [...ENSEMBLE_TEMPLATES];
  return template === undefined ? undefined : [template];
}

export const zeroshot: Command = {
  usage: '--model DIR --data DIR [--template T | --ensemble] [--split all|train|test] [--db FILE]',
  switches: ['ensemble'],
  async run(args) {
    const modelDir = requireString(args, 'model');
    const dataDir = requireString(args, 'data');
    const templates = templatesFrom(args);
    const split = (optionalString(args, 'split') ?? 'all') as EvalSplit;
    if (!SPLITS.includes(split)) throw new UsageError(`--split must be one of ${SPLITS.join(', ')}, got "${split}"`);
    const dbFile = optionalString(args, 'db');

    await startBackend();
    const ctx = stderrContext();
    const model = await loadClip(modelDir);
    const store = ProjectStore.open(dbFile ?? ':memory:');
    try {
      const imported = await importForCommand(store, dataDir, ctx);
      const result = await runZeroShot(store, model, { datasetId: imported.datasetId, templates, split }, ctx);
      for (const f of result.failed) process.stderr.write(`left out ${f.path}: ${f.reason}\n`);
      process.stderr.write(`zero-shot on ${result.images} images${dbFile ? `, run ${result.runId} in ${store.file}` : ''}\n`);
      return { accuracy: result.accuracy, perClass: result.perClass };
    } finally {
      store.close();
      model.dispose();
    }
  },
  print(result: { accuracy: number; perClass: Record<string, number> }) {
    const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
    const lines = Object.entries(result.perClass).map(([folder, acc]) => `  ${folder}: ${pct(acc)}`);
    process.stdout.write(`accuracy ${pct(result.accuracy)}\n${lines.join('\n')}\n`);
  },
};
