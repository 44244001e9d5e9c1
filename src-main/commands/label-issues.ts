// `lamm label-issues --model DIR --data DIR [--db FILE] [--folds K] [--seed S] [--probe linear|zeroshot] [--split train|test]`
// → {"checked": N, "issues": [{"image": PATH, "given": FOLDER, "suggested": FOLDER, "score": X}]}
// (DESIGN §5), most suspicious first. Out of sample: k-fold probes on the cached view-0
// features and cleanlab's confident learning (data/label-issues.ts); the Curate page runs the same code.
import { optionalNumber, optionalString, requireString, UsageError, type Command } from './args';
import { loadClip } from '../clip';
import { importForCommand, startBackend } from './engine';
import { findLabelIssues, PROBES, type ProbeKind } from '../data/label-issues';
import { ProjectStore, type SplitName } from '../data/store';
import { stderrContext } from '../jobs/context';

interface LabelIssuesOutput {
  checked: number;
  issues: { image: string; given: string; suggested: string; score: number }[];
}

export const labelIssues: Command = {
  usage: '--model DIR --data DIR [--db FILE] [--folds K] [--seed S] [--probe linear|zeroshot] [--split train|test]',
  async run(args): Promise<LabelIssuesOutput> {
    const modelDir = requireString(args, 'model');
    const dataDir = requireString(args, 'data');
    const dbFile = optionalString(args, 'db');
    const folds = optionalNumber(args, 'folds', { integer: true, min: 2 });
    const seed = optionalNumber(args, 'seed', { integer: true });
    const probe = optionalString(args, 'probe') as ProbeKind | undefined;
    if (probe !== undefined && !PROBES.includes(probe)) throw new UsageError(`--probe must be one of ${PROBES.join(', ')}, got "${probe}"`);
    const split = optionalString(args, 'split') as SplitName | undefined;
    if (split !== undefined && split !== 'train' && split !== 'test') throw new UsageError(`--split must be train or test, got "${split}"`);

    await startBackend();
    const ctx = stderrContext();
    const model = await loadClip(modelDir);
    const store = ProjectStore.open(dbFile ?? ':memory:');
    try {
      const { datasetId } = await importForCommand(store, dataDir, ctx);
      const report = await findLabelIssues(store, model, datasetId, { folds, seed, probe, split }, ctx);
      for (const f of report.failed) process.stderr.write(`left out ${f.path}: ${f.reason}\n`);
      process.stderr.write(`checked ${report.checked} images with ${report.folds}-fold ${report.probe} probes: ${report.issues.length} likely label issues\n`);
      const folder = new Map(store.listClasses(datasetId).map((c) => [c.id, c.folder]));
      return {
        checked: report.checked,
        issues: report.issues.map((i) => ({
          image: store.imageFile(store.getImage(i.imageId)),
          given: folder.get(i.givenClassId)!,
          suggested: folder.get(i.suggestedClassId)!,
          score: i.score,
        })),
      };
    } finally {
      store.close();
      model.dispose();
    }
  },
  print(result: LabelIssuesOutput) {
    const lines = result.issues.map((i) => `  ${i.score.toFixed(3)}  ${i.given} → ${i.suggested}  ${i.image}`);
    process.stdout.write(`${result.issues.length} likely label issues among ${result.checked} images\n${lines.join('\n')}\n`);
  },
};
