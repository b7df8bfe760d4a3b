'use strict';
// The .npy reader/writer and the float16 conversion.
const test = require('node:test');
const assert = require('node:assert');
const npy = require('../npy');
const { half } = require('../half');

// Bytes as numpy writes them (format 1.0): dict, spaces, '\n', so that the data starts at a
// multiple of 64 (128 for these short headers).
function numpyBytes(descr, shapeText, body) {
  let h = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  h = h.padEnd(128 - 10 - 1, ' ') + '\n';
  const pre = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, h.length, 0]);
  return Buffer.concat([pre, Buffer.from(h, 'latin1'), body]);
}

test('decodes a numpy-written float32 array', () => {
  const a = npy.decode(numpyBytes('<f4', '(2, 3)', Buffer.from(new Float32Array([0, 1, 2, 3, 4, 5]).buffer)));
  assert.strictEqual(a.dtype, 'float32');
  assert.deepStrictEqual(a.shape, [2, 3]);
  assert.deepStrictEqual(Array.from(a.data), [0, 1, 2, 3, 4, 5]);
});

test('writes the same bytes numpy writes', () => {
  const body = Buffer.from(new Float32Array([0, 1, 2, 3, 4, 5]).buffer);
  const mine = npy.encode({ dtype: 'float32', shape: [2, 3], data: new Float32Array([0, 1, 2, 3, 4, 5]) });
  assert.ok(mine.equals(numpyBytes('<f4', '(2, 3)', body)));
  const one = npy.encode({ dtype: 'bool', shape: [3], data: new Uint8Array([1, 0, 1]) });
  assert.ok(one.equals(numpyBytes('|b1', '(3,)', Buffer.from([1, 0, 1]))));
  const scalar = npy.encode({ dtype: 'int64', shape: [], data: new BigInt64Array([7n]) });
  assert.ok(scalar.equals(numpyBytes('<i8', '()', Buffer.from(new BigInt64Array([7n]).buffer))));
});

test('round-trips every dtype, scalars and empty arrays', () => {
  const cases = [
    ['float32', [2, 2], new Float32Array([1.5, -2, 0, 3])],
    ['float16', [3], half.fromFloats([1, -0.5, 65504])],
    ['float64', [1, 2], new Float64Array([Math.PI, -1e300])],
    ['int64', [2], new BigInt64Array([-(2n ** 62n), 5n])],
    ['int32', [2, 1], new Int32Array([-7, 2 ** 31 - 1])],
    ['int8', [3], new Int8Array([-128, 0, 127])],
    ['uint8', [2], new Uint8Array([0, 255])],
    ['bool', [2, 2], new Uint8Array([1, 0, 0, 1])],
    ['float32', [], new Float32Array([42])],
    ['float32', [0, 3], new Float32Array(0)],
  ];
  for (const [dtype, shape, data] of cases) {
    const back = npy.decode(npy.encode({ dtype, shape, data }));
    assert.strictEqual(back.dtype, dtype);
    assert.deepStrictEqual(back.shape, shape);
    assert.deepStrictEqual(Array.from(back.data), Array.from(data), dtype);
  }
});

test('reads format 2.0 headers and refuses what it cannot read', () => {
  const v1 = npy.encode({ dtype: 'int32', shape: [2], data: new Int32Array([3, 4]) });
  const h = v1.subarray(10, 128);
  const pre = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 2, 0, 0, 0, 0, 0]);
  pre.writeUInt32LE(h.length, 8);
  const v2 = npy.decode(Buffer.concat([pre, h, v1.subarray(128)]));
  assert.deepStrictEqual(Array.from(v2.data), [3, 4]);
  const fortran = Buffer.from(v1);
  fortran.write("{'descr': '<i4', 'fortran_order': True,  'shape': (2,), }", 10, 'latin1');
  assert.throws(() => npy.decode(fortran), /Fortran/);
  const big = Buffer.from(v1);
  big.write("{'descr': '>i4'", 10, 'latin1');
  assert.throws(() => npy.decode(big), /big-endian/);
  assert.throws(() => npy.decode(v1.subarray(0, 130)), /truncated/);
  assert.throws(() => npy.decode(Buffer.from('not numpy at all')), /not a .npy/);
});

test('float16 conversion rounds to nearest even and covers every half value', () => {
  const cases = [[1, 0x3c00], [65504, 0x7bff], [65520, 0x7c00], [2 ** -24, 1], [2 ** -25, 0],
    [1 + 2 ** -11, 0x3c00], [1 + 3 * 2 ** -11, 0x3c02], [-0, 0x8000], [0.1, 0x2e66]];
  for (const [v, bits] of cases) assert.strictEqual(half.toHalfBits(v), bits, String(v));
  for (let h = 0; h < 65536; h++) {
    const f = half.fromHalfBits(h);
    if (!Number.isNaN(f)) assert.strictEqual(half.toHalfBits(f), h);
  }
});
