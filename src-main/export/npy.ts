// NumPy's .npy format (version 1.0) for little-endian float32 arrays: the magic, a Python-dict
// header padded with spaces to a 64-byte boundary and ending in a newline, then raw data.
import fs from 'node:fs';

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY
const ALIGN = 64;

export function encodeNpy(shape: number[], data: Float32Array): Buffer {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new Error(`npy: shape [${shape}] has ${count} elements, data has ${data.length}`);
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const prefix = MAGIC.length + 2 + 2; // magic, version, header length
  header += `${' '.repeat(ALIGN - ((prefix + header.length + 1) % ALIGN || ALIGN))}\n`;
  const out = Buffer.alloc(prefix + header.length + data.byteLength);
  MAGIC.copy(out, 0);
  out[6] = 1;
  out[7] = 0;
  out.writeUInt16LE(header.length, 8);
  out.write(header, prefix, 'latin1');
  Buffer.from(data.buffer, data.byteOffset, data.byteLength).copy(out, prefix + header.length);
  return out;
}

export function decodeNpy(buf: Buffer, label: string): { shape: number[]; data: Float32Array } {
  if (buf.length < 10 || !buf.subarray(0, 6).equals(MAGIC)) throw new Error(`${label} is not a .npy file`);
  const major = buf[6];
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.subarray(start, start + headerLen).toString('latin1');
  if (!/'descr':\s*'<f4'/.test(header)) throw new Error(`${label}: only little-endian float32 arrays are supported`);
  if (/'fortran_order':\s*True/.test(header)) throw new Error(`${label}: Fortran-ordered arrays are not supported`);
  const shapeMatch = header.match(/'shape':\s*\(([^)]*)\)/);
  if (!shapeMatch) throw new Error(`${label}: header has no shape`);
  const shape = shapeMatch[1]
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const dataStart = start + headerLen;
  if (buf.length - dataStart < count * 4) throw new Error(`${label} is truncated`);
  const data = new Float32Array(count);
  new Uint8Array(data.buffer).set(buf.subarray(dataStart, dataStart + count * 4));
  return { shape, data };
}

export function readNpy(file: string): { shape: number[]; data: Float32Array } {
  return decodeNpy(fs.readFileSync(file), file);
}
