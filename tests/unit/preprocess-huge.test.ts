// A tiny file can hold a huge image: a 16000×16000 PNG of one colour is a few MB, and decoding
// it whole took 0.94 GB and half a minute. Embedding (preprocessing) it and making its
// thumbnail must stay within the decode budget. Measured in a fresh child process, so the
// figure is this work's and nothing else's: peak RSS (the OS's high-water mark) minus RSS
// before the work.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { DECODE_PIXEL_BUDGET, decodeSize, withDecodeSlot } from '../../src-main/clip/preprocess';
import { REPO_ROOT } from '../helpers/golden';

const EDGE = 16_000;
const COLOUR = { r: 200, g: 120, b: 40 };
/** Growth of peak RSS allowed for one huge image (it was about 760 MiB before the budget). */
const RSS_BOUND_MIB = 300;

/** The huge PNG, made once per machine (making it costs several seconds of zlib). */
async function hugePng(): Promise<string> {
  const file = path.join(os.tmpdir(), `lamm-test-huge-${EDGE}.png`);
  const ok =
    fs.existsSync(file) &&
    (await sharp(file)
      .metadata()
      .then(
        (m) => m.width === EDGE && m.height === EDGE,
        () => false,
      ));
  if (!ok) {
    const temp = `${file}.${process.pid}.tmp`;
    await sharp({ create: { width: EDGE, height: EDGE, channels: 3, background: COLOUR } })
      .png({ compressionLevel: 1 })
      .toFile(temp);
    fs.renameSync(temp, file);
  }
  return file;
}

const PREPROCESS = pathToFileURL(path.join(REPO_ROOT, 'src-main/clip/preprocess.ts')).href;
const THUMBNAILS = pathToFileURL(path.join(REPO_ROOT, 'src-main/data/thumbnails.ts')).href;
const MEASURE = `
import fs from 'node:fs';
import { decodeImage, preprocessImage } from '${PREPROCESS}';
import { decodeAndThumbnail } from '${THUMBNAILS}';
const [file, what] = process.argv.slice(2);
const cfg = { doResize: true, shortestEdge: 224, doCenterCrop: true, cropWidth: 224, cropHeight: 224, doRescale: true, rescaleFactor: 1 / 255,
  doNormalize: true, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] };
const bytes = fs.readFileSync(file);
const before = process.memoryUsage().rss;
const started = performance.now();
let result;
if (what === 'embed') {
  const pixels = await preprocessImage(bytes, cfg);
  result = { length: pixels.length, first: Array.from(pixels.slice(0, 3)), last: Array.from(pixels.slice(-3)) };
} else if (what === 'decode') {
  const img = await decodeImage(bytes);
  result = { width: img.width, height: img.height };
} else {
  const t = await decodeAndThumbnail(bytes);
  result = { width: t.width, height: t.height, thumbnail: t.thumbnail.length };
}
const seconds = (performance.now() - started) / 1000;
const peakGrowthMiB = (process.resourceUsage().maxRSS * 1024 - before) / 2 ** 20;
process.stdout.write(JSON.stringify({ seconds, peakGrowthMiB, result }) + '\\n');
`;

async function measure(
  file: string,
  what: 'embed' | 'thumbnail' | 'decode',
): Promise<{ seconds: number; peakGrowthMiB: number; result: Record<string, unknown> }> {
  const script = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lamm-huge-')), 'measure.mts');
  fs.writeFileSync(script, MEASURE);
  const child = spawn(process.execPath, ['--import', 'tsx', script, file, what], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`measuring ${what} failed: ${stderr}`);
  const report = JSON.parse(stdout.trim().split('\n').at(-1)!);
  console.log(`16000² PNG, ${what}: ${report.seconds.toFixed(2)} s, peak RSS +${report.peakGrowthMiB.toFixed(0)} MiB`);
  return report;
}

describe('huge images', () => {
  it(`embeds a ${EDGE}×${EDGE} PNG within ${RSS_BOUND_MIB} MiB of RSS, and right`, async () => {
    const file = await hugePng();
    const embed = await measure(file, 'embed');
    expect(embed.peakGrowthMiB).toBeLessThan(RSS_BOUND_MIB);
    // One colour in, one colour out: (200/255 − 0.5)/0.5 etc. at every pixel.
    expect(embed.result.length).toBe(224 * 224 * 3);
    const expected = [COLOUR.r, COLOUR.g, COLOUR.b].map((v) => (v / 255 - 0.5) / 0.5);
    for (const key of ['first', 'last']) (embed.result[key] as number[]).forEach((v, c) => expect(v).toBeCloseTo(expected[c], 5));

    const decoded = await measure(file, 'decode');
    const { width, height } = decodeSize(EDGE, EDGE);
    expect(decoded.result).toEqual({ width, height });
    expect(decoded.peakGrowthMiB).toBeLessThan(RSS_BOUND_MIB);
  }, 180_000);

  it(`makes the thumbnail of a ${EDGE}×${EDGE} PNG within ${RSS_BOUND_MIB} MiB of RSS`, async () => {
    const thumb = await measure(await hugePng(), 'thumbnail');
    expect(thumb.peakGrowthMiB).toBeLessThan(RSS_BOUND_MIB);
    expect(thumb.result).toMatchObject({ width: EDGE, height: EDGE });
    expect(thumb.result.thumbnail as number).toBeGreaterThan(0);
  }, 180_000);

  it('decodes images within the budget whole (the exact path) and shrinks only larger ones into it', () => {
    expect(decodeSize(6000, 4000)).toEqual({ width: 6000, height: 4000, shrunk: false });
    expect(decodeSize(5000, 5000)).toEqual({ width: 5000, height: 5000, shrunk: false });
    const s = decodeSize(EDGE, EDGE);
    expect(s.shrunk).toBe(true);
    expect(s.width * s.height).toBeLessThanOrEqual(DECODE_PIXEL_BUDGET);
    expect(s.width).toBe(s.height);
    // Preprocessing asks for less: a few times the model's input (the budget still bounds a strip).
    expect(decodeSize(EDGE, EDGE, { shortEdge: 896 })).toEqual({ width: 896, height: 896, shrunk: true });
    expect(decodeSize(EDGE, EDGE / 2, { shortEdge: 896 })).toEqual({ width: 1792, height: 896, shrunk: true });
    expect(decodeSize(4000, 3000, { shortEdge: 896 })).toEqual({ width: 4000, height: 3000, shrunk: false });
    expect(decodeSize(100_000, 1000, { shortEdge: 896 })).toEqual(decodeSize(100_000, 1000));
    const strip = decodeSize(100_000, 1000);
    expect(strip.width * strip.height).toBeLessThanOrEqual(DECODE_PIXEL_BUDGET);
    expect(strip.width / strip.height).toBeCloseTo(100, 0);
  });

  it('runs at most two large decodes at once; small ones never wait', async () => {
    let inFlight = 0;
    let most = 0;
    const work = async () => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((r) => setTimeout(r, 20));
      inFlight--;
    };
    await Promise.all(Array.from({ length: 6 }, () => withDecodeSlot(20_000_000, work)));
    expect(most).toBe(2);
    most = 0;
    await Promise.all(Array.from({ length: 6 }, () => withDecodeSlot(1_000_000, work)));
    expect(most).toBe(6);
  });
});
