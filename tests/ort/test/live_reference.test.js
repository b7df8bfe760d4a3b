'use strict';
// live_reference.js and check_models.sh against a stand-in kiln (fixtures/fake_kiln.js: ONNX
// Runtime with optimizations off, which can be told to misbehave). With KILN=path/to/kiln in
// the environment the passthrough fixture also runs against the real kiln.
const test = require('node:test');
const assert = require('node:assert');
const path = require('path');
const { spawnSync } = require('child_process');
const { fileName, compare } = require('../live_reference');

const ORT_DIR = path.join(__dirname, '..');
const FIX = path.join(ORT_DIR, 'fixtures');
const FAKE = path.join(FIX, 'fake_kiln.js');

function live(args, env = {}) {
  const r = spawnSync(process.execPath, [path.join(ORT_DIR, 'live_reference.js'), ...args], {
    encoding: 'utf8', env: { ...process.env, ...env },
  });
  return { code: r.status, out: r.stdout + r.stderr };
}
const model = (name) => path.join(FIX, name, 'model.onnx');
const MLS = ['--kiln', FAKE, '--model', model('matmul_ln_softmax'), '--dim', 'seq=5'];

test('output file names follow kiln file_name_for', () => {
  assert.strictEqual(fileName('logits/softmax:0'), 'logits_softmax_0.npy');
  assert.strictEqual(fileName('.hidden'), '_.hidden.npy');
  assert.strictEqual(fileName('é'), '__.npy'); // two UTF-8 bytes
  assert.strictEqual(fileName('ok-1.2_3'), 'ok-1.2_3.npy');
});

test('compare: relative L2, matching NaNs, all-zero reference, integers', () => {
  const f = (data, shape = [data.length]) => ({ dtype: 'float32', shape, data: Float32Array.from(data) });
  const opts = { rtol: 1e-5, intMismatch: 0 };
  assert.ok(compare(f([1, 2, NaN]), f([1, 2, NaN]), opts).ok);
  assert.ok(!compare(f([1, 2, NaN]), f([1, 2, 3]), opts).ok);
  assert.ok(!compare(f([1, 2, Infinity]), f([1, 2, -Infinity]), opts).ok);
  const r = compare(f([3, 4.0001]), f([3, 4]), opts);
  assert.ok(!r.ok);
  assert.ok(Math.abs(r.relL2 - 2e-5) < 1e-7, String(r.relL2)); // float32(4.0001) is not exact
  assert.deepStrictEqual(r.maxAt, [1]);
  assert.ok(compare(f([0, 1e-6]), f([0, 0]), opts).ok);
  assert.ok(!compare(f([0, 1e-3]), f([0, 0]), opts).ok);
  assert.ok(!compare(f([1, 2], [1, 2]), f([1, 2], [2, 1]), opts).ok);
  const i = (data) => ({ dtype: 'int64', shape: [data.length], data: BigInt64Array.from(data) });
  assert.ok(compare(i([1n, 2n]), i([1n, 2n]), opts).ok);
  assert.ok(!compare(i([1n, 3n]), i([1n, 2n]), opts).ok);
  assert.ok(compare(i([1n, 3n]), i([1n, 2n]), { rtol: 1e-5, intMismatch: 0.5 }).ok);
  assert.ok(!compare({ ...f([1]), dtype: 'float64', data: new Float64Array([1]) }, f([1]), opts).ok);
});

test('every fixture matches through check_models.sh', () => {
  const r = spawnSync('bash', [path.join(ORT_DIR, 'check_models.sh'), FAKE, FIX], { encoding: 'utf8' });
  assert.strictEqual(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^models: 9 passed, 0 failed$/m);
});

test('a 1e-4 relative error fails at the default tolerance and passes at 1e-3', () => {
  const bad = live([...MLS, '--seed', '7'], { FAKE_KILN_PERTURB: '1e-4' });
  assert.strictEqual(bad.code, 1, bad.out);
  assert.match(bad.out, /^FAIL logits\/softmax:0 .* rel_l2=1\.00e-4/m);
  assert.match(bad.out, /^0 passed, 2 failed$/m);
  assert.match(bad.out, /reproduce: .*--seed 7/);
  const ok = live([...MLS, '--seed', '7', '--rtol-l2', '1e-3'], { FAKE_KILN_PERTURB: '1e-4' });
  assert.strictEqual(ok.code, 0, ok.out);
  assert.match(ok.out, /^2 passed, 0 failed$/m);
});

