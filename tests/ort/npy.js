'use strict';
// Minimal .npy reader/writer (format versions 1.0, 2.0 and 3.0; C order, little endian).
// An array is { dtype, shape, data } with dtype an ONNX Runtime type name and data the typed
// array ORT uses for it: float16 is raw IEEE half bits in a Uint16Array, bool is a Uint8Array
// of 0/1, int64 a BigInt64Array.
const fs = require('fs');

// dtype name -> [numpy descr (without byte order), typed array constructor]
const DTYPES = {
  float32: ['f4', Float32Array],
  float16: ['f2', Uint16Array],
  float64: ['f8', Float64Array],
  int64: ['i8', BigInt64Array],
  int32: ['i4', Int32Array],
  int16: ['i2', Int16Array],
  int8: ['i1', Int8Array],
  uint64: ['u8', BigUint64Array],
  uint32: ['u4', Uint32Array],
  uint16: ['u2', Uint16Array],
  uint8: ['u1', Uint8Array],
  bool: ['b1', Uint8Array],
};
const BY_DESCR = Object.fromEntries(Object.entries(DTYPES).map(([name, [d]]) => [d, name]));
const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY

function parseHeader(text, file) {
  // The header is a Python dict literal: {'descr': '<f4', 'fortran_order': False, 'shape': (1, 3), }
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(text);
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text);
  const shape = /'shape'\s*:\s*\(([^)]*)\)/.exec(text);
  if (!descr || !fortran || !shape) throw new Error(`${file}: unreadable .npy header: ${text.trim()}`);
  if (fortran[1] === 'True') throw new Error(`${file}: Fortran-order arrays are not supported`);
  const m = /^([<>|=]?)([a-z]\d+)$/.exec(descr[1]);
  if (!m || !(m[2] in BY_DESCR)) throw new Error(`${file}: unsupported dtype '${descr[1]}'`);
  if (m[1] === '>' && m[2] !== 'i1' && m[2] !== 'u1' && m[2] !== 'b1') {
    throw new Error(`${file}: big-endian dtype '${descr[1]}' is not supported`);
  }
  const dims = shape[1].split(',').map((s) => s.trim()).filter((s) => s.length > 0).map(Number);
  if (dims.some((d) => !Number.isInteger(d) || d < 0)) throw new Error(`${file}: bad shape (${shape[1]})`);
  return { dtype: BY_DESCR[m[2]], shape: dims };
}

function decode(buf, file = '<buffer>') {
  if (buf.length < 10 || !buf.subarray(0, 6).equals(MAGIC)) throw new Error(`${file}: not a .npy file`);
  const major = buf[6];
  let headerLen;
  let start;
  if (major === 1) {
    headerLen = buf.readUInt16LE(8);
    start = 10;
  } else if (major === 2 || major === 3) {
    headerLen = buf.readUInt32LE(8);
    start = 12;
  } else {
    throw new Error(`${file}: unsupported .npy version ${major}.${buf[7]}`);
  }
  const header = buf.toString(major === 3 ? 'utf8' : 'latin1', start, start + headerLen);
  const { dtype, shape } = parseHeader(header, file);
  const Ctor = DTYPES[dtype][1];
  const count = shape.reduce((a, b) => a * b, 1);
  const offset = start + headerLen;
  const bytes = count * Ctor.BYTES_PER_ELEMENT;
  if (buf.length - offset < bytes) {
    throw new Error(`${file}: truncated: ${buf.length - offset} data bytes, ${bytes} expected for ${dtype}[${shape}]`);
  }
  // Copy into a fresh, aligned buffer (the file's data offset need not be aligned).
  const data = new Ctor(count);
  new Uint8Array(data.buffer).set(buf.subarray(offset, offset + bytes));
  return { dtype, shape, data };
}

function encode({ dtype, shape, data }) {
  if (!(dtype in DTYPES)) throw new Error(`npy: unsupported dtype '${dtype}'`);
  const count = shape.reduce((a, b) => a * b, 1);
  if (data.length !== count) throw new Error(`npy: ${data.length} elements for shape [${shape}]`);
  const [d, Ctor] = DTYPES[dtype];
  const typed = data instanceof Ctor ? data : Ctor.from(data);
  const order = d.endsWith('1') ? '|' : '<';
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${order}${d}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  // Pad with spaces and a final newline so the data starts on a 64-byte boundary.
  const v1 = header.length + 11 <= 65535;
  const pre = v1 ? 10 : 12;
  const total = Math.ceil((pre + header.length + 1) / 64) * 64;
  header = header.padEnd(total - pre - 1, ' ') + '\n';
  const head = Buffer.alloc(pre);
  MAGIC.copy(head, 0);
  head[6] = v1 ? 1 : 2;
  head[7] = 0;
  if (v1) head.writeUInt16LE(header.length, 8);
  else head.writeUInt32LE(header.length, 8);
  const body = Buffer.from(typed.buffer, typed.byteOffset, typed.byteLength);
  return Buffer.concat([head, Buffer.from(header, 'latin1'), body]);
}

const read = (file) => decode(fs.readFileSync(file), file);
const write = (file, arr) => fs.writeFileSync(file, encode(arr));

module.exports = { read, write, decode, encode, DTYPES };
