// The run log keeps every loss term as one JSON object by name (lamm/loss-terms.ts); migration 4
// moves the per-term columns of older projects into it, so their logs still read.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../src-main/data/db';
import { ProjectStore } from '../../src-main/data/store';
import { LOSS_TERMS } from '../../src-main/lamm/loss-terms';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lamm-runlog-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('run log terms', () => {
  it('reads the per-term columns of a project made before migration 4 as terms', () => {
    const file = path.join(dir, 'v3.lamm');
    const raw = new Database(file);
    for (const m of MIGRATIONS.slice(0, 3)) raw.exec(m);
    raw.pragma('user_version = 3');
    raw.exec(`INSERT INTO runs (id, kind, status, config_json, created_at) VALUES (1, 'lamm', 'done', '{}', 0);
      INSERT INTO run_log (run_id, epoch, lr, loss, ce, wc, cos, kd, train_accuracy, test_accuracy, seconds)
        VALUES (1, 0, 1e-5, 2.5, 1.25, 0.5, 0.25, 10, 0.5, NULL, 1), (1, 1, 0.002, 1.5, 0.75, 0.25, 0.125, 8, 0.75, 0.8, 1)`);
    raw.close();
    const store = ProjectStore.open(file);
    try {
      // The four terms of the old columns; any term added since reads NaN.
      const terms = (legacy: Record<string, number>) => Object.fromEntries(LOSS_TERMS.map((t) => [t.name, legacy[t.name] ?? Number.NaN]));
      expect(store.getRunLog(1)).toEqual([
        { epoch: 0, lr: 1e-5, loss: 2.5, terms: terms({ ce: 1.25, wc: 0.5, cos: 0.25, kd: 10 }), trainAccuracy: 0.5, testAccuracy: null, seconds: 1 },
        { epoch: 1, lr: 0.002, loss: 1.5, terms: terms({ ce: 0.75, wc: 0.25, cos: 0.125, kd: 8 }), trainAccuracy: 0.75, testAccuracy: 0.8, seconds: 1 },
      ]);
      const columns = (store.db.prepare('PRAGMA table_info(run_log)').all() as { name: string }[]).map((c) => c.name);
      expect(columns).toContain('terms_json');
      for (const name of ['ce', 'wc', 'cos', 'kd']) expect(columns).not.toContain(name);
    } finally {
      store.close();
    }
  });

  it('round-trips every term, and reads a term the run did not log as NaN', () => {
    const store = ProjectStore.open(path.join(dir, 'new.lamm'));
    try {
      store.db.exec("INSERT INTO runs (id, kind, status, config_json, created_at) VALUES (1, 'lamm', 'running', '{}', 0)");
      const terms = Object.fromEntries(LOSS_TERMS.map((t, i) => [t.name, i + 0.5])) as Record<(typeof LOSS_TERMS)[number]['name'], number>;
      const record = { epoch: 0, lr: 1, loss: 3, terms, trainAccuracy: 0.5, testAccuracy: null, seconds: 1 };
      store.appendRunLog(1, record);
      expect(store.getRunLog(1)).toEqual([record]);
      store.db.prepare("UPDATE run_log SET terms_json = json_remove(terms_json, '$.kd')").run();
      expect(store.getRunLog(1)[0].terms.kd).toBeNaN();
    } finally {
      store.close();
    }
  });
});
