#!/usr/bin/env python3
"""Export SegFormer (transformers SegformerForSemanticSegmentation) with random weights.

  python3 export_segformer.py --variant tiny --out DIR   # small widths, 1x3x128x128
  python3 export_segformer.py --variant b0   --out DIR   # real B0 config, 1x3x512x512,
                                                         # weights as external data files
  python3 export_segformer.py --variant b2   --out DIR   # real B2 config, 1x3x1024x1024 (not committed)
  python3 export_segformer.py --variant b2 --batch 8 --hw 1024x1024 --out DIR
  python3 export_segformer.py --variant b5 --dynamic --out DIR

b0..b5 are the configs of MODELS.md (B0-B5 table). --batch/--hw override the variant's input
shape (the model is traced and the golden computed at that shape). --dynamic gives pixel_values
and logits symbolic batch/height/width dims and checks the file with onnxruntime at a second
shape. bench/torch_segformer.py builds its PyTorch peers with build_model() below.
"""

import argparse
import collections
import contextlib
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kiln_export_common as kc  # noqa: E402

# Settings every variant shares (no dropout: export and goldens are deterministic).
SEGFORMER_COMMON = dict(
    num_channels=3,
    num_encoder_blocks=4,
    sr_ratios=[8, 4, 2, 1],
    patch_sizes=[7, 3, 3, 3],
    strides=[4, 2, 2, 2],
    mlp_ratios=[4, 4, 4, 4],
    hidden_act='gelu',
    hidden_dropout_prob=0.0,
    attention_probs_dropout_prob=0.0,
    classifier_dropout_prob=0.0,
    drop_path_rate=0.0,
)

MIT_WIDE = [64, 128, 320, 512]  # hidden sizes of B1..B5


def _variant(name, seed, hw, depths, hidden_sizes, decoder_hidden_size, num_labels=19,
             heads=(1, 2, 5, 8), external=True):
    return dict(
        name=f'segformer_{name}',
        seed=seed,
        hw=hw,
        external=external,
        config=dict(
            **SEGFORMER_COMMON,
            depths=list(depths),
            hidden_sizes=list(hidden_sizes),
            num_attention_heads=list(heads),
            decoder_hidden_size=decoder_hidden_size,
            num_labels=num_labels,
        ),
    )


# Seeds and configs of tiny, b0 and b2 are those of the committed/recorded exports: keep them.
VARIANTS = {
    "tiny": _variant("tiny", 1001, (128, 128), [1, 1, 1, 1], [16, 32, 40, 64], 32,
                     heads=(1, 1, 2, 2), external=False),
    "b0": _variant("b0", 1002, (512, 512), [2, 2, 2, 2], [32, 64, 160, 256], 256),
    "b1": _variant("b1", 1004, (512, 512), [2, 2, 2, 2], MIT_WIDE, 256),
    # 19 labels like the rest (issue 3); the CPU record bench/results/2026-11-21-segformer-b2-cpu.md
    # was taken with a 150-label head before this.
    "b2": _variant("b2", 1003, (1024, 1024), [3, 4, 6, 3], MIT_WIDE, 768),
    "b3": _variant("b3", 1005, (1024, 1024), [3, 4, 18, 3], MIT_WIDE, 768),
    "b4": _variant("b4", 1006, (1024, 1024), [3, 8, 27, 3], MIT_WIDE, 768),
    "b5": _variant("b5", 1007, (1024, 1024), [3, 6, 40, 3], MIT_WIDE, 768),
}

DYNAMIC_AXES = {
    "pixel_values": {0: "batch", 2: "height", 3: "width"},
    "logits": {0: "batch", 2: "logits_height", 3: "logits_width"},
}


