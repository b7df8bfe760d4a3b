#!/usr/bin/env node
'use strict';
// Live reference: ONNX Runtime (CPU) and kiln run one model on the same fresh random inputs
// and every graph output must agree. See tests/ort/README.md.
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const npy = require('./npy');
const { half } = require('./half');

const USAGE = `usage: node tests/ort/live_reference.js --kiln KILN --model MODEL.onnx [options]
  --kiln PATH            kiln binary (runs: kiln run MODEL --input NAME=FILE.npy ... --output DIR --device cpu)
  --model PATH           ONNX model (external data beside it is found by ONNX Runtime)
  --shape NAME=AxBxC     full shape of input NAME (fills its symbolic dims; 'scalar' for rank 0)
  --dim SYMBOL=N         value of a symbolic dim wherever it appears ('batch'-like dims default to 1)
  --input NAME=FILE.npy  use this array for input NAME instead of a random one
  --rtol-l2 X            pass when ||kiln-ort||/||ort|| <= X for every float output
                         (default 1e-5; 1e-3 when a graph input or output is float16)
  --int-mismatch F       integer/bool outputs: allowed fraction of differing elements (default 0)
  --dist uniform|normal  float inputs: uniform in [-1,1) (default) or standard normal
  --seed N               random seed (default: from the clock; always printed)
  --workdir DIR          keep inputs/, ort/ and kiln/ arrays here (default: a temp dir, removed on success)
  --keep                 keep the temp workdir even on success
  --ort-opt LEVEL        ORT graph optimization: disabled|basic|extended|layout|all (default: ORT's default)
  --ort-threads N        ORT intra-op threads (default: ORT's default)
  --kiln-arg ARG         extra argument appended to the kiln command line (repeatable)
  --timeout SEC          kill kiln after SEC seconds (default: none)
  --ort-only             run ONNX Runtime only and write its outputs under WORKDIR/ort
exit: 0 all outputs match, 1 a mismatch or kiln failed, 2 usage error or ORT could not run the model`;

function usage(msg) {
  console.error(`live_reference: ${msg} (--help for usage)`);
  process.exit(2);
}

function parseArgs(argv) {
  const o = { shapes: {}, dims: {}, inputs: {}, kilnArgs: [], dist: 'uniform', intMismatch: 0 };
  const pairs = { '--shape': 'shapes', '--dim': 'dims', '--input': 'inputs' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const flag = ['--keep', '--ort-only', '--help', '-h'].includes(a);
    const v = flag ? undefined : argv[++i];
    if (!flag && v === undefined) usage(`${a} needs a value`);
    if (a in pairs) {
      const eq = v.lastIndexOf('=');
      if (eq <= 0) usage(`${a} expects NAME=VALUE, got '${v}'`);
      o[pairs[a]][v.slice(0, eq)] = v.slice(eq + 1);
      continue;
    }
    switch (a) {
      case '--kiln': o.kiln = v; break;
      case '--model': o.model = v; break;
      case '--rtol-l2': o.rtol = Number(v); if (!(o.rtol >= 0)) usage(`bad --rtol-l2 '${v}'`); break;
      case '--int-mismatch': o.intMismatch = Number(v); if (!(o.intMismatch >= 0)) usage(`bad --int-mismatch '${v}'`); break;
      case '--dist': if (!['uniform', 'normal'].includes(v)) usage(`bad --dist '${v}'`); o.dist = v; break;
      case '--seed': o.seed = Number(v); if (!Number.isInteger(o.seed) || o.seed < 0 || o.seed >= 2 ** 32) usage(`bad --seed '${v}' (0..2^32-1)`); break;
      case '--workdir': o.workdir = v; break;
      case '--ort-opt': if (!['disabled', 'basic', 'extended', 'layout', 'all'].includes(v)) usage(`bad --ort-opt '${v}'`); o.ortOpt = v; break;
      case '--ort-threads': o.ortThreads = Number(v); if (!(Number.isInteger(o.ortThreads) && o.ortThreads > 0)) usage(`bad --ort-threads '${v}'`); break;
      case '--kiln-arg': o.kilnArgs.push(v); break;
      case '--timeout': o.timeout = Number(v); if (!(o.timeout > 0)) usage(`bad --timeout '${v}'`); break;
      case '--keep': o.keep = true; break;
      case '--ort-only': o.ortOnly = true; break;
      case '--help': case '-h': console.log(USAGE); process.exit(0); break;
      default: usage(`unknown argument '${a}'`);
    }
  }
  if (!o.model) usage('--model is required');
  if (!o.kiln && !o.ortOnly) usage('--kiln is required (or --ort-only)');
  if (!fs.existsSync(o.model)) usage(`model not found: ${o.model}`);
  if (o.kiln && !o.ortOnly && !fs.existsSync(o.kiln)) usage(`kiln binary not found: ${o.kiln}`);
  return o;
}

