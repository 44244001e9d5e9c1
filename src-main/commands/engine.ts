// What every engine command does first: start the backend and say which one (stderr), and for
// commands given an image folder, import it and report what was skipped.
import { describeBackend, initBackend, type BackendInfo } from '../backend';
import { importFolder, type ImportSummary } from '../data/import';
import type { ProjectStore } from '../data/store';
import type { JobContext } from '../jobs/context';

/** `force` (a --backend flag) wins over LAMM_BACKEND, which wins over the automatic order. */
export async function startBackend(force?: string): Promise<BackendInfo> {
  const backend = await initBackend(force ?? process.env.LAMM_BACKEND);
  process.stderr.write(`backend: ${describeBackend(backend)}\n`);
  return backend;
}

export async function importForCommand(store: ProjectStore, dataDir: string, ctx: JobContext): Promise<ImportSummary> {
  const imported = await importFolder(store, dataDir, {}, ctx);
  process.stderr.write(`imported ${imported.images} images in ${imported.classes} classes (${imported.layout})\n`);
  for (const s of imported.skipped) process.stderr.write(`skipped ${s.path}: ${s.reason}\n`);
  return imported;
}
