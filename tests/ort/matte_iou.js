'use strict';
// Compares kiln's matte with ONNX Runtime's on the same preprocessed input.
//
//   node tests/ort/matte_iou.js MODEL.onnx INPUT.npy KILN_OUTPUT.npy [--min-iou 0.99] [--json]
//
// INPUT.npy is what `kiln run --image ... --task matte --save-input` fed the model; ORT (CPU,
// onnxruntime-node from tests/ort/setup.sh) runs the model's first output on it. Prints the
// foreground IoU at threshold 0.5 and the largest absolute difference; exit 1 when the IoU is
// below --min-iou, 2 on a usage or file error.
const path = require('path');
const npy = require('./npy');

function usage(msg) {
  console.error(`matte_iou: ${msg} (usage: matte_iou.js MODEL.onnx INPUT.npy KILN_OUTPUT.npy [--min-iou X] [--json])`);
  process.exit(2);
}

async function main() {
  const args = process.argv.slice(2);
  let minIou = 0.99, json = false;
  const files = [];
  for (let i = 0; i < args.length; ++i) {
    if (args[i] === '--min-iou') minIou = Number(args[++i]);
    else if (args[i] === '--json') json = true;
    else files.push(args[i]);
  }
  if (files.length !== 3 || !(minIou >= 0 && minIou <= 1)) usage('expected three files');
  let ort;
  try {
    ort = require(path.join(__dirname, 'node_modules', 'onnxruntime-node'));
  } catch (e) {
    usage(`cannot load onnxruntime-node (${e.message.split('\n')[0]}); run tests/ort/setup.sh`);
  }
  let input, kiln;
  try {
    input = npy.read(files[1]);
    kiln = npy.read(files[2]);
  } catch (e) {
    usage(e.message);
  }
  const session = await ort.InferenceSession.create(files[0], { graphOptimizationLevel: 'all' });
  const t0 = process.hrtime.bigint();
  const outName = session.outputNames[0];
  const result = await session.run({ [session.inputNames[0]]: new ort.Tensor(input.dtype, input.data, input.shape) }, [outName]);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const ref = result[outName].data;
  if (ref.length !== kiln.data.length) usage(`sizes differ: ORT ${ref.length}, kiln ${kiln.data.length}`);
  let inter = 0, union = 0, maxAbs = 0;
  for (let i = 0; i < ref.length; ++i) {
    const a = kiln.data[i] >= 0.5, b = ref[i] >= 0.5;
    if (a && b) ++inter;
    if (a || b) ++union;
    maxAbs = Math.max(maxAbs, Math.abs(kiln.data[i] - ref[i]));
  }
  const iou = union ? inter / union : 1;
  const report = { output: outName, iou, max_abs_diff: maxAbs, ort_ms: ms, min_iou: minIou, ok: iou >= minIou };
  if (json) console.log(JSON.stringify(report));
  else console.log(`IoU ${iou.toFixed(5)} (threshold 0.5), max |kiln - ORT| ${maxAbs.toExponential(2)}, ORT ${ms.toFixed(0)} ms`);
  process.exit(report.ok ? 0 : 1);
}

main().catch((e) => {
  console.error(`matte_iou: ${e.message.split('\n')[0]}`);
  process.exit(1);
});