// ---- random inputs ----------------------------------------------------------------------

// mulberry32, seeded per input from (seed, input name) so one input's data does not depend
// on which other inputs the model has.
function rng(seed, name) {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (const c of Buffer.from(name)) h = Math.imul(h ^ c, 0x01000193) >>> 0; // FNV-1a step
  let s = h;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296; // [0, 1)
  };
}

function randomFloats(count, next, dist) {
  const out = new Float64Array(count);
  if (dist === 'uniform') {
    for (let i = 0; i < count; i++) out[i] = next() * 2 - 1;
  } else {
    for (let i = 0; i < count; i += 2) { // Box-Muller
      const r = Math.sqrt(-2 * Math.log(1 - next()));
      const t = 2 * Math.PI * next();
      out[i] = r * Math.cos(t);
      if (i + 1 < count) out[i + 1] = r * Math.sin(t);
    }
  }
  return out;
}

function makeInput(name, dtype, shape, seed, dist) {
  const count = shape.reduce((a, b) => a * b, 1);
  const next = rng(seed, name);
  switch (dtype) {
    case 'float32': return { data: Float32Array.from(randomFloats(count, next, dist)), how: `${dist} random` };
    case 'float64': return { data: randomFloats(count, next, dist), how: `${dist} random` };
    case 'float16': return { data: half.fromFloats(randomFloats(count, next, dist)), how: `${dist} random` };
    // Integer and bool inputs of vision models are masks (pixel_mask, attention_mask): ones.
    case 'bool': case 'uint8': return { data: new Uint8Array(count).fill(1), how: 'ones' };
    case 'int8': return { data: new Int8Array(count).fill(1), how: 'ones' };
    case 'int32': return { data: new Int32Array(count).fill(1), how: 'ones' };
    case 'int64': return { data: new BigInt64Array(count).fill(1n), how: 'ones' };
    default: throw new Error(`input '${name}': no random generator for dtype ${dtype}`);
  }
}

// ---- shapes -----------------------------------------------------------------------------

const isFixed = (d) => typeof d === 'number' && Number.isInteger(d) && d >= 0;
const BATCH_LIKE = /^(batch|batch_?size|n|b|bs|batch_dim|unk__\d+_batch)$/i;

function parseShapeArg(text, name) {
  if (text === 'scalar' || text === '') return [];
  const dims = text.split(/[x,]/).map(Number);
  if (dims.some((d) => !Number.isInteger(d) || d < 0)) usage(`--shape ${name}=${text}: dims must be non-negative integers like 1x3x512x512`);
  return dims;
}

// Resolves every input's concrete shape: explicit --shape first (their symbolic dims are then
// known for the other inputs), then --dim, then batch-like symbols default to 1.
function resolveShapes(metas, opts) {
  const symbols = {};
  for (const [k, v] of Object.entries(opts.dims)) {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) usage(`--dim ${k}=${v}: not a non-negative integer`);
    symbols[k] = n;
  }
  for (const name of Object.keys(opts.shapes)) {
    if (!metas.some((m) => m.name === name)) usage(`--shape ${name}: the model has no input '${name}' (inputs: ${metas.map((m) => m.name).join(', ')})`);
  }
  const shapes = {};
  for (const m of metas) {
    if (!(m.name in opts.shapes)) continue;
    const dims = parseShapeArg(opts.shapes[m.name], m.name);
    if (m.shape.length > 0 && dims.length !== m.shape.length) {
      usage(`--shape ${m.name}: rank ${dims.length}, but the model declares [${m.shape.join(',')}]`);
    }
    m.shape.forEach((d, i) => {
      if (isFixed(d) && d !== dims[i]) usage(`--shape ${m.name}: dim ${i} is ${dims[i]}, but the model fixes it to ${d}`);
      if (typeof d === 'string' && d !== '' && !(d in symbols)) symbols[d] = dims[i];
    });
    shapes[m.name] = dims;
  }
  const missing = [];
  for (const m of metas) {
    if (m.name in shapes) continue;
    shapes[m.name] = m.shape.map((d, i) => {
      if (isFixed(d)) return d;
      if (typeof d === 'string' && d in symbols) return symbols[d];
      if (typeof d === 'string' && BATCH_LIKE.test(d)) return (symbols[d] = 1);
      missing.push(`${m.name}[${i}]${typeof d === 'string' && d ? ` ('${d}')` : ''}`);
      return -1;
    });
  }
  if (missing.length) usage(`symbolic dims without a value: ${missing.join(', ')}; give --shape NAME=AxBxC or --dim SYMBOL=N`);
  return shapes;
}

