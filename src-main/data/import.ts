// Folder import: `DATA/<class>/**` or `DATA/train|test/<class>/**` into a project.
//
// Files are matched to rows by path, and by content hash when a path is new, so re-importing
// after files were added, removed, moved, renamed or edited keeps every user edit (exclusion,
// relabel, split move) with the image's content. Work is committed in batches: a process
// killed mid-import leaves a consistent project (each committed row is whole and right), and
// running the import again finishes the job, skipping the files already done by size + mtime.
// Removals are applied only after a complete scan, so an interrupted run never drops rows.
// Bad files (empty, not an image, corrupt, unreadable) are listed in the summary and skipped.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { CancelledError, type JobContext } from '../jobs/context';
import { FILE_CONCURRENCY, forEachLimited } from './pool';
import { assignSeededSplit } from './splits';
import type { Layout, ProjectStore, SplitName } from './store';
import { firstLine } from '../errors';
import { decodeAndThumbnail, readHeader, saveThumbnail, thumbnailFile, type ImageHeader } from './thumbnails';

/** Rows per transaction: small enough that a kill loses little, large enough to amortise the fsync. */
const DEFAULT_BATCH = 64;
const SPLIT_FOLDERS = new Map<string, SplitName>([
  ['train', 'train'],
  ['test', 'test'],
]);

export interface ImportOptions {
  /** Render thumbnails (default: when the project has a thumbnail folder, i.e. is not in memory). */
  thumbnails?: boolean;
  batchSize?: number;
  concurrency?: number;
}

export interface SkippedFile {
  /** Relative to the data folder. */
  path: string;
  reason: string;
}

export interface ImportSummary {
  datasetId: number;
  root: string;
  layout: Layout;
  /** Files looked at (hidden files and folders are ignored). */
  files: number;
  added: number;
  /** Same path, new content (the image's edits are kept, its cached features dropped). */
  changed: number;
  /** Same content at a new path (the row, its edits and features follow it). */
  moved: number;
  /** Files that had gone and came back. */
  restored: number;
  unchanged: number;
  /** Rows whose files are gone (kept, marked missing). */
  removed: number;
  skipped: SkippedFile[];
  /** Images present after the import, and classes that have them. */
  images: number;
  classes: number;
  seconds: number;
}

interface FoundFile {
  rel: string;
  abs: string;
  size: number;
  mtimeMs: number;
  folder: string;
  split: SplitName | null;
}

interface KnownRow {
  id: number;
  path: string;
  sha256: string;
  size: number;
  mtime_ms: number;
  missing: number;
}

type Outcome = { kind: 'same'; file: FoundFile; row: KnownRow } | { kind: 'content'; file: FoundFile; sha256: string; header: ImageHeader };

/** Imports (or re-imports) the folder `root` into `store`; returns what changed. */
export async function importFolder(store: ProjectStore, root: string, opts: ImportOptions = {}, ctx?: JobContext): Promise<ImportSummary> {
  // The lease lets the next open sweep the temp thumbnails of an import that was killed.
  const release = store.thumbnailDir !== null && (opts.thumbnails ?? true) ? store.holdImportLease() : null;
  try {
    return await runImport(store, root, opts, ctx);
  } finally {
    release?.();
  }
}

