// `lamm export --db FILE --run ID --format safetensors|npy|json --out DIR` → {"files": [...]}:
// manifest.json first, then the tensor file(s) (DESIGN §4).
import { optionalNumber, optionalString, requireString, UsageError, type Command } from './args';
import { ProjectStore } from '../data/store';
import { EXPORT_FORMATS, exportClassifier, type ExportFormat } from '../export/export';
import { loadRunClassifier } from '../lamm/classifier';

export const exportRun: Command = {
  usage: '--db FILE --run ID --format safetensors|npy|json --out DIR',
  async run(args) {
    const dbFile = requireString(args, 'db');
    const runId = optionalNumber(args, 'run', { integer: true, min: 1 });
    if (runId === undefined) throw new UsageError('--run is required');
    const format = (optionalString(args, 'format') ?? 'safetensors') as ExportFormat;
    if (!EXPORT_FORMATS.includes(format)) throw new UsageError(`--format must be one of ${EXPORT_FORMATS.join(', ')}, got "${format}"`);
    const out = requireString(args, 'out');
    const store = ProjectStore.open(dbFile);
    try {
      return { files: exportClassifier(loadRunClassifier(store, runId), format, out) };
    } finally {
      store.close();
    }
  },
};
