// bench/import: images/s for importing a folder (hash, full decode, 160 px WebP thumbnail,
// SQLite rows) and features/s for filling the feature cache, on generated photos-sized JPEGs.
// Each measurement runs in a fresh child process at two dataset sizes, and prints the child's
// peak RSS: memory must stay flat as the dataset grows (only the database grows).
//
// Usage: npx tsx bench/import.ts [--images 2000] [--small 500] [--views 1] [--huge N] [--model DIR | --vit-b32]
//   --huge N      add N 16000×16000 PNGs (a few MB each) to both sizes: the decode budget must keep peaks flat
//   --model DIR   the CLIP folder for features (default ../shared/golden/tiny-random-clip)
//   --vit-b32     a random-weight ViT-B/32-sized CLIP instead (the real encoder cost)
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { mulberry32 } from '../src-main/clip/random';

const CACHE = path.resolve(import.meta.dirname, '.cache');
const GOLDEN_TINY = path.resolve(import.meta.dirname, '../../shared/golden/tiny-random-clip');
const CLASSES = 10;
/** Generated photos: 4:3 JPEGs of this size (a phone photo downscaled, as many datasets ship). */
const PHOTO = { width: 400, height: 300 };

function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}
const flag = (name: string) => process.argv.includes(`--${name}`);
const count = (name: string, fallback: number) => Number(option(name) ?? fallback);

// ---------- the child: one measurement, one JSON line ----------

async function child(stage: 'import' | 'features', dataDir: string, dbFile: string): Promise<void> {
  const { ProjectStore } = await import('../src-main/data/store');
  const store = ProjectStore.open(dbFile);
  const rssBefore = process.memoryUsage().rss;
  // RSS at each quarter of the work: flat within a run as well as across sizes.
  const quarters: number[] = [];
  const ctx = {
    signal: new AbortController().signal,
    progress: (p: { done: number; total: number }) => {
      if (p.total > 0 && p.done >= ((quarters.length + 1) * p.total) / 4) quarters.push(Math.round(process.memoryUsage().rss / 2 ** 20));
    },
  };
  let result: Record<string, number | string>;
  if (stage === 'import') {
    const { importFolder } = await import('../src-main/data/import');
    const t0 = performance.now();
    const summary = await importFolder(store, dataDir, {}, ctx);
    const seconds = (performance.now() - t0) / 1000;
    if (summary.images !== fs.readdirSync(dataDir, { recursive: true }).filter((f) => /\.(jpg|png)$/.test(String(f))).length)
      throw new Error('import missed images');
    result = { images: summary.images, seconds, perSecond: summary.images / seconds };
  } else {
    const { loadClip } = await import('../src-main/clip');
    const { computeFeatures } = await import('../src-main/data/features');
    const { describeBackend, initBackend } = await import('../src-main/backend');
    const backend = describeBackend(await initBackend());
    const model = await loadClip(option('model-dir')!, { textInputGradients: false });
    const dataset = store.listDatasets()[0];
    const views = count('views', 1);
    const t0 = performance.now();
    const summary = await computeFeatures(store, model, { datasetId: dataset.id, views }, ctx);
    const seconds = (performance.now() - t0) / 1000;
    if (summary.failed.length) throw new Error(`${summary.failed.length} images failed`);
    result = { features: summary.computed, seconds, perSecond: summary.computed / seconds, backend };
    model.dispose();
  }
  store.close();
  // maxRSS is in KiB on Linux and macOS.
  const peak = process.resourceUsage().maxRSS * 1024;
  process.stdout.write(`${JSON.stringify({ ...result, peakRssMiB: peak / 2 ** 20, startRssMiB: rssBefore / 2 ** 20, quartersMiB: quarters.join(' ') })}\n`);
}

// ---------- the parent ----------

/** A seeded "photo": smooth colour fields with blocks, made small and upscaled (generation must not dominate). */
async function writePhoto(file: string, seed: number): Promise<void> {
  const w = 40;
  const h = 30;
  const rand = mulberry32(seed);
  const raw = Buffer.alloc(w * h * 3);
  const base = [rand() * 255, rand() * 255, rand() * 255];
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) raw[(y * w + x) * 3 + c] = Math.max(0, Math.min(255, base[c] + 60 * Math.sin((x + seed) * 0.3 + c) + 40 * (rand() - 0.5)));
    }
  }
  await sharp(raw, { raw: { width: w, height: h, channels: 3 } })
    .resize(PHOTO.width, PHOTO.height, { kernel: 'cubic' })
    .jpeg({ quality: 85 })
    .toFile(file);
}

/** A 16000×16000 PNG of one seeded colour: a few MB of file, 768 MB of pixels. */
async function writeHugePng(file: string, seed: number): Promise<void> {
  const rand = mulberry32(seed);
  const background = { r: Math.floor(rand() * 256), g: Math.floor(rand() * 256), b: Math.floor(rand() * 256) };
  await sharp({ create: { width: 16_000, height: 16_000, channels: 3, background } })
    .png({ compressionLevel: 1 })
    .toFile(file);
}

