#!/usr/bin/env python3
"""Export AnchorDETR (tools/export/anchor_detr.py) with random weights to ONNX (opset 17), with
dynamic batch, height and width, and write PyTorch fp32 goldens in the reference-model layout
(kiln_export_common.export_and_check).

Inputs: image [B,3,H,W] float32 (0 on padding) and padding_mask [B,H,W] bool (True = padding,
the seed's NestedTensor split in two). Image b is valid on its top-left --valid region; by
default each image of a batch gets a different one so the padding reaches the feature map.
Outputs: pred_logits [B,Q,classes] (sigmoid classes) and pred_boxes [B,Q,4] (cx, cy, w, h).

  python3 export_anchor_detr.py --out DIR                              # full config, 800x800
  python3 export_anchor_detr.py --config tiny --out DIR                # the committed test model
  python3 export_anchor_detr.py --hw 320x320 --batch 2 --also 800x800:1 --out DIR

--also HxW[:B] writes more inputs/goldens from the same weights at other shapes, under
DIR/also/<H>x<W>_b<B>/{inputs,golden}/, to check the dynamic-shape export.
Runs under torch 1.13 (CPU) and torch 2.x; onnxruntime and transformers are optional.
"""

import argparse
import collections
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kiln_export_common as kc  # noqa: E402

SEED = 4001

# Small widths, same code paths: bottleneck ResNet with a dilated last stage (2 blocks there,
# so the dilated 3x3 conv is exercised), GroupNorm projection, RCDA in encoder and decoder.
TINY = dict(
    backbone="small",
    small_planes=[8, 16, 24, 32],
    small_depths=[1, 1, 1, 2],
    small_stem=16,
    d_model=64,
    heads=4,
    encoder_layers=2,
    decoder_layers=2,
    ffn=128,
    num_anchors=16,
    num_patterns=3,
    num_classes=10,
    groupnorm_groups=32,
)
DEFAULT_HW = {"full": (800, 800), "tiny": (128, 160)}


def parse_hw(text: str):
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected HxW, got '{text}'")
    if h < 32 or w < 32:
        raise argparse.ArgumentTypeError(f"image {text} is smaller than 32x32")
    return h, w


def parse_also(text: str):
    hw, _, b = text.partition(":")
    return parse_hw(hw), int(b or 1)


def default_valid(h: int, w: int, b: int):
    """Image b of a batch: bottom/right padding of (b+1)/8 of the height and (b+2)/10 of the
    width (image 0 of 128x160: 112x128), so the padding covers whole feature rows/columns."""
    return h - h * ((b % 4) + 1) // 8, w - w * ((b % 4) + 2) // 10


def make_inputs(torch, h, w, batch, valid, seed):
    g = torch.Generator().manual_seed(seed)
    mask = torch.ones(batch, h, w, dtype=torch.bool)
    for b in range(batch):
        vh, vw = valid[b] if valid else default_valid(h, w, b)
        mask[b, :vh, :vw] = False
    image = torch.randn(batch, 3, h, w, generator=g) * (~mask)[:, None].float()
    return collections.OrderedDict(image=image, padding_mask=mask)


def build_model(torch, cfg_name: str, seed: int):
    import anchor_detr as ad

    cfg = ad.AnchorDetrConfig(**TINY) if cfg_name == "tiny" else ad.AnchorDetrConfig()
    torch.manual_seed(seed)
    model = ad.build(cfg).eval()
    changed = kc.randomize_trivial_params(model, seed + 1)
    # The focal-loss prior (-4.6 on every class bias) would make the logits a large constant
    # plus small noise and hide errors from a relative-L2 check; centre them instead.
    g = torch.Generator().manual_seed(seed + 3)
    with torch.no_grad():
        model.class_head.bias.copy_(torch.randn(model.class_head.bias.shape, generator=g) * 0.1)
    return cfg, model, changed