async function runImport(store: ProjectStore, root: string, opts: ImportOptions, ctx?: JobContext): Promise<ImportSummary> {
  const started = Date.now();
  const abs = path.resolve(root);
  const stat = await fs.promises.stat(abs).catch(() => null);
  if (!stat?.isDirectory()) throw new Error(`data folder not found: ${abs}`);
  const thumbDir = (opts.thumbnails ?? true) ? store.thumbnailDir : null;

  const scan = await scanFolder(abs, ownPaths(store));
  const dataset = store.ensureDataset(abs, scan.layout);
  const summary: ImportSummary = {
    datasetId: dataset.id,
    root: abs,
    layout: scan.layout,
    files: scan.files.length + scan.skipped.length,
    added: 0,
    changed: 0,
    moved: 0,
    restored: 0,
    unchanged: 0,
    removed: 0,
    skipped: [...scan.skipped],
    images: 0,
    classes: 0,
    seconds: 0,
  };

  const known = new Map<string, KnownRow>();
  for (const row of store.stmt('SELECT id, path, sha256, size, mtime_ms, missing FROM images WHERE dataset_id = ?').all(dataset.id) as KnownRow[]) {
    known.set(row.path, row);
  }
  const listed = new Set(scan.files.map((f) => f.rel));
  const committer = new BatchCommitter(store, dataset.id, listed, summary);

  const batchSize = opts.batchSize ?? DEFAULT_BATCH;
  let pending: Outcome[] = [];
  let done = 0;
  const flush = () => {
    if (pending.length === 0) return;
    const batch = pending;
    pending = [];
    committer.commit(batch);
  };
  try {
    await forEachLimited(scan.files, opts.concurrency ?? FILE_CONCURRENCY, ctx, async (file) => {
      try {
        // Await first: `pending` is swapped by flush() while this file is read.
        const outcome = await examine(file, known.get(file.rel), thumbDir);
        pending.push(outcome);
      } catch (err) {
        if (err instanceof ThumbnailWriteError) throw err.cause;
        summary.skipped.push({ path: file.rel, reason: firstLine(err) });
      }
      if (pending.length >= batchSize) flush();
      ctx?.progress({ stage: 'import', done: ++done, total: scan.files.length, message: file.rel });
    });
  } catch (err) {
    // Whatever was examined before a cancel is valid: keep it, so the next run starts further on.
    if (err instanceof CancelledError) flush();
    throw err;
  }
  flush();

  // The scan was complete: rows whose files are gone (or now unreadable) become missing.
  store.write(() => {
    const present = committer.presentPaths;
    const markMissing = store.stmt('UPDATE images SET missing = 1 WHERE id = ?');
    for (const row of store.stmt('SELECT id, path FROM images WHERE dataset_id = ? AND missing = 0').all(dataset.id) as { id: number; path: string }[]) {
      if (!present.has(row.path)) {
        markMissing.run(row.id);
        summary.removed++;
      }
    }
    assignSeededSplit(store, dataset.id);
    summary.images = (store.stmt('SELECT COUNT(*) AS n FROM images WHERE dataset_id = ? AND missing = 0').get(dataset.id) as { n: number }).n;
    summary.classes = store.listClasses(dataset.id).length;
    summary.skipped.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    summary.seconds = (Date.now() - started) / 1000;
    store.setLastImport(dataset.id, summary);
  });
  return summary;
}

/** Disk trouble writing our own cache is the project's problem, not the image's: it must not read as a bad file. */
class ThumbnailWriteError extends Error {
  constructor(override readonly cause: unknown) {
    super(firstLine(cause));
  }
}

/** Reads one file as far as needed: size + mtime unchanged means nothing to do. */
async function examine(file: FoundFile, row: KnownRow | undefined, thumbDir: string | null): Promise<Outcome> {
  const hasThumbnail = (sha: string) => thumbDir === null || fs.existsSync(thumbnailFile(thumbDir, sha));
  if (row && row.size === file.size && row.mtime_ms === file.mtimeMs && hasThumbnail(row.sha256)) return { kind: 'same', file, row };

  let buf: Buffer;
  try {
    buf = await fs.promises.readFile(file.abs);
  } catch (err) {
    throw new Error(`unreadable: ${(err as NodeJS.ErrnoException).code ?? firstLine(err)}`);
  }
  const sha256 = crypto.createHash('sha256').update(buf).digest('hex');
  // A thumbnail exists only for content that decoded fully once: the header is enough then.
  if (thumbDir !== null && hasThumbnail(sha256)) return { kind: 'content', file, sha256, header: await readHeader(buf) };
  const { thumbnail, ...header } = await decodeAndThumbnail(buf);
  if (thumbDir !== null) {
    try {
      await saveThumbnail(thumbDir, sha256, thumbnail);
    } catch (err) {
      throw new ThumbnailWriteError(err);
    }
  }
  return { kind: 'content', file, sha256, header };
}

/** Applies examined files to the database, one transaction per batch. */
class BatchCommitter {
  /** Paths that hold a good image after this import. */
  readonly presentPaths = new Set<string>();
  /** Rows already taken as the source of a move in this import. */
  private readonly claimed = new Set<number>();
  private readonly classIds = new Map<string, number>();

  constructor(
    private readonly store: ProjectStore,
    private readonly datasetId: number,
    /** Every path the scan found, good or bad. */
    private readonly listed: Set<string>,
    private readonly summary: ImportSummary,
  ) {}

  commit(batch: Outcome[]): void {
    this.store.write(() => {
      for (const outcome of batch) {
        this.apply(outcome);
        this.presentPaths.add(outcome.file.rel);
      }
    });
  }

