#!/usr/bin/env python3
"""One line per run: its GPU time (a kiln bench --json file) and every output's rel L2 against
its golden, whether it is finite and, for outputs with classes on the last axis, argmax agreement.

    python3 tests/gpu/compare_outputs.py GOLDEN_DIR OUT_DIR BENCH_JSON LABEL
"""
import json
import os
import sys

import numpy as np


def main():
    gold, got, bench, label = sys.argv[1:5]
    parts = []
    for f in sorted(os.listdir(gold)):
        if not f.endswith(".npy") or not os.path.exists(os.path.join(got, f)):
            continue
        b = np.load(os.path.join(gold, f)).astype(np.float64)
        a = np.load(os.path.join(got, f)).astype(np.float64)
        if a.shape != b.shape:
            parts.append(f"{f[:-4]} shape {list(a.shape)} != golden {list(b.shape)}")
            continue
        rel = float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-300))
        part = f"{f[:-4]} rel L2 {rel:.3g}, finite {bool(np.isfinite(a).all())}"
        if b.ndim >= 2 and b.shape[-1] > 1:
            part += f", argmax(last axis) agreement {100 * float((a.argmax(-1) == b.argmax(-1)).mean()):.3f}%"
        parts.append(part)
    try:
        row = json.load(open(bench))["rows"][0]
        t = f"GPU median {row['gpu_ms']['median']:.3f} ms (p90 {row['gpu_ms']['p90']:.3f})"
    except Exception as e:
        t = f"no timing ({e})"
    print(f"{label}: {t}; " + "; ".join(parts))


if __name__ == "__main__":
    main()