async function ensureDataset(images: number, huge: number): Promise<string> {
  const dir = path.join(CACHE, `import-${images}${huge ? `-huge${huge}` : ''}`, 'DATA');
  const marker = path.join(dir, '.complete');
  if (fs.existsSync(marker)) return dir;
  fs.rmSync(dir, { recursive: true, force: true });
  process.stderr.write(`generating ${images} images in ${dir}\n`);
  for (let i = 0; i < images; i++) {
    const classDir = path.join(dir, `class_${i % CLASSES}`);
    fs.mkdirSync(classDir, { recursive: true });
    await writePhoto(path.join(classDir, `photo_${i}.jpg`), i + 1);
  }
  for (let i = 0; i < huge; i++) await writeHugePng(path.join(dir, `class_${i % CLASSES}`, `huge_${i}.png`), 1000 + i);
  fs.writeFileSync(marker, '');
  return dir;
}

async function modelDir(): Promise<string> {
  if (flag('vit-b32')) {
    const dir = path.join(CACHE, 'vit-b32');
    if (!fs.existsSync(path.join(dir, 'model.safetensors'))) {
      const { VIT_B32_SPEC, writeSyntheticClip } = await import('../src-main/clip/synthetic');
      writeSyntheticClip(dir, { ...VIT_B32_SPEC, seed: 1, vocabFrom: fs.existsSync(GOLDEN_TINY) ? GOLDEN_TINY : undefined });
    }
    return dir;
  }
  const dir = option('model') ?? GOLDEN_TINY;
  if (!fs.existsSync(path.join(dir, 'config.json'))) throw new Error(`no CLIP model at ${dir}: pass --model DIR or --vit-b32`);
  return path.resolve(dir);
}

function measure(stage: string, dataDir: string, dbFile: string, extra: string[] = []): Record<string, number | string> {
  const out = execFileSync(process.execPath, ['--import', 'tsx', import.meta.filename, '--child', stage, '--data', dataDir, '--db', dbFile, ...extra], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return JSON.parse(out.trim().split('\n').at(-1)!);
}

async function parent(): Promise<void> {
  const sizes = [count('small', 500), count('images', 2000)];
  const model = await modelDir();
  const views = String(count('views', 1));
  const huge = count('huge', 0);
  const rows: { images: number; imp: Record<string, number | string>; feat: Record<string, number | string>; dbMiB: number }[] = [];
  for (const images of sizes) {
    const data = await ensureDataset(images, huge);
    const dbFile = path.join(path.dirname(data), 'bench.lamm');
    for (const f of [dbFile, `${dbFile}-wal`, `${dbFile}-shm`]) fs.rmSync(f, { force: true });
    fs.rmSync(`${dbFile}.thumbs`, { recursive: true, force: true });
    const imp = measure('import', data, dbFile);
    const feat = measure('features', data, dbFile, ['--model-dir', model, '--views', views]);
    rows.push({ images, imp, feat, dbMiB: fs.statSync(dbFile).size / 2 ** 20 });
  }
  const f1 = (x: unknown) => Number(x).toFixed(1);
  console.log(
    `import + thumbnails of ${PHOTO.width}x${PHOTO.height} JPEGs${huge ? ` and ${huge} 16000x16000 PNGs` : ''}; features with ${path.basename(model)} (${views} view${views === '1' ? '' : 's'}) on ${rows[0].feat.backend}`,
  );
  console.log('images | import images/s | import peak RSS MiB (RSS at 1/4..4/4) | features/s | features peak RSS MiB (RSS at 1/4..4/4) | DB MiB');
  for (const r of rows) {
    const cell = (m: Record<string, number | string>) => `${f1(m.peakRssMiB)} (${m.quartersMiB})`;
    console.log(
      `${String(r.images).padStart(6)} | ${f1(r.imp.perSecond).padStart(15)} | ${cell(r.imp).padStart(37)} | ${f1(r.feat.perSecond).padStart(10)} | ${cell(r.feat).padStart(39)} | ${f1(r.dbMiB).padStart(6)}`,
    );
  }
  const [small, large] = rows;
  const growth = (key: 'imp' | 'feat') => Number(large[key].peakRssMiB) - Number(small[key].peakRssMiB);
  console.log(
    `peak RSS growth ${small.images} → ${large.images} images: import ${growth('imp').toFixed(1)} MiB, features ${growth('feat').toFixed(1)} MiB (the DB grew ${(large.dbMiB - small.dbMiB).toFixed(1)} MiB)`,
  );
}

if (flag('child')) {
  await child(option('child') as 'import' | 'features', option('data')!, option('db')!);
} else {
  await parent();
}
