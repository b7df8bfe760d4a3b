#!/usr/bin/env python3
"""Issue 6's fp16 criterion: of the reference's top-k detections (PyTorch fp32), the share that
kiln keeps with the same class, and with boxes within a relative tolerance.

    python3 tests/gpu/detection_agreement.py GOLDEN_DIR KILN_OUT_DIR [--k 100] [--box-rtol 1e-2]

Both directories hold pred_logits.npy [B, Q, C] and pred_boxes.npy [B, Q, 4] (cx, cy, w, h).
Detections are the DETR-family PostProcess: top-k of sigmoid(logits) over queries x classes.
A reference detection (query q, class c) is kept when (q, c) is among kiln's top-k; its box is
within tolerance when |b_kiln - b_ref| / |b_ref| <= box-rtol (L2 over the four numbers).
Reference detections whose score lies within --near of the k-th score are counted apart: they
may leave the top-k under any rounding. Prints one JSON line and PASS/FAIL (>= 99% kept and
boxed, ties excluded); exits 1 on FAIL.
"""
import argparse
import json
import os
import sys

import numpy as np


def topk(logits, k):
    scores = 1.0 / (1.0 + np.exp(-logits.astype(np.float64).reshape(-1)))
    order = np.argsort(-scores, kind="stable")[:k]
    return order, scores


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("golden")
    ap.add_argument("kiln")
    ap.add_argument("--k", type=int, default=100)
    ap.add_argument("--box-rtol", type=float, default=1e-2)
    ap.add_argument("--near", type=float, default=1e-4)
    ap.add_argument("--need", type=float, default=0.99)
    a = ap.parse_args()
    load = lambda d, n: np.load(os.path.join(d, n + ".npy"))
    ref_l, ref_b = load(a.golden, "pred_logits"), load(a.golden, "pred_boxes")
    got_l, got_b = load(a.kiln, "pred_logits"), load(a.kiln, "pred_boxes")
    assert ref_l.shape == got_l.shape and ref_b.shape == got_b.shape, (ref_l.shape, got_l.shape)
    B, Q, C = ref_l.shape
    total = kept = boxed = near = near_kept = 0
    worst_box = 0.0
    for b in range(B):
        r_idx, r_scores = topk(ref_l[b], a.k)
        g_idx, _ = topk(got_l[b], a.k)
        kth = r_scores[r_idx[-1]]
        g_set = set(int(i) for i in g_idx)
        for i in r_idx:
            q = int(i) // C
            if r_scores[i] - kth < a.near:
                near += 1
                near_kept += int(i) in g_set
                continue
            total += 1
            if int(i) in g_set:
                kept += 1
                err = np.linalg.norm(got_b[b, q] - ref_b[b, q]) / max(np.linalg.norm(ref_b[b, q]), 1e-12)
                worst_box = max(worst_box, float(err))
                boxed += err <= a.box_rtol
    share_kept = kept / max(total, 1)
    share_boxed = boxed / max(total, 1)
    out = {"images": B, "k": a.k, "compared": total, "near_ties": near, "kept_class": share_kept,
           "box_within": share_boxed, "kept_class_with_ties": (kept + near_kept) / max(total + near, 1), "box_rtol": a.box_rtol, "worst_box_rel": worst_box}
    print(json.dumps(out))
    ok = share_kept >= a.need and share_boxed >= a.need
    print("PASS" if ok else "FAIL")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
