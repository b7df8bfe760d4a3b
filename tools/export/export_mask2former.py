#!/usr/bin/env python3
"""Export a tiny Mask2Former (transformers Mask2FormerForUniversalSegmentation) with random weights.

Same code paths as Mask2Former Swin-T: Swin backbone with (shifted, padded) window attention,
MSDeformAttn pixel decoder (pure-PyTorch path: grid_sample per level), masked-attention
transformer decoder. Small widths, few layers, few queries; input 1x3x128x128.

  python3 export_mask2former.py --out DIR
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    a = ap.parse_args()

    torch = kc.setup_torch(SEED)
    import transformers
    from transformers import Mask2FormerConfig, Mask2FormerForUniversalSegmentation, SwinConfig

    swin = SwinConfig(**SWIN)
    kw = dict(M2F)
    try:
        cfg = Mask2FormerConfig(backbone_config=swin, use_pretrained_backbone=False, **kw)
    except TypeError as e:
        kc.log(f"Mask2FormerConfig rejected use_pretrained_backbone ({e}); retrying without")
        cfg = Mask2FormerConfig(backbone_config=swin, **kw)
    kc.force_eager_attention(cfg)
    model = Mask2FormerForUniversalSegmentation(cfg)
    kc.set_model_eager(model)
    model.eval()
    changed = kc.randomize_trivial_params(model, SEED + 1)
    kc.log(f"{NAME}: randomized {changed}")
    patched = kc.patch_mask_helpers([
        "transformers.models.mask2former.modeling_mask2former",
        "transformers.models.swin.modeling_swin",
    ])
    if patched:
        kc.log(f"{NAME}: patched create_bidirectional_mask in {patched}")

    g = torch.Generator().manual_seed(SEED + 2)
    inputs = collections.OrderedDict(pixel_values=torch.randn(1, 3, HW[0], HW[1], generator=g))
    kc.export_and_check(
        name=NAME,
        model=model,
        inputs=inputs,
        output_names=["class_queries_logits", "masks_queries_logits"],
        out_dir=a.out,
        source=f"transformers {transformers.__version__} Mask2FormerForUniversalSegmentation (Swin backbone)",
        config_dict=kc.config_to_dict(cfg),
        external_data=False,
        seed=SEED,
        extra_meta={"randomized_trivial_params": changed, "patched_mask_helpers": patched},
    )


if __name__ == "__main__":
    kc.main_guard(main)
