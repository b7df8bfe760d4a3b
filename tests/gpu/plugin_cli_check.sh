#!/usr/bin/env bash
# The example plugin through the CLI on the GPU machine (needs python3 with onnx, numpy):
# run --plugin on cuda and cpu, build a cuda engine with it, run the engine, refuse it without
# --plugin; every output against a float64 reference.
set -eu

K=${1:?usage: plugin_cli_check.sh KILN_BINARY PLUGIN_SO}
SO=${2:?usage: plugin_cli_check.sh KILN_BINARY PLUGIN_SO}
W=/tmp/pl; mkdir -p $W
python3 - <<'PY'
import numpy as np, onnx
from onnx import helper, TensorProto
x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 1025])
y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
n = helper.make_node("ScaledSwish", ["x"], ["s"], domain="Example", alpha=1.5, beta=0.7)
a = helper.make_node("Add", ["s", "x"], ["y"])
g = helper.make_graph([n, a], "plugin_demo", [x], [y])
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("Example", 1)])
onnx.save(m, "/tmp/pl/model.onnx")
np.save("/tmp/pl/x.npy", np.random.default_rng(5).uniform(-6, 6, (2, 3, 1025)).astype(np.float32))
PY

$K run $W/model.onnx --plugin $SO --input x=$W/x.npy --device cuda -o $W/cuda
$K run $W/model.onnx --plugin $SO --input x=$W/x.npy --device cpu -o $W/cpu
$K build $W/model.onnx --plugin $SO --device cuda -o $W/model.kiln
$K run $W/model.kiln --plugin $SO --input x=$W/x.npy -o $W/engine
set +e; $K run $W/model.kiln --input x=$W/x.npy -o $W/nope; echo "without --plugin: exit $?"; set -e
python3 - <<'PY'
import numpy as np
x = np.load("/tmp/pl/x.npy").astype(np.float64)
ref = 1.5 * x / (1 + np.exp(-0.7 * x)) + x
for d in ("cuda", "cpu", "engine"):
    y = np.load(f"/tmp/pl/{d}/y.npy").astype(np.float64)
    print(f"{d}: rel L2 vs double reference {np.linalg.norm(y-ref)/np.linalg.norm(ref):.3g}, max abs {np.abs(y-ref).max():.3g}")
PY