  private apply(o: Outcome): void {
    const s = this.store;
    const f = o.file;
    const classId = this.classId(f.folder);
    const atPath = s.stmt('SELECT id, path, sha256, size, mtime_ms, missing FROM images WHERE dataset_id = ? AND path = ?').get(this.datasetId, f.rel) as
      | KnownRow
      | undefined;

    if (o.kind === 'same' || (atPath && atPath.sha256 === o.sha256)) {
      const row = atPath!;
      s.stmt('UPDATE images SET size = ?, mtime_ms = ?, missing = 0 WHERE id = ?').run(f.size, f.mtimeMs, row.id);
      if (row.missing) this.summary.restored++;
      else this.summary.unchanged++;
      return;
    }
    const { sha256, header } = o;
    if (atPath) {
      // New content under an old name: the edits stay with the path, the features go.
      s.stmt('UPDATE images SET sha256 = ?, size = ?, mtime_ms = ?, width = ?, height = ?, format = ?, missing = 0 WHERE id = ?').run(
        sha256,
        f.size,
        f.mtimeMs,
        header.width,
        header.height,
        header.format,
        atPath.id,
      );
      s.stmt('DELETE FROM features WHERE image_id = ?').run(atPath.id);
      this.summary.changed++;
      return;
    }
    const source = this.moveSource(sha256, f.rel);
    if (source) {
      this.claimed.add(source.id);
      s.stmt(`UPDATE images SET path = ?, size = ?, mtime_ms = ?, folder_class_id = ?, base_split = COALESCE(?, base_split), missing = 0 WHERE id = ?`).run(
        f.rel,
        f.size,
        f.mtimeMs,
        classId,
        f.split,
        source.id,
      );
      if (source.missing) this.summary.restored++;
      else this.summary.moved++;
      return;
    }
    s.stmt(`INSERT INTO images (dataset_id, path, sha256, size, mtime_ms, width, height, format, folder_class_id, base_split)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
      // Without folder splits, 'train' holds the place until the seeded split runs at the end of the import.
      .run(this.datasetId, f.rel, sha256, f.size, f.mtimeMs, header.width, header.height, header.format, classId, f.split ?? 'train');
    this.summary.added++;
  }

  /** A row with this content whose file is gone: the file was moved or renamed (same name preferred). */
  private moveSource(sha256: string, rel: string): KnownRow | null {
    const rows = this.store
      .stmt('SELECT id, path, sha256, size, mtime_ms, missing FROM images WHERE dataset_id = ? AND sha256 = ?')
      .all(this.datasetId, sha256) as KnownRow[];
    const free = rows.filter((r) => !this.claimed.has(r.id) && (r.missing === 1 || !this.listed.has(r.path)));
    const name = path.posix.basename(rel);
    return free.find((r) => path.posix.basename(r.path) === name) ?? free[0] ?? null;
  }

  private classId(folder: string): number {
    let id = this.classIds.get(folder);
    if (id === undefined) {
      id = this.store.ensureClass(this.datasetId, folder);
      this.classIds.set(folder, id);
    }
    return id;
  }
}

/** A name as text, with each byte that is not part of valid UTF-8 written as \xNN. */
function printableName(name: Buffer): string {
  let out = '';
  for (let i = 0; i < name.length; ) {
    const n = utf8SequenceLength(name, i);
    if (n > 0) {
      out += name.toString('utf8', i, i + n);
      i += n;
    } else {
      out += `\\x${name[i].toString(16).padStart(2, '0')}`;
      i++;
    }
  }
  return out;
}

/** Bytes in the valid UTF-8 sequence starting at `i`, or 0 when none starts there. */
function utf8SequenceLength(b: Buffer, i: number): number {
  const c = b[i];
  const n = c < 0x80 ? 1 : c >= 0xc2 && c < 0xe0 ? 2 : c >= 0xe0 && c < 0xf0 ? 3 : c >= 0xf0 && c < 0xf5 ? 4 : 0;
  if (n === 0 || i + n > b.length) return 0;
  // Overlong forms and surrogates decode to U+FFFD: a round trip tells them apart.
  return Buffer.from(b.toString('utf8', i, i + n), 'utf8').equals(b.subarray(i, i + n)) ? n : 0;
}

/** The project's own files, which must never be imported when the project lives inside the data folder. */
function ownPaths(store: ProjectStore): string[] {
  if (store.thumbnailDir === null) return []; // in memory
  return [store.file, `${store.file}-wal`, `${store.file}-shm`, `${store.file}-journal`, store.thumbnailDir];
}

/**
 * Lists the files under `root` and which class (and split) each belongs to. Links the folder
 * holds are followed, to files and to folders (a class folder or test/ linked in to save
 * copying); each real folder is read once, so a loop ends and a folder linked twice counts
 * once, and both are named in `skipped`. Names that are not UTF-8 are skipped and named too:
 * a project stores paths as text, and such a name does not survive the trip.
 */
export async function scanFolder(root: string, ignore: string[] = []): Promise<{ layout: Layout; files: FoundFile[]; skipped: SkippedFile[] }> {
  const ignored = new Set(ignore.map((p) => path.resolve(p)));
  const all: { rel: string; abs: string; size: number; mtimeMs: number }[] = [];
  const skipped: SkippedFile[] = [];
  /** Every folder read, by its relative path; and the rel path each real folder (dev:ino) was read as. */
  const folders: string[] = [];
  const readAs = new Map<string, string>();

  const walk = async (dir: string, relDir: string, st: fs.Stats, ancestors: Set<string>): Promise<void> => {
    const key = `${st.dev}:${st.ino}`;
    if (ancestors.has(key)) return void skipped.push({ path: relDir, reason: 'link to a folder that contains it (a loop): not followed' });
    const first = readAs.get(key);
    if (first !== undefined)
      return void skipped.push({ path: relDir, reason: `link to a folder already imported as ${first || '.'}: its files are counted once` });
    readAs.set(key, relDir);
    if (relDir) folders.push(relDir);
    const entries = await fs.promises.readdir(dir, { withFileTypes: true, encoding: 'buffer' }).catch((err: NodeJS.ErrnoException) => {
      skipped.push({ path: relDir || '.', reason: `unreadable folder: ${err.code ?? err.message}` });
      return [];
    });
    const named = entries.map((entry) => ({ entry, name: entry.name.toString('utf8') }));
    named.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const inside = new Set([...ancestors, key]);
    for (const { entry, name } of named) {
      if (entry.name[0] === 0x2e) continue; // .DS_Store, .git, editors' temp files
      const relOf = (n: string) => (relDir ? `${relDir}/${n}` : n);
      if (!Buffer.from(name, 'utf8').equals(entry.name)) {
        const folder = entry.isDirectory();
        skipped.push({
          path: relOf(printableName(entry.name)),
          reason: folder ? 'folder name is not valid UTF-8 (rename it to import what it holds)' : 'name is not valid UTF-8 (rename the file to import it)',
        });
        continue;
      }
      const abs = path.join(dir, name);
      if (ignored.has(abs)) continue;
      const rel = relOf(name);
      if (!entry.isDirectory() && !entry.isFile() && !entry.isSymbolicLink()) continue; // sockets, fifos, devices
      // stat follows links: a link is taken as what it points to.
      const target = await fs.promises.stat(abs).catch(() => null);
      if (!target) skipped.push({ path: rel, reason: entry.isSymbolicLink() ? 'unreadable: broken link' : 'unreadable' });
      else if (target.isDirectory()) await walk(abs, rel, target, inside);
      else if (target.isFile()) all.push({ rel, abs, size: target.size, mtimeMs: target.mtimeMs });
    }
  };
  await walk(root, '', await fs.promises.stat(root), new Set());

  const topFolders = folders.filter((f) => !f.includes('/'));
  const splitParents = topFolders.filter((d) => SPLIT_FOLDERS.has(d.toLowerCase()) && folders.some((f) => f.startsWith(`${d}/`)));
  const layout: Layout = splitParents.length > 0 ? 'splits' : 'classes';

  // A class folder with no files would silently vanish from the task: say so.
  const holding = new Set<string>();
  for (const f of all) {
    const parts = f.rel.split('/');
    holding.add(parts[0]);
    if (parts.length > 2) holding.add(`${parts[0]}/${parts[1]}`);
  }
  const classFolders = layout === 'splits' ? folders.filter((f) => f.split('/').length === 2 && splitParents.includes(f.split('/')[0])) : topFolders;
  for (const folder of classFolders) if (!holding.has(folder)) skipped.push({ path: `${folder}/`, reason: 'class folder has no files' });

  const files: FoundFile[] = [];
  for (const f of all) {
    const parts = f.rel.split('/');
    if (layout === 'splits') {
      const split = SPLIT_FOLDERS.get(parts[0].toLowerCase());
      if (!split || parts.length < 3) skipped.push({ path: f.rel, reason: 'not inside train/<class>/ or test/<class>/' });
      else files.push({ ...f, folder: parts[1], split });
    } else if (parts.length < 2) {
      skipped.push({ path: f.rel, reason: 'not inside a class folder' });
    } else {
      files.push({ ...f, folder: parts[0], split: null });
    }
  }
  return { layout, files, skipped };
}
