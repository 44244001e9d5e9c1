// The project's SQLite file: opening it with the settings every process must share, and the
// schema as one numbered list of migrations. WAL lets readers in other processes (the CLI, a
// second window) read while one process writes; busy_timeout makes a writer wait its turn
// instead of failing; foreign keys keep features, predictions and edits tied to live rows.
import Database from 'better-sqlite3';
import { firstLine } from '../errors';

export type Db = Database.Database;
export type Statement = Database.Statement<unknown[], unknown>;

/** How long a statement waits for another process's write lock before SQLITE_BUSY. */
const BUSY_TIMEOUT_MS = 10_000;

/**
 * Migration N brings the schema from version N-1 to N (PRAGMA user_version). Append only:
 * never edit a migration that has shipped, add the next one instead.
 */
export const MIGRATIONS: readonly string[] = [
  /* 1: datasets, classes, images, models, features, runs */ `
  CREATE TABLE datasets (
    id            INTEGER PRIMARY KEY,
    root          TEXT NOT NULL UNIQUE,           -- absolute path of the image folder
    layout        TEXT NOT NULL CHECK (layout IN ('classes', 'splits')),
    split_seed    INTEGER NOT NULL DEFAULT 0,     -- seeded stratified split (layout 'classes')
    test_fraction REAL NOT NULL DEFAULT 0.2,
    created_at    INTEGER NOT NULL,
    last_import   TEXT                            -- JSON summary of the last finished import
  );

  CREATE TABLE classes (
    id           INTEGER PRIMARY KEY,
    dataset_id   INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
    folder       TEXT NOT NULL,
    display_name TEXT NOT NULL,
    prompt_name  TEXT NOT NULL,
    UNIQUE (dataset_id, folder)
  );

  -- One row per image file. User edits (label_class_id, split_override, excluded) live on the
  -- row and follow the file's content across moves; a file gone from disk keeps its row with
  -- missing = 1 so past runs' predictions and the edits survive until it comes back.
  CREATE TABLE images (
    id              INTEGER PRIMARY KEY,
    dataset_id      INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
    path            TEXT NOT NULL,                -- relative to the dataset root, '/'-separated
    sha256          TEXT NOT NULL,
    size            INTEGER NOT NULL,
    mtime_ms        REAL NOT NULL,
    width           INTEGER NOT NULL,
    height          INTEGER NOT NULL,
    format          TEXT NOT NULL,
    folder_class_id INTEGER NOT NULL REFERENCES classes(id),
    base_split      TEXT NOT NULL CHECK (base_split IN ('train', 'test')),  -- from folders or the seeded split
    label_class_id  INTEGER REFERENCES classes(id),                         -- relabel; NULL = the folder's class
    split_override  TEXT CHECK (split_override IN ('train', 'test')),       -- moved by the user
    excluded        INTEGER NOT NULL DEFAULT 0,
    missing         INTEGER NOT NULL DEFAULT 0,
    UNIQUE (dataset_id, path)
  );
  CREATE INDEX images_by_sha ON images (dataset_id, sha256);

  -- What every query means by an image's class and split.
  CREATE VIEW image_labels AS
    SELECT i.*,
           COALESCE(i.label_class_id, i.folder_class_id) AS class_id,
           COALESCE(i.split_override, i.base_split)      AS split
      FROM images i;

  CREATE TABLE models (
    id             INTEGER PRIMARY KEY,
    folder         TEXT NOT NULL UNIQUE,
    weights_sha256 TEXT NOT NULL,
    cache_key      TEXT NOT NULL,   -- weights + preprocessing; features are valid for this key only
    config_json    TEXT NOT NULL,
    registered_at  INTEGER NOT NULL
  );

  -- Projected, unnormalised image features (float32 little-endian). View 0 is the plain
  -- preprocessed image, views 1.. are seeded RandomResizedCrop + flip of it.
  CREATE TABLE features (
    model_id INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
    view     INTEGER NOT NULL,
    image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    data     BLOB NOT NULL,
    PRIMARY KEY (model_id, view, image_id)
  );
  CREATE INDEX features_by_image ON features (image_id);

  CREATE TABLE runs (
    id           INTEGER PRIMARY KEY,
    dataset_id   INTEGER REFERENCES datasets(id) ON DELETE CASCADE,
    model_id     INTEGER REFERENCES models(id),
    kind         TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed', 'cancelled')),
    config_json  TEXT NOT NULL,
    backend      TEXT,
    metrics_json TEXT,
    timings_json TEXT,
    error        TEXT,
    created_at   INTEGER NOT NULL,
    finished_at  INTEGER
  );

  -- The classes a run used, in its logit order, with the prompt names as they were then.
  CREATE TABLE run_classes (
    run_id      INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    idx         INTEGER NOT NULL,
    class_id    INTEGER NOT NULL REFERENCES classes(id),
    prompt_name TEXT NOT NULL,
    PRIMARY KEY (run_id, idx)
  );

  CREATE TABLE run_log (
    run_id         INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    epoch          INTEGER NOT NULL,
    lr             REAL NOT NULL,
    loss           REAL NOT NULL,
    ce             REAL NOT NULL,
    wc             REAL NOT NULL,
    cos            REAL NOT NULL,
    kd             REAL NOT NULL,
    train_accuracy REAL NOT NULL,
    test_accuracy  REAL,
    seconds        REAL NOT NULL,
    PRIMARY KEY (run_id, epoch)
  );

  CREATE TABLE label_embeddings (
    run_id   INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    class_id INTEGER NOT NULL REFERENCES classes(id),
    tokens   INTEGER NOT NULL,
    dim      INTEGER NOT NULL,
    data     BLOB NOT NULL,   -- learned E [tokens, dim]
    init     BLOB NOT NULL,   -- E0, the token embeddings it started from
    PRIMARY KEY (run_id, class_id)
  );

  -- label_class_id is the label when the run was made, so later relabels do not rewrite history.
  CREATE TABLE predictions (
    run_id             INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    image_id           INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    label_class_id     INTEGER NOT NULL REFERENCES classes(id),
    predicted_class_id INTEGER NOT NULL REFERENCES classes(id),
    score              REAL NOT NULL,   -- probability of the predicted class
    probs              BLOB,            -- float32 [classes] in run_classes order
    PRIMARY KEY (run_id, image_id)
  );
  `,
  /* 2: a run's classifier tensors (text features, zero-shot features, CoOp context) */ `
  CREATE TABLE IF NOT EXISTS run_tensors (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    name   TEXT NOT NULL,
    shape  TEXT NOT NULL,   -- JSON array
    data   BLOB NOT NULL,   -- float32 little-endian
    PRIMARY KEY (run_id, name)
  );
  `,
  /* 3: runs may be 'interrupted' (their process died); leases name the process doing a run or an import */ `
  CREATE TABLE runs_new (
    id           INTEGER PRIMARY KEY,
    dataset_id   INTEGER REFERENCES datasets(id) ON DELETE CASCADE,
    model_id     INTEGER REFERENCES models(id),
    kind         TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed', 'cancelled', 'interrupted')),
    config_json  TEXT NOT NULL,
    backend      TEXT,
    metrics_json TEXT,
    timings_json TEXT,
    error        TEXT,
    created_at   INTEGER NOT NULL,
    finished_at  INTEGER
  );
  INSERT INTO runs_new SELECT id, dataset_id, model_id, kind, status, config_json, backend, metrics_json, timings_json, error, created_at, finished_at FROM runs;
  DROP TABLE runs;
  ALTER TABLE runs_new RENAME TO runs;

  -- Work in progress and the process doing it (data/owner.ts): a lease whose process is gone
  -- means the work was cut off; the next open marks its run interrupted or sweeps its temp files.
  CREATE TABLE leases (
    id            INTEGER PRIMARY KEY,
    kind          TEXT NOT NULL CHECK (kind IN ('run', 'import')),
    run_id        INTEGER UNIQUE REFERENCES runs(id) ON DELETE CASCADE,
    host          TEXT NOT NULL,
    pid           INTEGER NOT NULL,
    process_start TEXT NOT NULL,
    created_at    INTEGER NOT NULL
  );
  `,
  /* 4: a run's loss terms as one JSON object by term name (lamm/loss-terms.ts), so a new term needs no column */ `
  ALTER TABLE run_log ADD COLUMN terms_json TEXT NOT NULL DEFAULT '{}';
  UPDATE run_log SET terms_json = json_object('ce', ce, 'wc', wc, 'cos', cos, 'kd', kd);
  ALTER TABLE run_log DROP COLUMN ce;
  ALTER TABLE run_log DROP COLUMN wc;
  ALTER TABLE run_log DROP COLUMN cos;
  ALTER TABLE run_log DROP COLUMN kd;
  `,
  /* 5: the embedding map's 2-D coordinates per model, dataset and projection (data/embedding-map.ts) */ `
  CREATE TABLE embedding_maps (
    model_id   INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
    dataset_id INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
    projection TEXT NOT NULL,
    cache_key  TEXT NOT NULL,   -- sha256 of the image set, the feature cache key and the parameters
    image_ids  BLOB NOT NULL,   -- int32 little-endian, the order of coords
    coords     BLOB NOT NULL,   -- float32 [N, 2]
    created_at INTEGER NOT NULL,
    PRIMARY KEY (model_id, dataset_id, projection)
  );
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

export interface OpenOptions {
  /** Open an existing file for reading only (other processes may write meanwhile). */
  readonly?: boolean;
}

/**
 * Marks a SQLite file as a LAMM Studio project ('LAMM' in ASCII) in its header, so a file of
 * another program is refused instead of being migrated into one of ours.
 */
export const LAMM_APPLICATION_ID = 0x4c414d4d;
/** Tables every version of our schema has: how a project made before the mark is recognised. */
const OUR_TABLES = ['datasets', 'images', 'runs'];

/** Opens (creating if needed) a project file at `file`, or ':memory:', migrated to SCHEMA_VERSION. */
export function openDatabase(file: string, opts: OpenOptions = {}): Db {
  let db: Db;
  try {
    // LAMM_SQLITE_BINDING: Electron's build of the addon (src-main/api/electron-native.ts); unset in Node.
    db = new Database(file, {
      readonly: opts.readonly ?? false,
      fileMustExist: opts.readonly ?? false,
      nativeBinding: process.env.LAMM_SQLITE_BINDING || undefined,
    });
  } catch (err) {
    throw new Error(`cannot open project ${file}: ${(err as Error).message}`);
  }
  try {
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db.pragma('foreign_keys = ON');
    // Before anything that writes (WAL, migrations): a foreign file must stay byte for byte as it was.
    checkOwnership(db);
    if (opts.readonly) {
      const version = db.pragma('user_version', { simple: true }) as number;
      if (version !== SCHEMA_VERSION) throw new Error(`schema version ${version}, this build reads ${SCHEMA_VERSION}; open it once for writing to migrate`);
    } else {
      db.pragma('journal_mode = WAL');
      // NORMAL in WAL mode: a crash of this process never corrupts or loses committed data.
      db.pragma('synchronous = NORMAL');
      migrate(db);
    }
    return db;
  } catch (err) {
    db.close();
    throw new Error(`cannot open project ${file}: ${firstLine(err)}`);
  }
}

/** Throws unless the file is empty, marked as ours, or an unmarked project of an earlier build. */
function checkOwnership(db: Db): void {
  const id = db.pragma('application_id', { simple: true }) as number;
  if (id === LAMM_APPLICATION_ID) return;
  if (id !== 0) throw new Error(`not a LAMM Studio project (application_id 0x${(id >>> 0).toString(16).padStart(8, '0')})`);
  const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as { name: string }[]).map(
    (r) => r.name,
  );
  const objects = (db.prepare('SELECT COUNT(*) AS n FROM sqlite_master').get() as { n: number }).n;
  if (objects === 0) return; // a new (or empty) file
  if (OUR_TABLES.every((t) => tables.includes(t)) && (db.pragma('user_version', { simple: true }) as number) > 0) return;
  const shown = tables.length > 5 ? [...tables.slice(0, 5), `… ${tables.length - 5} more`] : tables;
  throw new Error(`not a LAMM Studio project (it holds other ${tables.length ? `tables: ${shown.join(', ')}` : 'schema objects'})`);
}

function migrate(db: Db): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > SCHEMA_VERSION) throw new Error(`it was written by a newer LAMM Studio (schema ${current} > ${SCHEMA_VERSION})`);
  const marked = db.pragma('application_id', { simple: true }) === LAMM_APPLICATION_ID;
  if (current === SCHEMA_VERSION && marked) return;
  // Off while migrating (it cannot change inside a transaction): rebuilding a table drops the
  // old one, which with foreign keys on would cascade into every row that refers to it.
  db.pragma('foreign_keys = OFF');
  try {
    // IMMEDIATE takes the write lock first, so two processes opening a new file do not both migrate.
    db.transaction(() => {
      const version = db.pragma('user_version', { simple: true }) as number;
      for (let v = version; v < SCHEMA_VERSION; v++) db.exec(MIGRATIONS[v]);
      const broken = db.pragma('foreign_key_check') as unknown[];
      if (broken.length) throw new Error(`migration left ${broken.length} rows pointing at nothing`);
      db.pragma(`user_version = ${SCHEMA_VERSION}`);
      db.pragma(`application_id = ${LAMM_APPLICATION_ID}`);
    }).immediate();
  } finally {
    db.pragma('foreign_keys = ON');
  }
}

/** float32 array → BLOB (little-endian, as every platform we ship on). */
export function floatsToBlob(values: Float32Array): Buffer {
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength);
}

/** BLOB → a fresh, aligned float32 array (SQLite buffers may start at any byte offset). */
export function blobToFloats(blob: Buffer): Float32Array {
  if (blob.byteLength % 4 !== 0) throw new Error(`float32 blob has ${blob.byteLength} bytes, not a multiple of 4`);
  const out = new Float32Array(blob.byteLength / 4);
  new Uint8Array(out.buffer).set(blob);
  return out;
}
