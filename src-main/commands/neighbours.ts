// `lamm neighbours --db FILE --run ID [--k N] [--words-only] [--model DIR]`: for every learned label
// token, its k nearest vocabulary tokens (whole words only with --words-only), the rank of the token it started from, and its drift ‖E−E0‖.
// The model defaults to the one the run was trained with.
import type { LabelTokenReport } from '../api/contract';
import { startBackend } from './engine';
import { optionalNumber, optionalString, requireString, UsageError, type Command } from './args';
import { loadClip } from '../clip';
import { ProjectStore } from '../data/store';
import { runNeighbours } from '../lamm/neighbours';

export const neighbours: Command = {
  usage: '--db FILE --run ID [--k N] [--words-only] [--model DIR]',
  switches: ['words-only'],
  async run(args) {
    const dbFile = requireString(args, 'db');
    const runId = optionalNumber(args, 'run', { integer: true, min: 1 });
    if (runId === undefined) throw new UsageError('--run is required');
    const k = optionalNumber(args, 'k', { integer: true, min: 1 });
    const wordsOnly = args.options['words-only'] === true;
    const store = ProjectStore.open(dbFile);
    try {
      const run = store.getRun(runId);
      const modelDir = optionalString(args, 'model') ?? (run.modelId !== null ? store.getModel(run.modelId).folder : undefined);
      if (!modelDir) throw new UsageError(`run ${runId} names no model; pass --model DIR`);
      await startBackend();
      const model = await loadClip(modelDir);
      try {
        return { runId, classes: await runNeighbours(store, model, runId, { k, wordsOnly }) };
      } finally {
        model.dispose();
      }
    } finally {
      store.close();
    }
  },
  print(result: { runId: number; classes: LabelTokenReport[] }) {
    for (const c of result.classes) {
      for (const t of c.tokens) {
        const near = t.neighbours.map((n) => `${n.token} (${n.cosine.toFixed(3)})`).join(', ');
        process.stdout.write(`${c.folder} [${t.position}] "${t.original}": rank ${t.originalRank}, drift ${t.drift.toFixed(4)}\n  ${near}\n`);
      }
    }
  },
};
