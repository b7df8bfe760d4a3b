#!/usr/bin/env python3
"""Export a tiny DETR (transformers DetrForObjectDetection) with random weights.

Backbone: a small transformers ResNet (bottleneck blocks, like R50) built from a config, no
downloads (use_timm_backbone=False, use_pretrained_backbone=False). Two inputs: pixel_values
[1,3,128,160] float32 and pixel_mask [1,128,160] int64 (1 = real pixel, 0 = padding; here the
image is 96x128 padded bottom/right, so the padding reaches the stride-32 feature map).
Outputs: logits [1,Q,num_labels+1] and pred_boxes [1,Q,4].

  python3 export_detr.py --out DIR
"""

import argparse
import collections
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kiln_export_common as kc  # noqa: E402

NAME = "detr_tiny"
SEED = 3001
HW = (128, 160)
VALID_HW = (96, 128)

RESNET = dict(
    num_channels=3,
    embedding_size=16,
    hidden_sizes=[32, 64, 96, 128],
    depths=[1, 1, 1, 1],
    layer_type="bottleneck",
    hidden_act="relu",
    downsample_in_first_stage=False,
    out_features=["stage4"],
)

DETR = dict(
    num_channels=3,
    num_queries=16,
    d_model=64,
    encoder_layers=2,
    decoder_layers=2,
    encoder_attention_heads=4,
    decoder_attention_heads=4,
    encoder_ffn_dim=128,
    decoder_ffn_dim=128,
    activation_function="relu",
    dropout=0.0,
    attention_dropout=0.0,
    activation_dropout=0.0,
    auxiliary_loss=False,
    position_embedding_type="sine",
    num_labels=10,
)


def build_config():
    from transformers import DetrConfig, ResNetConfig

    errors = []
    attempts = [
        dict(use_timm_backbone=False, use_pretrained_backbone=False, backbone=None),
        dict(use_timm_backbone=False, use_pretrained_backbone=False),
        dict(use_pretrained_backbone=False, backbone=None),
        dict(),
    ]
    for extra in attempts:
        try:
            cfg = DetrConfig(backbone_config=ResNetConfig(**RESNET), **extra, **DETR)
            return cfg, extra, errors
        except Exception as e:  # API differences between transformers releases
            errors.append(f"{extra}: {e!r}")
            kc.log(f"DetrConfig attempt {extra} failed: {e!r}")
    raise RuntimeError("no DetrConfig variant accepted: " + "; ".join(errors))


def rescale_box_head(torch, model, pixel_values, pixel_mask):
    """With init_std 0.02 the box head's pre-sigmoid output has std ~0.003, so every box is
    ~(0.5, 0.5, 0.5, 0.5) and pred_boxes tests nothing. Scale the last box-MLP layer's weight
    so that W @ h has unit std on this input (bias kept): boxes spread over (0, 1)."""
    head = getattr(model, "bbox_predictor", None)
    last = head.layers[-1] if head is not None and hasattr(head, "layers") else None
    if last is None:
        kc.log("no bbox_predictor.layers found; box head left as initialized")
        return None
    seen = {}
    hook = last.register_forward_hook(lambda m, i, o: seen.__setitem__("o", o.detach()))
    with torch.no_grad():
        model(pixel_values=pixel_values, pixel_mask=pixel_mask)
    hook.remove()
    s = float((seen["o"] - last.bias.detach()).std())
    scale = 1.0 / s
    with torch.no_grad():
        last.weight.mul_(scale)
    return scale


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    a = ap.parse_args()

    torch = kc.setup_torch(SEED)
    import transformers
    from transformers import DetrForObjectDetection

    cfg, extra, errors = build_config()
    kc.force_eager_attention(cfg)
    model = DetrForObjectDetection(cfg)
    kc.set_model_eager(model)
    model.eval()
    changed = kc.randomize_trivial_params(model, SEED + 1)
    kc.log(f"{NAME}: config extras {extra}; randomized {changed}")
    patched = kc.patch_mask_helpers([
        "transformers.models.detr.modeling_detr",
    ])
    kc.log(f"{NAME}: patched create_bidirectional_mask in {patched}")

    g = torch.Generator().manual_seed(SEED + 2)
    h, w = HW
    vh, vw = VALID_HW
    pixel_mask = torch.zeros(1, h, w, dtype=torch.int64)
    pixel_mask[:, :vh, :vw] = 1
    pixel_values = torch.randn(1, 3, h, w, generator=g) * pixel_mask[:, None].float()
    inputs = collections.OrderedDict(pixel_values=pixel_values, pixel_mask=pixel_mask)
    box_scale = rescale_box_head(torch, model, pixel_values, pixel_mask)
    kc.log(f"{NAME}: box head last-layer weight scaled by {box_scale}")
    kc.export_and_check(
        name=NAME,
        model=model,
        inputs=inputs,
        output_names=["logits", "pred_boxes"],
        out_dir=a.out,
        source=f"transformers {transformers.__version__} DetrForObjectDetection (transformers ResNet backbone)",
        config_dict=kc.config_to_dict(cfg),
        external_data=False,
        seed=SEED,
        extra_meta={
            "randomized_trivial_params": changed,
            "patched_mask_helpers": patched,
            "pixel_mask_valid_region": list(VALID_HW),
            "box_head_last_weight_scale": box_scale,
        },
    )


if __name__ == "__main__":
    kc.main_guard(main)
