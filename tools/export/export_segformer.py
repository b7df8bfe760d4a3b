#!/usr/bin/env python3
"""Export SegFormer (transformers SegformerForSemanticSegmentation) with random weights.

  python3 export_segformer.py --variant tiny --out DIR   # small widths, 1x3x128x128
  python3 export_segformer.py --variant b2   --out DIR   # real B2 config, 1x3x1024x1024 (not committed)
  python3 export_segformer.py --variant b0   --out DIR   # real B0 config, 1x3x512x512,
                                                         # weights as external data files
"""

import argparse
import collections
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

VARIANTS = {
    "tiny": dict(
        name='segformer_tiny',
        seed=1001,
        hw=(128, 128),
        external=False,
        config=dict(
            **SEGFORMER_COMMON,
            depths=[1, 1, 1, 1],
            hidden_sizes=[16, 32, 40, 64],
            num_attention_heads=[1, 1, 2, 2],
            decoder_hidden_size=32,
            num_labels=19,
        ),
    ),
    "b0": dict(
        name='segformer_b0',
        seed=1002,
        hw=(512, 512),
        external=True,
        config=dict(
            **SEGFORMER_COMMON,
            depths=[2, 2, 2, 2],
            hidden_sizes=[32, 64, 160, 256],
            num_attention_heads=[1, 2, 5, 8],
            decoder_hidden_size=256,
            num_labels=19,
        ),
    ),
    # Not committed (~110 MB): exported on the GPU machine to check folding and parity at
    # the seeds' benchmark shape.
    "b2": dict(
        name='segformer_b2',
        seed=1003,
        hw=(1024, 1024),
        external=True,
        config=dict(
            **SEGFORMER_COMMON,
            depths=[3, 4, 6, 3],
            hidden_sizes=[64, 128, 320, 512],
            num_attention_heads=[1, 2, 5, 8],
            decoder_hidden_size=768,
            num_labels=150,
        ),
    ),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--variant", choices=sorted(VARIANTS), required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    v = VARIANTS[a.variant]

    torch = kc.setup_torch(v["seed"])
    import transformers
    from transformers import SegformerConfig, SegformerForSemanticSegmentation

    cfg = SegformerConfig(**v["config"])
    kc.force_eager_attention(cfg)
    model = SegformerForSemanticSegmentation(cfg)
    kc.set_model_eager(model)
    model.eval()
    changed = kc.randomize_trivial_params(model, v["seed"] + 1)
    kc.log(f"{v['name']}: randomized {changed}")

    g = torch.Generator().manual_seed(v["seed"] + 2)
    h, w = v["hw"]
    inputs = collections.OrderedDict(pixel_values=torch.randn(1, 3, h, w, generator=g))
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
        extra_meta={"randomized_trivial_params": changed},
    )


if __name__ == "__main__":
    kc.main_guard(main)