// ---- comparison -------------------------------------------------------------------------

function toFloat64(arr) {
  const { dtype, data } = arr;
  if (dtype === 'float16') return half.toFloats(data);
  if (dtype === 'int64' || dtype === 'uint64') return Float64Array.from(data, Number);
  return Float64Array.from(data);
}

const FLOAT = new Set(['float32', 'float16', 'float64']);

// Compares kiln's array against ORT's. Positions where both hold the same NaN/Inf count as
// equal and are left out of the norms; any other non-finite value fails.
function compare(kiln, ort, opts) {
  const r = { ok: true, notes: [] };
  if (kiln.dtype !== ort.dtype) { r.ok = false; r.notes.push(`dtype ${kiln.dtype}, ORT ${ort.dtype}`); return r; }
  if (kiln.shape.join('x') !== ort.shape.join('x')) {
    r.ok = false; r.notes.push(`shape [${kiln.shape}], ORT [${ort.shape}]`); return r;
  }
  const a = toFloat64(kiln);
  const b = toFloat64(ort);
  let d2 = 0; let o2 = 0; let maxAbs = 0; let maxAt = -1; let badKiln = 0; let badOrt = 0; let sameBad = 0; let diffCount = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]; const y = b[i];
    const fx = Number.isFinite(x); const fy = Number.isFinite(y);
    if (!fx || !fy) {
      if (!fx) badKiln++;
      if (!fy) badOrt++;
      if (Object.is(x, y) || (Number.isNaN(x) && Number.isNaN(y))) sameBad++;
      continue;
    }
    const d = x - y;
    if (d !== 0) diffCount++;
    d2 += d * d;
    o2 += y * y;
    if (Math.abs(d) > maxAbs) { maxAbs = Math.abs(d); maxAt = i; }
  }
  r.relL2 = o2 > 0 ? Math.sqrt(d2) / Math.sqrt(o2) : (d2 > 0 ? Infinity : 0);
  r.maxAbs = maxAbs;
  r.maxAt = maxAt >= 0 ? unravel(maxAt, ort.shape) : null;
  r.nonFinite = `${badKiln}/${badOrt}`;
  if (badKiln !== sameBad || badOrt !== sameBad) { r.ok = false; r.notes.push(`non-finite values differ (kiln ${badKiln}, ORT ${badOrt}, same ${sameBad})`); }
  if (FLOAT.has(ort.dtype)) {
    if (o2 === 0) {
      // An all-zero reference has no relative error: judge the absolute one against rtol.
      r.notes.push('ORT output is all zeros: max_abs judged against the tolerance');
      if (maxAbs > opts.rtol) r.ok = false;
    } else if (!(r.relL2 <= opts.rtol)) {
      r.ok = false;
    }
  } else {
    r.mismatch = diffCount;
    if (diffCount > opts.intMismatch * a.length) { r.ok = false; }
    r.notes.push(`${diffCount}/${a.length} elements differ`);
  }
  return r;
}

function unravel(i, shape) {
  const idx = [];
  for (let k = shape.length - 1; k >= 0; k--) { idx.unshift(i % shape[k]); i = Math.floor(i / shape[k]); }
  return idx;
}

// ---- helpers ----------------------------------------------------------------------------

// kiln writes output NAME to <stem>.npy, stem = NAME's UTF-8 bytes with every byte outside
// [A-Za-z0-9._-] replaced by '_', and '_' put in front of an empty stem or one starting with '.'
// (tools/kiln/cli.cpp, file_name_for).
function fileName(name) {
  let stem = '';
  for (const b of Buffer.from(name, 'utf8')) {
    const c = String.fromCharCode(b);
    stem += /[A-Za-z0-9._-]/.test(c) ? c : '_';
  }
  if (stem === '' || stem[0] === '.') stem = `_${stem}`;
  return `${stem}.npy`;
}
const fmt = (x) => (x === undefined ? '-' : Number.isFinite(x) ? x.toExponential(2) : String(x));
const secs = (ns) => `${(Number(ns) / 1e9).toFixed(3)} s`;

