#!/usr/bin/env python3
"""Issue 6, deliverable 4: a batch of two images of different sizes, each with its padding mask,
gives per image the detections of running that image alone.

    python3 tests/gpu/anchor_detr_batch_check.py --kiln build/kiln --model DIR --out OUT
        [--canvas 800x1216] [--small 608x912] [--precision fp32 fp16]

DIR is an export of tools/export/export_anchor_detr.py (model.onnx with dynamic batch/H/W and
meta.json naming its config and seed). Image 0 fills the canvas; image 1 is --small, padded at the
bottom/right (image 0 on padding, mask True), as DETR batches images.

"Alone" is each image run by itself on the same canvas with its own mask: what a batch must not
change. kiln's batch and alone runs (`kiln run --task detect` on engines built for 2 and 1
images) must give, per image, the same top-100 detections (query, class) with boxes in pixels
of that image's unpadded size within --box-px; detections whose score is within --near of the
100th score may swap places and are counted apart. Also printed, not judged: image 1 run at its
own size without padding, against its padded run, for kiln and for PyTorch: AnchorDETR's
backbone convolutions and its input GroupNorm see the padding (the reference model does too), so
those detections differ by the model's own definition, the same in both.
Prints one JSON line per precision and PASS/FAIL; exits 1 on FAIL.
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools", "export"))


def parse_hw(s):
    h, w = s.lower().split("x")
    return int(h), int(w)


def kiln_detect(kiln, model, device, precision, feeds, work, tag):
    """Builds an engine for the feeds' shapes, runs --task detect; returns (detections, logits, boxes)."""
    d = os.path.join(work, tag)
    os.makedirs(d, exist_ok=True)
    args = []
    for name, arr in feeds.items():
        np.save(os.path.join(d, name + ".npy"), arr)
        args += ["--input", f"{name}={os.path.join(d, name + '.npy')}"]
    shapes = []
    for name, arr in feeds.items():
        shapes += ["--shape", f"{name}={'x'.join(str(x) for x in arr.shape)}"]
    engine = os.path.join(d, "model.kiln")
    subprocess.run([kiln, "build", model, "-o", engine, "--device", device, f"--{precision}"] + shapes,
                   check=True, stdout=subprocess.DEVNULL)
    subprocess.run([kiln, "run", engine, "--device", device, "--task", "detect", "-o", d] + args,
                   check=True, stdout=subprocess.DEVNULL)
    os.remove(engine)
    dets = json.load(open(next(os.path.join(d, f) for f in os.listdir(d) if f.endswith("_detections.json"))))
    return dets, np.load(os.path.join(d, "pred_logits.npy")), np.load(os.path.join(d, "pred_boxes.npy"))


def per_image(dets, b, batched):
    return [x for x in dets if x.get("image", 0) == b] if batched else dets


def agreement(ref, got, near, box_px):
    """Of ref's detections (query, label), the share in got with a box within box_px pixels;
    those within `near` of ref's last score are counted apart (they may swap at the boundary)."""
    kth = min(x["score"] for x in ref)
    by_key = {(x["query"], x["label"]): x for x in got}
    compared = kept = near_n = near_kept = 0
    worst = 0.0
    for x in ref:
        g = by_key.get((x["query"], x["label"]))
        if x["score"] - kth < near:
            near_n += 1
            near_kept += g is not None
            continue
        compared += 1
        if g is None:
            continue
        err = max(abs(a - c) for a, c in zip(g["box"], x["box"]))
        worst = max(worst, err)
        kept += err <= box_px
    return {"compared": compared, "kept": kept / max(compared, 1), "near_ties": near_n,
            "kept_with_ties": (kept + near_kept) / max(compared + near_n, 1), "worst_box_px": worst}


