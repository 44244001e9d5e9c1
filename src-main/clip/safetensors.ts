// The safetensors format: 8-byte little-endian header length N, N bytes of JSON header
// ({name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {...}}), then raw data.
// Reading converts F32/F16/BF16 to float32; writing produces F32.
import fs from 'node:fs';

export interface SafeTensor {
  dtype: string;
  shape: number[];
  /** Float32 values (F16/BF16 converted). */
  data: Float32Array;
}

export interface SafetensorsFile {
  metadata: Record<string, string>;
  tensors: Map<string, SafeTensor>;
}

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

const BYTES_PER_ELEMENT: Record<string, number> = { F32: 4, F16: 2, BF16: 2, F64: 8, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };
/** Headers above this are not a model file (safetensors itself caps them at 100 MB). */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

function f16ToF32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >> 10) & 0x1f;
  const frac = bits & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

let f16Table: Float32Array | null = null;
function halfTable(): Float32Array {
  if (!f16Table) {
    f16Table = new Float32Array(65536);
    for (let i = 0; i < 65536; i++) f16Table[i] = f16ToF32(i);
  }
  return f16Table;
}

function toFloat32(name: string, dtype: string, bytes: Buffer): Float32Array {
  const n = bytes.length / BYTES_PER_ELEMENT[dtype];
  const out = new Float32Array(n);
  switch (dtype) {
    case 'F32':
      for (let i = 0; i < n; i++) out[i] = bytes.readFloatLE(i * 4);
      return out;
    case 'F16': {
      const table = halfTable();
      for (let i = 0; i < n; i++) out[i] = table[bytes.readUInt16LE(i * 2)];
      return out;
    }
    case 'BF16': {
      const u32 = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) u32[i] = bytes.readUInt16LE(i * 2) << 16;
      return out;
    }
    case 'F64':
      for (let i = 0; i < n; i++) out[i] = bytes.readDoubleLE(i * 8);
      return out;
    default:
      throw new Error(`tensor "${name}" has dtype ${dtype}; only F32, F16 and BF16 weights are supported`);
  }
}

/** Parses the header; throws one-line errors for files that are not safetensors or are truncated. */
export function readSafetensorsHeader(
  buf: Buffer,
  label: string,
): { entries: Record<string, HeaderEntry>; metadata: Record<string, string>; dataStart: number } {
  if (buf.length < 8) throw new Error(`${label} is truncated (${buf.length} bytes, no header)`);
  const headerLen = Number(buf.readBigUInt64LE(0));
  if (headerLen <= 1 || headerLen > MAX_HEADER_BYTES) throw new Error(`${label} has a bad header length (${headerLen}): not a safetensors file`);
  if (8 + headerLen > buf.length) throw new Error(`${label} is truncated (header says ${headerLen} bytes, file has ${buf.length - 8})`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(buf.subarray(8, 8 + headerLen).toString('utf8'));
  } catch {
    throw new Error(`${label} has a header that is not valid JSON: not a safetensors file`);
  }
  const metadata = (header.__metadata__ ?? {}) as Record<string, string>;
  delete header.__metadata__;
  const dataStart = 8 + headerLen;
  const dataLen = buf.length - dataStart;
  const entries: Record<string, HeaderEntry> = {};
  for (const [name, raw] of Object.entries(header)) {
    const e = raw as HeaderEntry;
    if (!e || typeof e.dtype !== 'string' || !Array.isArray(e.shape) || !Array.isArray(e.data_offsets)) {
      throw new Error(`${label}: header entry "${name}" is malformed`);
    }
    const size = BYTES_PER_ELEMENT[e.dtype];
    if (!size) throw new Error(`${label}: tensor "${name}" has unknown dtype ${e.dtype}`);
    const [begin, end] = e.data_offsets;
    const expected = e.shape.reduce((a, b) => a * b, 1) * size;
    if (end - begin !== expected) throw new Error(`${label}: tensor "${name}" has ${end - begin} bytes but shape [${e.shape}] needs ${expected}`);
    if (end > dataLen) throw new Error(`${label} is truncated (tensor "${name}" ends at byte ${end}, data has ${dataLen})`);
    entries[name] = e;
  }
  return { entries, metadata, dataStart };
}

/**
 * Reads a safetensors file into float32 arrays. `skip` drops tensors by name (e.g. position_ids)
 * without converting them.
 */
export function readSafetensors(file: string, skip: (name: string) => boolean = () => false): SafetensorsFile {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (err) {
    throw new Error(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return parseSafetensors(buf, file, skip);
}

export function parseSafetensors(buf: Buffer, label: string, skip: (name: string) => boolean = () => false): SafetensorsFile {
  const { entries, metadata, dataStart } = readSafetensorsHeader(buf, label);
  const tensors = new Map<string, SafeTensor>();
  for (const [name, e] of Object.entries(entries)) {
    if (skip(name)) continue;
    const bytes = buf.subarray(dataStart + e.data_offsets[0], dataStart + e.data_offsets[1]);
    tensors.set(name, { dtype: e.dtype, shape: e.shape, data: toFloat32(name, e.dtype, bytes) });
  }
  return { metadata, tensors };
}

export type TensorDtype = 'F32' | 'F16';

/** Serialises float32 tensors as safetensors (F32 by default, or F16 to halve the size), keys sorted like the Python library. */
export function encodeSafetensors(
  tensors: Record<string, { shape: number[]; data: Float32Array }>,
  metadata: Record<string, string> = {},
  dtype: TensorDtype = 'F32',
): Buffer {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  const bytesPer = BYTES_PER_ELEMENT[dtype];
  let offset = 0;
  for (const name of names) {
    const t = tensors[name];
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) throw new Error(`tensor "${name}": shape [${t.shape}] has ${count} elements, data has ${t.data.length}`);
    header[name] = { dtype, shape: t.shape, data_offsets: [offset, offset + count * bytesPer] };
    offset += count * bytesPer;
  }
  let headerJson = JSON.stringify(header);
  // Pad the header with spaces so the data starts 8-byte aligned, as the reference writer does.
  headerJson += ' '.repeat((8 - ((8 + Buffer.byteLength(headerJson)) % 8)) % 8);
  const headerBytes = Buffer.from(headerJson, 'utf8');
  const out = Buffer.alloc(8 + headerBytes.length + offset);
  out.writeBigUInt64LE(BigInt(headerBytes.length), 0);
  headerBytes.copy(out, 8);
  let pos = 8 + headerBytes.length;
  for (const name of names) {
    const data = tensors[name].data;
    if (dtype === 'F32') {
      Buffer.from(data.buffer, data.byteOffset, data.byteLength).copy(out, pos);
      pos += data.byteLength;
    } else {
      for (let i = 0; i < data.length; i++, pos += 2) out.writeUInt16LE(f32ToF16(data[i]), pos);
    }
  }
  return out;
}

export function writeSafetensors(
  file: string,
  tensors: Record<string, { shape: number[]; data: Float32Array }>,
  metadata: Record<string, string> = {},
  dtype: TensorDtype = 'F32',
): void {
  fs.writeFileSync(file, encodeSafetensors(tensors, metadata, dtype));
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);
/** Round-to-nearest-even float32 → float16 bits. */
export function f32ToF16(value: number): number {
  f32Scratch[0] = value;
  const x = u32Scratch[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
  return sign | half;
}