function loadOrt() {
  try {
    return require('onnxruntime-node');
  } catch (e) {
    console.error(`live_reference: cannot load onnxruntime-node (${e.message.split('\n')[0]}); run tests/ort/setup.sh`);
    process.exit(2);
  }
}

function checkFileNames(names, what) {
  const seen = {};
  for (const n of names) {
    const f = fileName(n);
    if (f in seen) usage(`${what} '${n}' and '${seen[f]}' would both be written as ${f}`);
    seen[f] = n;
  }
}

// ---- main -------------------------------------------------------------------------------

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const ort = loadOrt();
  const model = path.resolve(opts.model);
  const seed = opts.seed !== undefined ? opts.seed : ((Date.now() ^ (process.pid << 20)) >>> 0);

  const tmp = !opts.workdir;
  const work = opts.workdir ? path.resolve(opts.workdir) : fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-ort-'));
  const dirs = { inputs: path.join(work, 'inputs'), ort: path.join(work, 'ort') };
  if (!opts.ortOnly) dirs.kiln = path.join(work, 'kiln');
  for (const d of Object.values(dirs)) { fs.rmSync(d, { recursive: true, force: true }); fs.mkdirSync(d, { recursive: true }); }

  // ONNX Runtime session: CPU only, graph optimizations left at ORT's default level.
  const sessionOpts = { executionProviders: ['cpu'], logSeverityLevel: 3 };
  if (opts.ortOpt) sessionOpts.graphOptimizationLevel = opts.ortOpt;
  if (opts.ortThreads) sessionOpts.intraOpNumThreads = opts.ortThreads;
  let session;
  const t0 = process.hrtime.bigint();
  try {
    session = await ort.InferenceSession.create(model, sessionOpts);
  } catch (e) {
    console.error(`live_reference: ONNX Runtime cannot load ${opts.model}: ${e.message}`);
    process.exit(2);
  }
  const tCreate = process.hrtime.bigint() - t0;

  const metas = session.inputMetadata.filter((m) => m.isTensor !== false);
  if (metas.length !== session.inputNames.length) usage('the model has non-tensor inputs; not supported');
  checkFileNames(session.inputNames, 'input');
  checkFileNames(session.outputNames, 'output');
  for (const name of Object.keys(opts.inputs)) if (!session.inputNames.includes(name)) usage(`--input ${name}: the model has no such input`);
  const outMeta = session.outputMetadata || [];
  const hasHalf = metas.concat(outMeta).some((m) => m.type === 'float16');
  if (opts.rtol === undefined) opts.rtol = hasHalf ? 1e-3 : 1e-5;
  // Arrays given with --input fix their inputs' shapes, and so the symbolic dims they share.
  const given = {};
  for (const [name, file] of Object.entries(opts.inputs)) {
    const m = metas.find((x) => x.name === name);
    try {
      given[name] = npy.read(file);
    } catch (e) {
      usage(`--input ${name}: ${e.message}`);
    }
    if (given[name].dtype !== m.type) usage(`--input ${name}: ${file} holds ${given[name].dtype}, the model wants ${m.type}`);
    if (name in opts.shapes) usage(`input ${name}: give --input or --shape, not both`);
    opts.shapes[name] = given[name].shape.length ? given[name].shape.join('x') : 'scalar';
  }
  const shapes = resolveShapes(metas, opts);

  console.log(`model: ${opts.model}`);
  console.log(`onnxruntime-node ${ort.env.versions.node}, CPU, graph optimization ${opts.ortOpt || 'default'}; seed ${seed}; rtol_l2 ${opts.rtol}; workdir ${work}`);

  const feeds = {};
  const inputArgs = [];
  for (const m of metas) {
    let arr;
    let how;
    if (m.name in given) {
      arr = given[m.name];
      how = `from ${opts.inputs[m.name]}`;
    } else {
      const gen = makeInput(m.name, m.type, shapes[m.name], seed, opts.dist);
      arr = { dtype: m.type, shape: shapes[m.name], data: gen.data };
      how = gen.how;
    }
    const file = path.join(dirs.inputs, fileName(m.name));
    npy.write(file, arr);
    feeds[m.name] = new ort.Tensor(arr.dtype, arr.data, arr.shape);
    inputArgs.push('--input', `${m.name}=${file}`);
    console.log(`input  ${m.name}: ${arr.dtype} [${arr.shape.join('x')}] ${how}`);
  }

  const t1 = process.hrtime.bigint();
  let results;
  try {
    results = await session.run(feeds);
  } catch (e) {
    console.error(`live_reference: ONNX Runtime failed to run ${opts.model}: ${e.message}`);
    process.exit(2);
  }
  const tRun = process.hrtime.bigint() - t1;
  const ortOut = {};
  for (const name of session.outputNames) {
    const t = results[name];
    ortOut[name] = { dtype: t.type, shape: t.dims.slice(), data: t.data };
    npy.write(path.join(dirs.ort, fileName(name)), ortOut[name]);
  }
  const ortTime = `ort wall: create ${secs(tCreate)}, run ${secs(tRun)}`;
  if (opts.ortOnly) {
    for (const name of session.outputNames) console.log(`output ${name}: ${ortOut[name].dtype} [${ortOut[name].shape.join('x')}] -> ${path.join(dirs.ort, fileName(name))}`);
    console.log(ortTime);
    return 0;
  }

  const cmd = [path.resolve(opts.kiln), 'run', model, ...inputArgs, '--output', dirs.kiln, '--device', 'cpu', ...opts.kilnArgs];
  const repro = `node ${path.relative(process.cwd(), __filename)} ${process.argv.slice(2).filter((a, i, all) => a !== '--seed' && all[i - 1] !== '--seed').join(' ')} --seed ${seed}`;
  const t2 = process.hrtime.bigint();
  const k = spawnSync(cmd[0], cmd.slice(1), {
    encoding: 'utf8', maxBuffer: 64 << 20, timeout: opts.timeout ? opts.timeout * 1000 : undefined,
  });
  const tKiln = process.hrtime.bigint() - t2;
  // kiln run's summary line ("cpu: N nodes (M in file), prepare X ms, run Y ms") when present.
  const said = /^.*prepare [\d.]+ ms, run [\d.]+ ms.*$/m.exec(k.stdout || '');
  const timing = `kiln wall: ${secs(tKiln)} (whole process${said ? `; kiln: ${said[0].trim()}` : ''}); ${ortTime}`;

  let passed = 0;
  let failed = 0;
  if (k.error || k.status !== 0) {
    const why = k.error ? k.error.message : k.signal ? `killed by ${k.signal}` : `exit ${k.status}`;
    console.log(`FAIL kiln run: ${why}`);
    console.log(`  command: ${cmd.join(' ')}`);
    const tail = `${k.stdout || ''}${k.stderr || ''}`.trim().split('\n').slice(-20);
    for (const line of tail) if (line) console.log(`  | ${line}`);
    failed = session.outputNames.length;
  } else {
    const width = Math.max(...session.outputNames.map((n) => n.length));
    for (const name of session.outputNames) {
      const file = path.join(dirs.kiln, fileName(name));
      let r;
      if (!fs.existsSync(file)) {
        r = { ok: false, notes: [`kiln wrote no ${fileName(name)} (found: ${fs.readdirSync(dirs.kiln).join(', ') || 'nothing'})`] };
      } else {
        try {
          r = compare(npy.read(file), ortOut[name], opts);
        } catch (e) {
          r = { ok: false, notes: [e.message] };
        }
      }
      const o = ortOut[name];
      const at = r.maxAt ? ` @[${r.maxAt.join(',')}]` : '';
      console.log(`${r.ok ? 'PASS' : 'FAIL'} ${name.padEnd(width)}  ${o.dtype} [${o.shape.join('x')}]  rel_l2=${fmt(r.relL2)}  max_abs=${fmt(r.maxAbs)}${at}  nonfinite(kiln/ort)=${r.nonFinite || '-'}${r.notes.length ? `  ${r.notes.join('; ')}` : ''}`);
      if (r.ok) passed++; else failed++;
    }
    const extra = fs.readdirSync(dirs.kiln).filter((f) => !session.outputNames.some((n) => fileName(n) === f));
    if (extra.length) console.log(`note: kiln also wrote ${extra.join(', ')}`);
  }
  console.log(timing);
  if (failed) {
    console.log(`reproduce: ${repro}`);
    console.log(`arrays kept in ${work} (inputs/, ort/, kiln/)`);
  } else if (tmp && !opts.keep) {
    fs.rmSync(work, { recursive: true, force: true });
  }
  console.log(`${passed} passed, ${failed} failed`);
  return failed ? 1 : 0;
}

module.exports = { fileName, compare, resolveShapes, makeInput };

if (require.main === module) {
  main().then((code) => process.exit(code), (e) => {
    console.error(`live_reference: ${e.stack || e}`);
    process.exit(1);
  });
}