def torch_topk(logits, boxes, vh, vw, k=100):
    """The DETR-family post-processing on PyTorch's outputs, as `kiln run --task detect` writes it."""
    scores = 1 / (1 + np.exp(-logits.astype(np.float64).reshape(-1)))
    order = np.argsort(-scores, kind="stable")[:k]
    C = logits.shape[-1]
    out = []
    for i in order:
        q, c = int(i) // C, int(i) % C
        cx, cy, w, h = boxes[q].astype(np.float64)
        out.append({"query": q, "label": c, "score": float(scores[i]),
                    "box": [(cx - w / 2) * vw, (cy - h / 2) * vh, (cx + w / 2) * vw, (cy + h / 2) * vh]})
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kiln", required=True)
    ap.add_argument("--model", required=True, help="export directory (model.onnx, meta.json)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--canvas", type=parse_hw, default=(800, 1216))
    ap.add_argument("--small", type=parse_hw, default=(608, 912))
    ap.add_argument("--precision", nargs="+", default=["fp32", "fp16"])
    ap.add_argument("--device", default="cuda", help="cuda, or cpu (fp32 only) to try the check itself")
    ap.add_argument("--near", type=float, default=1e-4)
    ap.add_argument("--box-px", type=float, default=0.5)
    a = ap.parse_args()
    import export_anchor_detr as ex
    import torch

    meta = json.load(open(os.path.join(a.model, "meta.json")))
    seed = int(meta["seed"])
    _, model, _ = ex.build_model(torch, "tiny" if meta["model"].endswith("_tiny") else "full", seed)
    (H, W), (h, w) = a.canvas, a.small
    inputs = ex.make_inputs(torch, H, W, 2, [(H, W), (h, w)], seed + 40)
    image, mask = inputs["image"].numpy(), inputs["padding_mask"].numpy()
    alone = [{"image": image[b:b + 1], "padding_mask": mask[b:b + 1]} for b in range(2)]
    native = {"image": np.ascontiguousarray(image[1:2, :, :h, :w]), "padding_mask": np.zeros((1, h, w), bool)}

    with torch.no_grad():
        t_batch = model(inputs["image"], inputs["padding_mask"])
        t_native = model(torch.from_numpy(native["image"]), torch.from_numpy(native["padding_mask"]))
    t_pad1 = torch_topk(t_batch[0][1].numpy(), t_batch[1][1].numpy(), h, w)
    t_nat1 = torch_topk(t_native[0][0].numpy(), t_native[1][0].numpy(), h, w)

    ok = True
    for p in a.precision:
        work = os.path.join(a.out, p)
        kb, kb_l, kb_b = kiln_detect(a.kiln, os.path.join(a.model, "model.onnx"), a.device, p,
                                     {"image": image, "padding_mask": mask}, work, "batch")
        ka = [kiln_detect(a.kiln, os.path.join(a.model, "model.onnx"), a.device, p, alone[b], work, f"alone{b}") for b in range(2)]
        kn = kiln_detect(a.kiln, os.path.join(a.model, "model.onnx"), a.device, p, native, work, "native1")
        res = {"precision": p, "canvas": f"{H}x{W}", "small": f"{h}x{w}"}
        for b in range(2):
            ref = per_image(ka[b][0], 0, False)
            got = per_image(kb, b, True)
            agr = agreement(ref, got, a.near, a.box_px)
            agr["max_abs_logits"] = float(np.abs(kb_l[b] - ka[b][1][0]).max())
            agr["max_abs_boxes"] = float(np.abs(kb_b[b] - ka[b][2][0]).max())
            res[f"image{b}_batch_vs_alone"] = agr
            ok &= agr["kept"] == 1.0 and agr["compared"] > 0
        t_l = t_batch[0].numpy().astype(np.float64)
        res["batch_logits_rel_l2_vs_torch_fp32"] = float(np.linalg.norm(kb_l - t_l) / np.linalg.norm(t_l))
        res["finite"] = bool(np.isfinite(kb_l).all() and np.isfinite(kb_b).all())
        ok &= res["finite"]
        res["image1_native_vs_padded_kiln"] = agreement(per_image(kn[0], 0, False), per_image(kb, 1, True), a.near, a.box_px)
        res["image1_native_vs_padded_torch_fp32"] = agreement(t_nat1, t_pad1, a.near, a.box_px)
        print(json.dumps(res))
    print("PASS" if ok else "FAIL")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
