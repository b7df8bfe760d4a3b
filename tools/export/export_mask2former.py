#!/usr/bin/env python3
"""Export Mask2Former (transformers Mask2FormerForUniversalSegmentation) with random weights.

Variants:
  tiny    (default) the test model of tests/models/mask2former_tiny: the code paths of Swin-T
          (shifted, padded window attention; MSDeformAttn pixel decoder through grid_sample per
          level; masked-attention decoder) at small widths, 1x3x128x128.
  swin-t  the full model: Swin-T backbone (96 channels, depths 2-2-6-2), 256-d pixel decoder of
          6 layers, 9 masked-attention decoder layers, 100 queries, COCO panoptic's 133 classes;
          800x1216 unless --hw says otherwise. Weights go to external files (model.weights.N).
  r50     the same model on a ResNet-50 backbone (seed 004's choice; transformers' ResNetBackbone,
          bottleneck blocks 3-4-6-3, 256..2048 channels).

  python3 export_mask2former.py --out DIR [--variant tiny|swin-t|r50] [--hw HxW] [--batch N]
                                [--dynamic] [--also HxW ...]

--dynamic makes the input's H and W (and the mask logits' H/4, W/4) symbolic; --also HxW writes
more inputs and goldens from the same weights at other sizes, under DIR/also/<H>x<W>_b<B>/, to
check the dynamic export (kiln build --min/--opt/--max, then kiln run at each size).
"""

import argparse
import collections
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kiln_export_common as kc  # noqa: E402

NAME = "mask2former_tiny"
SEED = 2001
HW = (128, 128)

SWIN = dict(
    image_size=HW[0],
    patch_size=4,
    num_channels=3,
    embed_dim=16,
    # stage 4 is 4x4 at 128x128, not larger than a window: no shift there, so one block is
    # enough (keeps model.onnx well under 5 MB)
    depths=[2, 2, 2, 1],
    num_heads=[1, 2, 4, 8],
    window_size=7,
    mlp_ratio=4.0,
    qkv_bias=True,
    hidden_dropout_prob=0.0,
    attention_probs_dropout_prob=0.0,
    drop_path_rate=0.0,
    hidden_act="gelu",
    use_absolute_embeddings=False,
    out_features=["stage1", "stage2", "stage3", "stage4"],
)

M2F = dict(
    feature_size=64,
    mask_feature_size=64,
    hidden_dim=64,
    encoder_feedforward_dim=128,
    activation_function="relu",
    encoder_layers=2,
    decoder_layers=4,  # transformers builds decoder_layers - 1 = 3 masked-attention layers
    num_attention_heads=4,
    dropout=0.0,
    dim_feedforward=128,
    pre_norm=False,
    enforce_input_projection=False,
    common_stride=4,
    num_queries=16,
    num_labels=10,
    feature_strides=[4, 8, 16, 32],
    # transformers 5.17's forward iterates transformer_decoder_intermediate_states, which it only
    # requests when use_auxiliary_loss is on; it does not change the two outputs exported here.
    use_auxiliary_loss=True,
    output_auxiliary_logits=False,
)


# The full model (Mask2Former's Swin-T COCO panoptic configuration).
SWIN_T = dict(SWIN, embed_dim=96, depths=[2, 2, 6, 2], num_heads=[3, 6, 12, 24])
M2F_FULL = dict(
    M2F,
    feature_size=256,
    mask_feature_size=256,
    hidden_dim=256,
    encoder_feedforward_dim=1024,
    encoder_layers=6,
    decoder_layers=10,
    num_attention_heads=8,
    dim_feedforward=2048,
    num_queries=100,
    num_labels=133,
)
# ResNet-50 as transformers' ResNetBackbone defines it (the torchvision layout: 64-wide stem,
# bottlenecks with 4x expansion), feeding the same pixel decoder and transformer decoder.
RESNET_50 = dict(
    num_channels=3,
    embedding_size=64,
    hidden_sizes=[256, 512, 1024, 2048],
    depths=[3, 4, 6, 3],
    layer_type="bottleneck",
    hidden_act="relu",
    downsample_in_first_stage=False,
    out_features=["stage1", "stage2", "stage3", "stage4"],
)
VARIANTS = {
    "tiny": dict(name=NAME, swin=SWIN, m2f=M2F, hw=HW, external_data=False),
    "swin-t": dict(name="mask2former_swin_t", swin=SWIN_T, m2f=M2F_FULL, hw=(800, 1216), external_data=True),
    "r50": dict(name="mask2former_r50", resnet=RESNET_50, m2f=M2F_FULL, hw=(800, 1216), external_data=True),
}


