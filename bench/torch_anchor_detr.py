#!/usr/bin/env python3
"""PyTorch peers for an AnchorDETR benchmark on the GPU (protocol: ../../shared/BENCH.md).

  python3 bench/torch_anchor_detr.py --hw 800x1216 --out FILE.json [--no-compile]

The project's own definition (tools/export/anchor_detr.py) with the exporter's weights (same
config and seed as export_anchor_detr.py), on the exporter's input (a padded random image and its
mask, the same seed), timed as: eager fp32 (TF32 off; the reference), eager fp16 and torch.compile fp16 (default mode), both through
torch.autocast(float16). GPU ms: CUDA events around the forward, synchronized before each
iteration, median/p90 of --iterations after --warmup. Accuracy of fp16 peers against fp32: rel
L2 of logits and boxes, NaN/Inf.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools", "export"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_timing  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hw", default="800x1216")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--iterations", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--no-compile", action="store_true")
    ap.add_argument("--out", required=True)
    ap.add_argument("--save-outputs", metavar="DIR",
                    help="also write DIR/fp32 and DIR/fp16 (eager autocast) pred_logits.npy / pred_boxes.npy")
    a = ap.parse_args()
    import torch
    import export_anchor_detr as ead

    h, w = (int(v) for v in a.hw.split("x"))
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    _, model, _ = ead.build_model(torch, "full", ead.SEED)
    inputs = ead.make_inputs(torch, h, w, a.batch, None, ead.SEED + 2)  # the exporter's (its golden input)
    image, mask = inputs["image"].cuda(), inputs["padding_mask"].cuda()
    model = model.cuda().eval()

    def timed(fn):
        return torch_timing.timed(torch, fn, a.warmup, a.iterations)

    rel = torch_timing.rel_l2

    report = {"gpu": torch.cuda.get_device_name(), "torch": torch.__version__, "hw": a.hw, "batch": a.batch, "peers": {}}
    with torch.no_grad():
        ref_logits, ref_boxes = (t.float() for t in model(image, mask))
    report["peers"]["eager fp32"] = {"gpu_ms": timed(lambda: model(image, mask))}
    # fp16 through autocast: the model builds float32 position embeddings from the mask at run
    # time, which model.half() leaves to meet fp16 weights.
    def accuracy(out):
        logits, boxes = (t.float() for t in out)
        return {"rel_l2_logits": rel(logits, ref_logits), "rel_l2_boxes": rel(boxes, ref_boxes),
                "finite": bool(torch.isfinite(logits).all() and torch.isfinite(boxes).all())}

    peers = torch_timing.fp16_peers(torch, model, lambda m: m(image, mask), a.no_compile)
    torch_timing.measure_peers(torch, report, peers, timed, accuracy)
    torch_timing.write_report(report, a.out)
    if a.save_outputs:  # PyTorch's own fp16 against its fp32, for tests/gpu/detection_agreement.py
        import numpy as np

        with torch.no_grad():
            fp16 = peers[0][1]()
        for sub, (logits, boxes) in (("fp32", (ref_logits, ref_boxes)), ("fp16", fp16)):
            os.makedirs(os.path.join(a.save_outputs, sub), exist_ok=True)
            np.save(os.path.join(a.save_outputs, sub, "pred_logits.npy"), logits.float().cpu().numpy())
            np.save(os.path.join(a.save_outputs, sub, "pred_boxes.npy"), boxes.float().cpu().numpy())


if __name__ == "__main__":
    main()