def parse_hw(s):
    """'1024x768' -> (1024, 768)."""
    try:
        h, w = (int(x) for x in s.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected HxW (e.g. 1024x1024), got {s!r}")
    if h < 32 or w < 32:
        raise argparse.ArgumentTypeError(f"H and W must be >= 32, got {s!r}")
    return h, w


def positive_int(s):
    n = int(s)
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {s!r}")
    return n


def build_model(variant, attn="eager"):
    """The variant's model on the CPU, fp32, eval, with its random weights (seeded; the same
    bytes whatever attn is). attn: 'eager' (what the exporter traces), None (transformers'
    default) or another attention implementation name. Returns (torch, model, config, changed)."""
    v = VARIANTS[variant]
    torch = kc.setup_torch(v["seed"])
    from transformers import SegformerConfig, SegformerForSemanticSegmentation

    cfg = SegformerConfig(**v["config"])
    if attn == "eager":
        kc.force_eager_attention(cfg)
    model = SegformerForSemanticSegmentation(cfg)
    if attn == "eager":
        kc.set_model_eager(model)
    elif attn is not None:
        model.set_attn_implementation(attn)
    model.eval()
    changed = kc.randomize_trivial_params(model, v["seed"] + 1)
    return torch, model, cfg, changed


@contextlib.contextmanager
def export_dynamic_axes(torch, axes):
    """kiln_export_common exports static shapes; hand dynamic_axes to its torch.onnx.export calls."""
    orig = torch.onnx.export

    def export(*args, **kwargs):
        kwargs.setdefault("dynamic_axes", axes)
        return orig(*args, **kwargs)

    torch.onnx.export = export
    try:
        yield
    finally:
        torch.onnx.export = orig


def check_dynamic(torch, model, out_dir, batch, hw):
    """The file must have symbolic dims and give PyTorch's answer at a shape it was not traced at."""
    import numpy as np
    import onnxruntime as ort

    meta_path = os.path.join(out_dir, "meta.json")
    with open(meta_path) as f:
        meta = json.load(f)
    for name, axes in DYNAMIC_AXES.items():
        dims = (meta["onnx_graph_inputs"] | meta["onnx_graph_outputs"])[name]
        if not all(isinstance(dims[i], str) for i in axes):
            raise RuntimeError(f"--dynamic: {name} has dims {dims}, expected symbolic {sorted(axes)}")
    shape = (1 if batch > 1 else 2, 3, max(64, hw[0] // 2), hw[1] // 2 + 32)
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        ref = model(pixel_values=x).logits.numpy()
    sess = ort.InferenceSession(os.path.join(out_dir, "model.onnx"), providers=["CPUExecutionProvider"])
    (out,) = sess.run(["logits"], {"pixel_values": x.numpy()})
    rel = kc.rel_l2(out, ref) if out.shape == ref.shape else float("inf")
    kc.log(f"--dynamic: onnxruntime at {list(shape)} -> {list(out.shape)}, rel-L2 vs torch {rel:.3g}")
    meta["dynamic_check"] = {"shape": list(shape), "output_shape": list(out.shape), "onnxruntime_rel_l2": rel}
    with open(meta_path, "w") as f:
        json.dump(meta, f, indent=1, default=str)
        f.write("\n")
    if not np.isfinite(rel) or rel > 1e-4:
        raise RuntimeError(f"--dynamic: onnxruntime at {list(shape)} disagrees with torch (rel-L2 {rel})")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--variant", choices=sorted(VARIANTS), required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--batch", type=positive_int, default=1, help="input batch (default 1)")
    ap.add_argument("--hw", type=parse_hw, default=None, help="input HxW (default: the variant's)")
    ap.add_argument("--dynamic", action="store_true", help="symbolic batch/height/width on pixel_values and logits")
    a = ap.parse_args()
    v = VARIANTS[a.variant]
    hw = a.hw or v["hw"]

    torch, model, cfg, changed = build_model(a.variant)
    import transformers

    kc.log(f"{v['name']}: randomized {changed}")

    g = torch.Generator().manual_seed(v["seed"] + 2)
    inputs = collections.OrderedDict(pixel_values=torch.randn(a.batch, 3, *hw, generator=g))
    extra = {"randomized_trivial_params": changed}
    if a.dynamic:
        extra["dynamic_axes"] = {k: {str(i): d for i, d in ax.items()} for k, ax in DYNAMIC_AXES.items()}
    with export_dynamic_axes(torch, DYNAMIC_AXES) if a.dynamic else contextlib.nullcontext():
        kc.export_and_check(
            name=v["name"],
            model=model,
            inputs=inputs,
            output_names=["logits"],
            out_dir=a.out,
            source=f"transformers {transformers.__version__} SegformerForSemanticSegmentation",
            config_dict=kc.config_to_dict(cfg),
            external_data=v["external"],
            seed=v["seed"],
            extra_meta=extra,
        )
    if a.dynamic:
        check_dynamic(torch, model, a.out, a.batch, hw)


if __name__ == "__main__":
    kc.main_guard(main)
