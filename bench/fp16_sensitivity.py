#!/usr/bin/env python3
"""Where SegFormer's fp16 label disagreement comes from (GPU machine, PyTorch only).

  python3 bench/fp16_sensitivity.py --variant b2 --batch 1 --hw 1024x1024 [--json-out FILE]

Runs the exporter's model (tools/export/export_segformer.py: same config, seed, random weights)
in fp32 with TF32 off as the reference, then in fp16 with chosen parts kept in fp32, and prints
relative L2 and label agreement (argmax over the class axis) of each against the reference:

  all fp16                    model.half()
  output rounding only        the fp32 logits rounded to fp16 and back
  fp32 classifier             the last 1x1 conv in fp32 (logits never stored in fp16)
  fp32 decode head            the whole decode head in fp32, encoder fp16
  fp32 encoder                the encoder in fp32, decode head fp16
  fp32 layer norms            every LayerNorm in fp32 (input upcast, output back to fp16)
  fp32 attention / mlp / patch embeddings / residual stream: the encoder part named in fp32

A part kept in fp32 takes fp16 activations, computes and stores in fp32, and hands fp16 on
(except where it ends the model). This tells which fp32 islands an fp16 engine should keep.

The "mixed" rows model what kiln's fp16 engines can do without fp32 math: a GEMM or conv with
fp16 operands (weights and inputs rounded to fp16) that accumulates and writes fp32, and a
LayerNorm that reads one type and writes another:

  mixed residual              o_proj and fc2 write the fp32 residual stream, which the layer
                              LayerNorms read (writing fp16) and the patch-embedding LayerNorm
                              starts; everything else fp16
  mixed residual + embed      the patch-embedding convs also write fp32
  mixed residual + embed + classifier   and the classifier writes the fp32 logits
  mixed residual + fp32 embed the patch-embedding convs in fp32 (inputs rounded to fp16)
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools", "export"))
import export_segformer as es  # noqa: E402


def cast_tree(x, dtype):
    import torch

    if isinstance(x, torch.Tensor) and x.is_floating_point():
        return x.to(dtype)
    if isinstance(x, tuple):
        return tuple(cast_tree(v, dtype) for v in x)
    if isinstance(x, list):
        return [cast_tree(v, dtype) for v in x]
    if isinstance(x, dict):  # transformers' ModelOutput
        for k in list(x.keys()):
            x[k] = cast_tree(x[k], dtype)
    return x


def keep_fp32(module, hand_on_fp16=True):
    """Runs `module` in fp32 inside an fp16 model."""
    import torch

    module.float()
    module.register_forward_pre_hook(lambda m, args: cast_tree(args, torch.float32))
    if hand_on_fp16:
        module.register_forward_hook(lambda m, args, out: cast_tree(out, torch.float16))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--variant", choices=sorted(es.VARIANTS), default="b2")
    ap.add_argument("--batch", type=es.positive_int, default=1)
    ap.add_argument("--hw", type=es.parse_hw, default=(1024, 1024))
    ap.add_argument("--seed", type=int, default=20261122, help="seed of the random input (bench's default)")
    ap.add_argument("--json-out", default=None)
    a = ap.parse_args()

    import copy

    import numpy as np

    torch, model, cfg, _ = es.build_model(a.variant)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    g = torch.Generator().manual_seed(a.seed)
    x = torch.randn(a.batch, 3, a.hw[0], a.hw[1], generator=g).cuda()
    model = model.cuda()
    with torch.no_grad():
        ref = model(pixel_values=x).logits.float().cpu().numpy()
    ref_labels = ref.argmax(1)

    def score(logits):
        out = logits.astype(np.float64)
        rel = float(np.linalg.norm(out - ref) / np.linalg.norm(ref))
        return {"rel_l2": rel, "label_agreement": float((out.argmax(1) == ref_labels).mean()),
                "finite": bool(np.isfinite(out).all())}

    def run(prepare):
        m = copy.deepcopy(model).half()
        prepare(m)
        with torch.no_grad():
            return m(pixel_values=x.half()).logits.float().cpu().numpy()

    def of_class(m, name):  # by class name: attribute paths differ across transformers versions
        return [mod for mod in m.modules() if type(mod).__name__ == name]

    def residual_fp32(m):
        # Each encoder layer in fp32 but its attention and MixFFN in fp16: the residual adds and
        # the LayerNorms reading them stay fp32, as an fp16 engine with an fp32 residual would.
        for layer in of_class(m, "SegformerLayer"):
            layer.float()
            for part in (layer.attention, layer.mlp):
                part.half()
                part.register_forward_pre_hook(lambda mod, args: cast_tree(args, torch.float16))
                part.register_forward_hook(lambda mod, args, out: cast_tree(out, torch.float32))
        for emb in of_class(m, "SegformerOverlapPatchEmbeddings"):
            emb.register_forward_hook(lambda mod, args, out: cast_tree(out, torch.float32))
        # The stage-final LayerNorms read the fp32 stream and hand fp16 on.
        inside = {id(mod) for layer in of_class(m, "SegformerLayer") for mod in layer.modules()}
        for ln in m.segformer.modules():
            if isinstance(ln, torch.nn.LayerNorm) and id(ln) not in inside:
                keep_fp32(ln)

    def round16(t):
        return t.half().float()

    def mixed(mod, round_all_params=False):
        # fp16 operands, fp32 accumulation and output: an fp32 module whose weights and inputs
        # were rounded to fp16. Biases stay fp32 (kiln's mixed GEMM adds an fp32 bias).
        mod.float()
        for p in mod.parameters():
            if p.dim() > 1 or round_all_params:
                p.data = round16(p.data)
        mod.register_forward_pre_hook(lambda m, args: cast_tree(cast_tree(args, torch.float16), torch.float32))

    def ln_to(ln, out_dtype, params16):
        # A LayerNorm computing in fp32 from whatever it reads, writing out_dtype.
        ln.float()
        if params16:
            for p in ln.parameters():
                p.data = round16(p.data)
        ln.register_forward_pre_hook(lambda m, args: cast_tree(args, torch.float32))
        ln.register_forward_hook(lambda m, args, out: cast_tree(out, out_dtype))

    def mixed_residual(m, embed=None, classifier=False):
        def part(obj, *names):  # attribute paths differ across transformers versions
            for n in names:
                o = obj
                for a in n.split("."):
                    o = getattr(o, a, None)
                if o is not None:
                    return o
            raise AttributeError(f"{type(obj).__name__} has none of {names}")

        for layer in of_class(m, "SegformerLayer"):
            layer.float()
            for sub in (layer.attention, layer.mlp):
                sub.half()
                sub.register_forward_pre_hook(lambda mod, args: cast_tree(args, torch.float16))
            mixed(part(layer.attention, "o_proj", "output.dense"))
            mixed(part(layer.mlp, "fc2", "dense2"))
            ln_to(part(layer, "layernorm_before", "layer_norm_1"), torch.float16, True)
            ln_to(part(layer, "layernorm_after", "layer_norm_2"), torch.float16, True)
        inside = {id(mod) for layer in of_class(m, "SegformerLayer") for mod in layer.modules()}
        for emb in of_class(m, "SegformerOverlapPatchEmbeddings"):
            inside |= {id(mod) for mod in emb.modules()}
            if embed == "mixed":
                mixed(emb.proj)
            elif embed == "fp32":
                emb.proj.float()
                emb.proj.register_forward_pre_hook(lambda mod, args: cast_tree(args, torch.float32))
            ln_to(emb.layer_norm, torch.float32, False)
        for ln in m.segformer.modules():  # stage-final LayerNorms: fp32 stream in, fp16 out
            if isinstance(ln, torch.nn.LayerNorm) and id(ln) not in inside:
                ln_to(ln, torch.float16, True)
        if classifier:
            mixed(m.decode_head.classifier)

    def parts_fp32(cls):
        return lambda m: [keep_fp32(mod) for mod in of_class(m, cls)]

    variants = {
        "all fp16": lambda m: None,
        "fp32 classifier": lambda m: keep_fp32(m.decode_head.classifier, hand_on_fp16=False),
        "fp32 decode head": lambda m: keep_fp32(m.decode_head, hand_on_fp16=False),
        "fp32 encoder": lambda m: keep_fp32(m.segformer),
        "fp32 layer norms": lambda m: [keep_fp32(mod) for mod in m.modules() if isinstance(mod, torch.nn.LayerNorm)],
        "fp32 attention": parts_fp32("SegformerAttention"),
        "fp32 attention scores": parts_fp32("SegformerEfficientSelfAttention"),
        "fp32 mlp": parts_fp32("SegformerMixFFN"),
        "fp32 patch embeddings": parts_fp32("SegformerOverlapPatchEmbeddings"),
        "fp32 residual stream": residual_fp32,
        # Embeddings first: their output hook must run before the residual variant's upcast.
        "fp32 residual + embeddings": lambda m: (parts_fp32("SegformerOverlapPatchEmbeddings")(m), residual_fp32(m)),
        "fp32 residual + embeddings + head": lambda m: (parts_fp32("SegformerOverlapPatchEmbeddings")(m),
                                                        residual_fp32(m),
                                                        keep_fp32(m.decode_head, hand_on_fp16=False)),
    }
    variants.update({
        "mixed residual": mixed_residual,
        "mixed residual + embed": lambda m: mixed_residual(m, "mixed"),
        "mixed residual + embed + classifier": lambda m: mixed_residual(m, "mixed", True),
        "mixed residual + fp32 embed": lambda m: mixed_residual(m, "fp32"),
        "mixed residual + fp32 embed + classifier": lambda m: mixed_residual(m, "fp32", True),
        "mixed classifier": lambda m: mixed(m.decode_head.classifier),
    })
    rows = {"output rounding only": score(ref.astype(np.float16).astype(np.float32))}
    for name, prep in variants.items():
        try:
            rows[name] = score(run(prep))
        except Exception as e:  # report and go on: one failed variant must not hide the others
            rows[name] = {"error": repr(e)}
    print(f"SegFormer-{a.variant} {a.batch}x3x{a.hw[0]}x{a.hw[1]} on {torch.cuda.get_device_name()}, vs fp32 (TF32 off)")
    print(f"{'variant':<42} {'rel L2':>10} {'labels':>10}")
    for name, r in rows.items():
        if "error" in r:
            print(f"{name:<42} error: {r['error']}")
        else:
            print(f"{name:<42} {r['rel_l2']:10.3e} {100 * r['label_agreement']:9.3f}%")
    if a.json_out:
        with open(a.json_out, "w") as f:
            json.dump({"variant": a.variant, "batch": a.batch, "hw": list(a.hw), "seed": a.seed,
                       "gpu": torch.cuda.get_device_name(), "rows": rows}, f, indent=2)


if __name__ == "__main__":
    main()
