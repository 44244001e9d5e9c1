// `lamm classify --export PATH --model DIR IMAGE... [--top N] [--force]` → {"classifications":
// [{image, ranked: [{folder, promptName, probability}]}]}. The model must be the export's base
// model (same weights SHA-256) unless --force.
import { startBackend } from './engine';
import { optionalNumber, requireString, UsageError, type Command } from './args';
import { loadClip } from '../clip';
import { stderrContext } from '../jobs/context';
import { classifyImages } from '../export/classify';
import { importExport } from '../export/export';
import type { Classification } from '../api/contract';

export const classify: Command = {
  usage: '--export PATH --model DIR IMAGE... [--top N] [--force]',
  switches: ['force'],
  async run(args) {
    const exportPath = requireString(args, 'export');
    const modelDir = requireString(args, 'model');
    const top = optionalNumber(args, 'top', { integer: true, min: 1 });
    if (args.positional.length === 0) throw new UsageError('give at least one image');
    const classifier = importExport(exportPath);
    await startBackend();
    const model = await loadClip(modelDir);
    try {
      return { classifications: await classifyImages(classifier, model, args.positional, { top, force: args.options.force === true, ctx: stderrContext() }) };
    } finally {
      model.dispose();
    }
  },
  print(result: { classifications: Classification[] }) {
    for (const c of result.classifications) {
      const best = c.ranked.map((r) => `${r.folder} ${(100 * r.probability).toFixed(1)}%`).join(', ');
      process.stdout.write(`${c.image}: ${best}\n`);
    }
  },
};