class NamedOutputs:
    """model(image=..., padding_mask=...) -> {"pred_logits", "pred_boxes"} for OutputPicker."""

    @staticmethod
    def wrap(torch, model):
        class _Named(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.net = model

            def forward(self, image, padding_mask):
                logits, boxes = self.net(image, padding_mask)
                return {"pred_logits": logits, "pred_boxes": boxes}

        return _Named().eval()


def write_also(torch, model, out_dir, hw, batch, seed):
    sub = os.path.join(out_dir, "also", f"{hw[0]}x{hw[1]}_b{batch}")
    inputs = make_inputs(torch, hw[0], hw[1], batch, None, seed)
    with torch.no_grad():
        logits, boxes = model(inputs["image"], inputs["padding_mask"])
    for d in ("inputs", "golden"):
        os.makedirs(os.path.join(sub, d), exist_ok=True)
    for n, t in inputs.items():
        np.save(os.path.join(sub, "inputs", f"{n}.npy"), t.numpy())
    for n, t in (("pred_logits", logits), ("pred_boxes", boxes)):
        np.save(os.path.join(sub, "golden", f"{n}.npy"), t.numpy().astype(np.float32))
    kc.log(f"also {hw[0]}x{hw[1]} batch {batch}: logits {list(logits.shape)} boxes std {float(boxes.std()):.3f}")
    return os.path.relpath(sub, out_dir)


def write_fp16_reference(torch, model, inputs, out_dir):
    """PyTorch's own fp16 (CUDA autocast float16) outputs in out_dir/golden_fp16/: what any fp16
    execution of these weights does to the detections, the yardstick for near-tie scores."""
    d = os.path.join(out_dir, "golden_fp16")
    os.makedirs(d, exist_ok=True)
    model.cuda()
    try:
        with torch.no_grad(), torch.autocast("cuda", dtype=torch.float16):
            logits, boxes = model(inputs["image"].cuda(), inputs["padding_mask"].cuda())
    finally:
        model.cpu()
    for n, t in (("pred_logits", logits), ("pred_boxes", boxes)):
        np.save(os.path.join(d, f"{n}.npy"), t.float().cpu().numpy())
    kc.log(f"fp16 reference: {d}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="output directory")
    ap.add_argument("--config", choices=("full", "tiny"), default="full")
    ap.add_argument("--hw", type=parse_hw, help="export/golden size HxW (default 800x800; tiny 128x160)")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--valid", type=lambda s: [parse_hw(v) for v in s.split(",")],
                    help="per-image valid regions HxW[,HxW...] (default: a different padding per image)")
    ap.add_argument("--also", type=parse_also, action="append", default=[], metavar="HxW[:B]")
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--fp16-reference", action="store_true",
                    help="also write golden_fp16/: the model under CUDA autocast float16 (needs a GPU)")
    a = ap.parse_args()
    h, w = a.hw or DEFAULT_HW[a.config]
    if a.batch < 1:
        ap.error("--batch must be at least 1")
    if a.valid and (len(a.valid) != a.batch or any(vh > h or vw > w for vh, vw in a.valid)):
        ap.error(f"--valid needs {a.batch} regions, each within {h}x{w}")

    torch = kc.setup_torch(a.seed)
    import torchvision

    cfg, model, changed = build_model(torch, a.config, a.seed)
    named = NamedOutputs.wrap(torch, model)
    inputs = make_inputs(torch, h, w, a.batch, a.valid, a.seed + 2)
    name = "anchor_detr_tiny" if a.config == "tiny" else "anchor_detr"
    kc.log(f"{name}: {sum(p.numel() for p in model.parameters())} parameters, input {a.batch}x3x{h}x{w}")
    also = [write_also(torch, model, a.out, hw, b, a.seed + 10 + i) for i, (hw, b) in enumerate(a.also)]
    spatial = {0: "batch", 2: "height", 3: "width"}
    kc.export_and_check(
        name=name,
        model=named,
        inputs=inputs,
        output_names=["pred_logits", "pred_boxes"],
        out_dir=a.out,
        source=f"tools/export/anchor_detr.py (AnchorDETR, arXiv 2109.07107), torchvision {torchvision.__version__}",
        config_dict=cfg.to_dict(),
        external_data=False,
        seed=a.seed,
        dynamic_axes={
            "image": spatial,
            "padding_mask": {0: "batch", 1: "height", 2: "width"},
            "pred_logits": {0: "batch"},
            "pred_boxes": {0: "batch"},
        },
        extra_meta={
            "randomized_trivial_params": changed,
            "class_bias": "N(0, 0.1) instead of the focal prior -4.6 (see build_model)",
            "valid_regions": [list(a.valid[b]) if a.valid else list(default_valid(h, w, b)) for b in range(a.batch)],
            "also": also,
        },
    )
    if a.fp16_reference:
        write_fp16_reference(torch, model, inputs, a.out)


if __name__ == "__main__":
    kc.main_guard(main)
