#!/usr/bin/env python3
"""Issue 5's fp16 criterion: semantic label agreement of Mask2Former outputs with PyTorch fp32.

    python3 tests/gpu/mask2former_agreement.py EXPORT_DIR NAME=DIR [NAME=DIR ...]

EXPORT_DIR is an export_mask2former.py output (golden/ holds PyTorch fp32's
class_queries_logits.npy and masks_queries_logits.npy; inputs/pixel_values.npy gives the
size). Each NAME=DIR holds the same two arrays from another run (kiln fp16, PyTorch autocast
fp16, ...). Semantic maps come from transformers' Mask2FormerImageProcessor
(post_process_semantic_segmentation at the input's size) for every batch entry. Prints, per
candidate, the share of pixels whose label equals fp32's, the rel L2 of both outputs, and
whether anything is not finite, one JSON line each.
"""
import json
import os
import sys

import numpy as np
import torch
from transformers import Mask2FormerImageProcessor


class Outputs:
    def __init__(self, d):
        self.class_queries_logits = torch.from_numpy(np.load(os.path.join(d, "class_queries_logits.npy"))).float()
        self.masks_queries_logits = torch.from_numpy(np.load(os.path.join(d, "masks_queries_logits.npy"))).float()


def semantic(proc, out, hw, batch):
    maps = proc.post_process_semantic_segmentation(out, target_sizes=[hw] * batch)
    return np.stack([m.numpy() for m in maps])


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    export = sys.argv[1]
    x = np.load(os.path.join(export, "inputs", "pixel_values.npy"), mmap_mode="r")
    batch, hw = x.shape[0], (x.shape[2], x.shape[3])
    proc = Mask2FormerImageProcessor()
    ref = Outputs(os.path.join(export, "golden"))
    ref_map = semantic(proc, ref, hw, batch)
    for arg in sys.argv[2:]:
        name, d = arg.split("=", 1)
        got = Outputs(d)
        row = {"candidate": name, "size": list(hw), "batch": batch}
        for k in ("class_queries_logits", "masks_queries_logits"):
            a, b = getattr(got, k).numpy(), getattr(ref, k).numpy()
            row[k + "_rel_l2"] = float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-300))
            row[k + "_finite"] = bool(np.isfinite(a).all())
        row["label_agreement"] = float((semantic(proc, got, hw, batch) == ref_map).mean())
        print(json.dumps(row))


if __name__ == "__main__":
    main()
