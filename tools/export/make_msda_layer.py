#!/usr/bin/env python3
"""Writes one multi-scale deformable attention layer's sampling core as ONNX, in the form
transformers' pure-PyTorch `multi_scale_deformable_attention` exports (one GridSample per level),
for timing kiln's fused kernel against the unfused graph:

    python3 tools/export/make_msda_layer.py --out msda_swin_t.onnx          # Swin-T at 800x1216
    kiln build msda_swin_t.onnx -o fused.kiln --device cuda --fp16
    kiln build msda_swin_t.onnx -o unfused.kiln --device cuda --fp16 --disable-pass fuse_ms_deform_attn
    kiln bench fused.kiln ; kiln bench unfused.kiln ; kiln profile unfused.kiln

Defaults are Mask2Former Swin-T's pixel decoder at 800x1216: levels at strides 8/16/32
(100x152, 50x76, 25x38), d_model 256 in 8 heads of 32, 4 points, every token a query. The inputs
are what `--input NAME=random` draws (uniform in [-1, 1)), so the graph maps them as the model
does: locations through a Sigmoid into (0.27, 0.73), weights through a Softmax over levels x
points. Needs only the `onnx` package (no torch, no transformers).
"""
import argparse

import onnx
from onnx import TensorProto, helper


def build(height, width, strides, batch, heads, head_dim, points, dtype):
    levels = [(-(-height // s), -(-width // s)) for s in strides]  # ceil, as the conv strides give
    L, P, H, D, B = len(levels), points, heads, head_dim, batch
    S = sum(h * w for h, w in levels)
    Q = S
    N = B * H
    elem = TensorProto.FLOAT16 if dtype == "float16" else TensorProto.FLOAT
    nodes, inits = [], []

    def const(name, values, dt=TensorProto.INT64, dims=None):
        inits.append(helper.make_tensor(name, dt, dims if dims is not None else [len(values)], values))
        return name

    def node(op, ins, outs, **attrs):
        nodes.append(helper.make_node(op, ins, outs, name=outs[0], **attrs))
        return outs[0]

    # What the layer's projections would produce, from random inputs.
    node("Sigmoid", ["loc_logits"], ["loc"])
    const("attn_shape", [B, Q, H, L * P])
    node("Reshape", ["attn_logits", "attn_shape"], ["attn_flat"])
    node("Softmax", ["attn_flat"], ["attn_soft"], axis=-1)
    const("attn_levels", [B, Q, H, L, P])
    node("Reshape", ["attn_soft", "attn_levels"], ["attn"])
    # grid = 2 * loc - 1
    const("two", [2.0], elem, [])
    const("one", [1.0], elem, [])
    node("Mul", ["loc", "two"], ["scaled"])
    node("Sub", ["scaled", "one"], ["grid"])
    stacked = []
    start = 0
    for l, (h, w) in enumerate(levels):
        n = str(l)
        const("start" + n, [start])
        const("end" + n, [start + h * w])
        const("axis" + n, [1])
        node("Slice", ["value", "start" + n, "end" + n, "axis" + n], ["v" + n])
        start += h * w
        const("merge" + n, [B, h * w, H * D])
        node("Reshape", ["v" + n, "merge" + n], ["vm" + n])
        node("Transpose", ["vm" + n], ["vt" + n], perm=[0, 2, 1])
        const("image" + n, [N, D, h, w])
        node("Reshape", ["vt" + n, "image" + n], ["img" + n])
        const("level" + n, [l], dims=[])
        node("Gather", ["grid", "level" + n], ["gl" + n], axis=3)
        node("Transpose", ["gl" + n], ["gt" + n], perm=[0, 2, 1, 3, 4])
        const("gshape" + n, [N, Q, P, 2])
        node("Reshape", ["gt" + n, "gshape" + n], ["g" + n])
        node("GridSample", ["img" + n, "g" + n], ["gs" + n], mode="bilinear", padding_mode="zeros", align_corners=0)
        const("stack_axis" + n, [-2])
        stacked.append(node("Unsqueeze", ["gs" + n, "stack_axis" + n], ["u" + n]))
    node("Concat", stacked, ["cat"], axis=-2)
    const("flat", [N, D, Q, L * P])
    node("Reshape", ["cat", "flat"], ["samples"])
    node("Transpose", ["attn"], ["at"], perm=[0, 2, 1, 3, 4])
    const("wshape", [N, 1, Q, L * P])
    node("Reshape", ["at", "wshape"], ["w"])
    node("Mul", ["samples", "w"], ["weighted"])
    const("reduce_axes", [-1])
    node("ReduceSum", ["weighted", "reduce_axes"], ["sum"], keepdims=0)
    const("oshape", [B, H * D, Q])
    node("Reshape", ["sum", "oshape"], ["o"])
    node("Transpose", ["o"], ["out"], perm=[0, 2, 1])

    graph = helper.make_graph(
        nodes, "msda_layer",
        [helper.make_tensor_value_info("value", elem, [B, S, H, D]),
         helper.make_tensor_value_info("loc_logits", elem, [B, Q, H, L, P, 2]),
         helper.make_tensor_value_info("attn_logits", elem, [B, Q, H, L, P])],
        [helper.make_tensor_value_info("out", elem, [B, Q, H * D])],
        initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="kiln make_msda_layer")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model, levels


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="ONNX file to write")
    ap.add_argument("--height", type=int, default=800)
    ap.add_argument("--width", type=int, default=1216)
    ap.add_argument("--strides", type=int, nargs="+", default=[8, 16, 32])
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--d-model", type=int, default=256)
    ap.add_argument("--points", type=int, default=4)
    ap.add_argument("--dtype", choices=["float32", "float16"], default="float32",
                    help="the model's own dtype (kiln build --fp16 converts a float32 model)")
    a = ap.parse_args()
    if a.d_model % a.heads:
        ap.error("--d-model must be a multiple of --heads")
    model, levels = build(a.height, a.width, a.strides, a.batch, a.heads, a.d_model // a.heads, a.points, a.dtype)
    onnx.save(model, a.out)
    print(f"wrote {a.out}: levels {levels}, {sum(h * w for h, w in levels)} tokens and queries, "
          f"{a.heads} heads of {a.d_model // a.heads}, {a.points} points, {len(model.graph.node)} nodes")


if __name__ == "__main__":
    main()