test('NaN, a missing output, a flipped label and a failing kiln are failures', () => {
  assert.match(live(MLS, { FAKE_KILN_NAN: '1' }).out, /non-finite values differ[\s\S]*^0 passed, 2 failed$/m);
  const skip = live(MLS, { FAKE_KILN_SKIP: 'encoder/hidden:0' });
  assert.strictEqual(skip.code, 1);
  assert.match(skip.out, /kiln wrote no encoder_hidden_0\.npy/);
  const flip = live(['--kiln', FAKE, '--model', model('mask_argmax'), '--shape', 'image=1x3x5x6'], { FAKE_KILN_FLIP: '1' });
  assert.match(flip.out, /^FAIL labels .* 1\/30 elements differ/m);
  const crash = live(MLS, { FAKE_KILN_EXIT: '3' });
  assert.strictEqual(crash.code, 1);
  assert.match(crash.out, /FAIL kiln run: exit 3[\s\S]*\| fake kiln: error: asked to fail/);
});

test('the seed makes inputs reproducible; the clock makes them fresh', () => {
  const digest = (args) => live([...MLS, '--keep', ...args]).out.match(/workdir (\S+)/)[1];
  const fs = require('fs');
  const read = (dir) => fs.readFileSync(path.join(dir, 'inputs', 'pixel_values.npy'));
  const a = digest(['--seed', '11']);
  const b = digest(['--seed', '11']);
  const c = digest([]);
  assert.ok(read(a).equals(read(b)));
  assert.ok(!read(a).equals(read(c)));
  for (const d of [a, b, c]) fs.rmSync(d, { recursive: true, force: true });
});

test('unresolved symbolic dims and conflicting shapes are usage errors (exit 2)', () => {
  const noDim = live(['--kiln', FAKE, '--model', model('matmul_ln_softmax')]);
  assert.strictEqual(noDim.code, 2);
  assert.match(noDim.out, /symbolic dims without a value: pixel_values\[1\] \('seq'\)/);
  const clash = live(['--kiln', FAKE, '--model', model('matmul_ln_softmax'), '--shape', 'pixel_values=1x4x9']);
  assert.strictEqual(clash.code, 2);
  assert.match(clash.out, /model fixes it to 8/);
  // --shape of one input resolves the dims it shares with another (pixel_mask's H and W).
  const shared = live(['--kiln', FAKE, '--model', model('mask_argmax'), '--shape', 'image=1x3x4x9']);
  assert.match(shared.out, /pixel_mask: int64 \[1x4x9\] ones/);
});

test('check_models.sh skips (77) without node or models', () => {
  const fs = require('fs');
  const os = require('os');
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-ort-empty-'));
  const r = spawnSync('bash', [path.join(ORT_DIR, 'check_models.sh'), FAKE, empty], { encoding: 'utf8' });
  assert.strictEqual(r.status, 77);
  const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-ort-bin-'));
  for (const tool of ['dirname']) fs.symlinkSync(spawnSync('bash', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim(), path.join(bin, tool));
  const bash = spawnSync('bash', ['-c', 'command -v bash'], { encoding: 'utf8' }).stdout.trim();
  const noNode = spawnSync(bash, [path.join(ORT_DIR, 'check_models.sh'), FAKE, FIX], { encoding: 'utf8', env: { PATH: bin } });
  assert.strictEqual(noNode.status, 77, noNode.stdout + noNode.stderr);
  assert.match(noNode.stdout, /SKIP: node not found/);
  fs.rmSync(empty, { recursive: true });
  fs.rmSync(bin, { recursive: true });
});

const REAL = { skip: !process.env.KILN && 'KILN not set' };

test('real kiln: passthrough fixture (every dtype through .npy)', REAL, () => {
  const r = live(['--kiln', process.env.KILN, '--model', model('passthrough'), '--shape', 'pixel_values=1x3x8x8']);
  assert.strictEqual(r.code, 0, r.out);
  assert.match(r.out, /^9 passed, 0 failed$/m);
});

test('real kiln: MatMul, Einsum, Gemm, Layer/Instance/Batch/GroupNormalization', REAL, () => {
  const r = live(['--kiln', process.env.KILN, '--model', model('linear_norm'), '--dim', 'seq=17', '--shape', 'image=1x8x15x9']);
  assert.strictEqual(r.code, 0, r.out);
  assert.match(r.out, /^6 passed, 0 failed$/m);
});

test('real kiln: Conv (strided, depthwise, dilated, 7x7/4), ConvTranspose, pools', REAL, () => {
  const r = live(['--kiln', process.env.KILN, '--model', model('conv_pool'), '--shape', 'image=1x6x29x35']);
  assert.strictEqual(r.code, 0, r.out);
  assert.match(r.out, /^8 passed, 0 failed$/m);
});

test('real kiln: shape and data-movement ops', REAL, () => {
  const r = live(['--kiln', process.env.KILN, '--model', model('tensor_ops'), '--shape', 'x=1x8x11x7']);
  assert.strictEqual(r.code, 0, r.out);
  assert.match(r.out, /^14 passed, 0 failed$/m);
});

test('real kiln: Resize and GridSample', REAL, () => {
  const r = live(['--kiln', process.env.KILN, '--model', model('resize_grid_sample'), '--shape', 'x=1x4x13x17']);
  assert.strictEqual(r.code, 0, r.out);
  assert.match(r.out, /^4 passed, 0 failed$/m);
});
