// `lamm merge --db FILE --runs A,B[,...]` → {"runId", "classes", "accuracy", "perClass"} (DESIGN §5):
// LAMM runs on disjoint classes become one classifier, the old classes' label embeddings
// copied byte for byte, evaluated on the union of the runs' test splits (lamm/merge.ts).
import { existsSync } from 'node:fs';
import { requireString, UsageError, type Command } from './args';
import { ProjectStore } from '../data/store';
import { mergeRuns } from '../lamm/merge';

interface MergeOutput {
  runId: number;
  /** Classes of the merged classifier. */
  classes: number;
  accuracy: number;
  perClass: Record<string, number>;
}

export function parseRunIds(text: string): number[] {
  const ids = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const s of ids) if (!/^[1-9]\d*$/.test(s)) throw new UsageError(`--runs must be run ids separated by commas, got "${text}"`);
  const runs = ids.map(Number);
  if (runs.length < 2) throw new UsageError('--runs needs at least two run ids, e.g. --runs 3,4');
  if (new Set(runs).size !== runs.length) throw new UsageError(`--runs names a run twice: "${text}"`);
  return runs;
}

export const merge: Command = {
  usage: '--db FILE --runs A,B[,...]',
  async run(args): Promise<MergeOutput> {
    const dbFile = requireString(args, 'db');
    const runIds = parseRunIds(requireString(args, 'runs'));
    if (!existsSync(dbFile)) throw new Error(`no project file at ${dbFile}`);
    const store = ProjectStore.open(dbFile);
    try {
      const out = await mergeRuns(store, runIds);
      process.stderr.write(`merged runs ${runIds.join(', ')} into run ${out.runId} in ${store.file}: ${Object.keys(out.perClass).length} classes\n`);
      return { runId: out.runId, classes: store.getRunClasses(out.runId).length, accuracy: out.accuracy, perClass: out.perClass };
    } finally {
      store.close();
    }
  },
  print(result: MergeOutput) {
    const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
    const lines = Object.entries(result.perClass).map(([folder, acc]) => `  ${pct(acc).padStart(6)}  ${folder}`);
    process.stdout.write(
      `run ${result.runId}: ${result.classes} classes, accuracy ${pct(result.accuracy)} on the union of the runs' test splits\n${lines.join('\n')}\n`,
    );
  },
};
