// An export manifest may only name files inside its own folder (issue 9, item 6): absolute
// paths, `..` and symbolic links that lead out are refused, and no error echoes a byte of the
// file it could not use.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXPORT_FORMATS, exportClassifier, importExport, type ExportFormat } from '../../src-main/export/export';
import type { Classifier } from '../../src-main/lamm/classifier';
import { tempDir } from './lamm-fixture';

/** The first bytes of a file that is not the export's to read; they must never appear in an error. */
const SECRET = 'root:x:0:0:TOP-SECRET-CONTENT';

const classifier: Classifier = {
  method: 'lamm',
  template: 'a photo of a {}.',
  labelStart: 5,
  minLen: 1,
  logitScale: 100,
  classes: [
    { folder: 'cat', promptName: 'cat' },
    { folder: 'dog', promptName: 'dog' },
  ],
  width: 3,
  projectionDim: 2,
  tokensPerClass: [1, 1],
  labelEmbeddings: Float32Array.from([1, 2, 3, 4, 5, 6]),
  initialLabelEmbeddings: Float32Array.from([0, 1, 2, 3, 4, 5]),
  textFeatures: Float32Array.from([1, 0, 0, 1]),
  context: null,
  baseModel: { name: 'tiny', sha256: 'ab'.repeat(32) },
  metrics: null,
};

let dir: string;
let secretFile: string;

beforeAll(() => {
  dir = tempDir('confine');
  secretFile = path.join(dir, 'secret.txt');
  fs.writeFileSync(secretFile, `${SECRET}\n`);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A fresh, valid export in `format`, with its manifest's tensor files rewritten by `point`. */
function tampered(format: ExportFormat, name: string, point: (exportDir: string, file: string) => string): string {
  const out = path.join(dir, `${format}-${name}`);
  exportClassifier(classifier, format, out);
  const manifestFile = path.join(out, 'manifest.json');
  const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8'));
  const files = manifest.tensors.files as Record<string, string>;
  for (const k of Object.keys(files)) files[k] = point(out, files[k]);
  fs.writeFileSync(manifestFile, JSON.stringify(manifest));
  return out;
}

function importError(exportDir: string): string {
  try {
    importExport(exportDir);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error(`${exportDir} was imported`);
}

describe('export manifests stay inside their folder', () => {
  it.each(EXPORT_FORMATS)('a clean export still imports (%s)', (format) => {
    const out = tampered(format, 'clean', (_d, f) => f);
    expect(importExport(out).labelEmbeddings).toEqual(classifier.labelEmbeddings);
  });

  it.each(EXPORT_FORMATS)('refuses `..`, absolute paths and escaping symlinks without echoing the file (%s)', (format) => {
    const relative = (out: string) => path.relative(out, secretFile); // ../secret.txt
    const cases: [string, (out: string, f: string) => string][] = [
      ['dotdot', relative],
      ['dotdot-inside-a-path', () => './x/../../secret.txt'],
      ['absolute', () => secretFile],
      [
        'symlink',
        (out, f) => {
          // One file may hold several tensors: link it once.
          if (!fs.existsSync(path.join(out, `link-${f}`))) fs.symlinkSync(secretFile, path.join(out, `link-${f}`));
          return `link-${f}`;
        },
      ],
      [
        'symlinked-folder',
        (out) => {
          if (!fs.existsSync(path.join(out, 'up'))) fs.symlinkSync(dir, path.join(out, 'up'));
          return 'up/secret.txt';
        },
      ],
    ];
    for (const [name, point] of cases) {
      const message = importError(tampered(format, name, point));
      expect(message, name).toMatch(/outside the export folder/);
      expect(message, name).not.toContain('TOP-SECRET');
      expect(message, name).not.toContain('root:x');
      expect(message, name).not.toContain('\n');
    }
  });

  it.each(EXPORT_FORMATS)('a file inside the folder that is not a tensor file is named, not quoted (%s)', (format) => {
    const out = tampered(format, 'garbage', (o, f) => {
      fs.writeFileSync(path.join(o, f), `${SECRET} ${'x'.repeat(100)}`);
      return f;
    });
    const message = importError(out);
    expect(message).toContain(path.join(out, format === 'npy' ? 'label_embeddings.npy' : format === 'json' ? 'tensors.json' : 'lamm.safetensors'));
    expect(message).not.toContain('TOP-SECRET');
    expect(message).not.toContain('root:x');
  });

  it('a manifest.json that is not JSON, or a symlink out of the folder, is refused without its content', () => {
    const bad = path.join(dir, 'bad-manifest');
    fs.mkdirSync(bad);
    fs.writeFileSync(path.join(bad, 'manifest.json'), SECRET);
    expect(importError(bad)).not.toContain('TOP-SECRET');
    expect(importError(bad)).toContain('manifest.json');
    const linked = path.join(dir, 'linked-manifest');
    fs.mkdirSync(linked);
    fs.symlinkSync(secretFile, path.join(linked, 'manifest.json'));
    const message = importError(linked);
    expect(message).toMatch(/outside the export folder/);
    expect(message).not.toContain('TOP-SECRET');
  });
});