def parse_hw(s):
    try:
        h, w = (int(x) for x in s.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected HxW (e.g. 800x1216), got {s!r}")
    if h < 64 or w < 64:
        raise argparse.ArgumentTypeError(f"H and W must be >= 64, got {s!r}")
    return h, w


def build_model(torch, variant, hw):
    """The variant's model with the exporter's random weights (same seeds): (config, model in
    eval mode, randomized parameter counts, patched mask helpers). bench/torch_mask2former.py
    times this same model."""
    from transformers import Mask2FormerConfig, Mask2FormerForUniversalSegmentation, ResNetConfig, SwinConfig

    v = VARIANTS[variant]
    torch.manual_seed(SEED)
    if "resnet" in v:
        backbone = ResNetConfig(**v["resnet"])
    else:
        backbone = SwinConfig(**dict(v["swin"], image_size=hw[0]))
    kw = dict(v["m2f"])
    try:
        cfg = Mask2FormerConfig(backbone_config=backbone, use_pretrained_backbone=False, **kw)
    except TypeError as e:
        kc.log(f"Mask2FormerConfig rejected use_pretrained_backbone ({e}); retrying without")
        cfg = Mask2FormerConfig(backbone_config=backbone, **kw)
    kc.force_eager_attention(cfg)
    model = Mask2FormerForUniversalSegmentation(cfg)
    kc.set_model_eager(model)
    model.eval()
    changed = kc.randomize_trivial_params(model, SEED + 1)
    kc.log(f"{v['name']}: randomized {changed}")
    patched = kc.patch_mask_helpers([
        "transformers.models.mask2former.modeling_mask2former",
        "transformers.models.swin.modeling_swin",
    ])
    if patched:
        kc.log(f"{v['name']}: patched create_bidirectional_mask in {patched}")
    return cfg, model, changed, patched


def make_inputs(torch, hw, batch, seed=SEED + 2):
    g = torch.Generator().manual_seed(seed)
    return collections.OrderedDict(pixel_values=torch.randn(batch, 3, hw[0], hw[1], generator=g))


OUTPUTS = ["class_queries_logits", "masks_queries_logits"]


def write_fp16_reference(torch, model, pixel_values, out_dir):
    """PyTorch's own fp16 (CUDA autocast float16) outputs in out_dir/golden_fp16/."""
    import numpy as np

    d = os.path.join(out_dir, "golden_fp16")
    os.makedirs(d, exist_ok=True)
    model.cuda()
    try:
        with torch.no_grad(), torch.autocast("cuda", dtype=torch.float16):
            out = model(pixel_values=pixel_values.cuda())
    finally:
        model.cpu()
    for name in OUTPUTS:
        np.save(os.path.join(d, name + ".npy"), getattr(out, name).float().cpu().numpy())
    kc.log(f"wrote {d} (CUDA autocast float16)")


def write_also(torch, model, out_dir, hw, batch, seed, fp16_reference):
    """Inputs and PyTorch fp32 goldens at another size, same weights: DIR/also/<H>x<W>_b<B>/
    (and golden_fp16/ with fp16_reference)."""
    import numpy as np

    sub = os.path.join(out_dir, "also", f"{hw[0]}x{hw[1]}_b{batch}")
    inputs = make_inputs(torch, hw, batch, seed)
    with torch.no_grad():
        out = model(pixel_values=inputs["pixel_values"])
    for d in ("inputs", "golden"):
        os.makedirs(os.path.join(sub, d), exist_ok=True)
    np.save(os.path.join(sub, "inputs", "pixel_values.npy"), inputs["pixel_values"].numpy())
    for name in OUTPUTS:
        np.save(os.path.join(sub, "golden", name + ".npy"), getattr(out, name).float().numpy())
    kc.log(f"also {hw[0]}x{hw[1]} batch {batch}: masks {list(out.masks_queries_logits.shape)}")
    if fp16_reference:
        write_fp16_reference(torch, model, inputs["pixel_values"], sub)
    return os.path.relpath(sub, out_dir)


def check_also_with_onnxruntime(out_dir, also):
    """The dynamic export at the other sizes, in onnxruntime against PyTorch's goldens there: a
    size the trace baked in shows up here, before any kiln build. Exits 1 past 1e-4 rel L2."""
    import json

    import numpy as np
    import onnxruntime as ort

    sess = ort.InferenceSession(os.path.join(out_dir, "model.onnx"), providers=["CPUExecutionProvider"])
    rels = {}
    for sub in also:
        d = os.path.join(out_dir, sub)
        outs = sess.run(OUTPUTS, {"pixel_values": np.load(os.path.join(d, "inputs", "pixel_values.npy"))})
        rel = {}
        for name, o in zip(OUTPUTS, outs):
            g = np.load(os.path.join(d, "golden", name + ".npy"))
            rel[name] = kc.rel_l2(o, g) if o.shape == g.shape else f"shape {list(o.shape)} != {list(g.shape)}"
        rels[sub] = rel
        kc.log(f"onnxruntime at {sub}: rel L2 {rel}")
    with open(os.path.join(out_dir, "also_onnxruntime.json"), "w") as f:
        json.dump(rels, f, indent=1)
    bad = [s for s, r in rels.items() if any(not isinstance(v, float) or not v <= 1e-4 for v in r.values())]
    if bad:
        raise SystemExit(f"export_mask2former: the dynamic export disagrees with PyTorch at {bad} "
                         "(onnxruntime, see also_onnxruntime.json): a size was traced as a constant")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--variant", choices=sorted(VARIANTS), default="tiny")
    ap.add_argument("--hw", type=parse_hw, default=None, help="input HxW (default: the variant's)")
    ap.add_argument("--batch", type=int, default=1, help="input batch (default 1)")
    ap.add_argument("--dynamic", action="store_true", help="symbolic input H and W (and mask logits H/4, W/4)")
    ap.add_argument("--also", type=parse_hw, action="append", default=[], metavar="HxW",
                    help="also write inputs/goldens at this size under DIR/also/ (repeatable; needs --dynamic)")
    ap.add_argument("--fp16-reference", action="store_true",
                    help="also write golden_fp16/: the model under CUDA autocast float16 (needs a GPU), "
                         "what PyTorch's own fp16 does to the outputs")
    a = ap.parse_args()
    v = VARIANTS[a.variant]
    hw = a.hw or v["hw"]
    if a.batch < 1:
        ap.error("--batch must be at least 1")
    if a.also and not a.dynamic:
        ap.error("--also needs --dynamic: a static export runs at its own size only")

    torch = kc.setup_torch(SEED)
    import transformers

    cfg, model, changed, patched = build_model(torch, a.variant, hw)
    inputs = make_inputs(torch, hw, a.batch)
    also = [write_also(torch, model, a.out, s, a.batch, SEED + 10 + i, a.fp16_reference)
            for i, s in enumerate(a.also)]
    dynamic_axes = None
    if a.dynamic:
        dynamic_axes = {"pixel_values": {2: "height", 3: "width"},
                        "masks_queries_logits": {2: "mask_height", 3: "mask_width"}}
    backbone = "ResNet-50" if "resnet" in v else "Swin"
    kc.export_and_check(
        name=v["name"],
        model=model,
        inputs=inputs,
        output_names=OUTPUTS,
        out_dir=a.out,
        source=f"transformers {transformers.__version__} Mask2FormerForUniversalSegmentation ({backbone} backbone)",
        config_dict=kc.config_to_dict(cfg),
        external_data=v["external_data"],
        seed=SEED,
        extra_meta={"randomized_trivial_params": changed, "patched_mask_helpers": patched, "also": also},
        dynamic_axes=dynamic_axes,
    )
    if also:
        check_also_with_onnxruntime(a.out, also)
    if a.fp16_reference:
        write_fp16_reference(torch, model, inputs["pixel_values"], a.out)


if __name__ == "__main__":
    kc.main_guard(main)
