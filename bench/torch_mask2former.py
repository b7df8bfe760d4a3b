#!/usr/bin/env python3
"""PyTorch peers for a Mask2Former benchmark on the GPU (protocol: ../../shared/BENCH.md).

  python3 bench/torch_mask2former.py --variant swin-t --hw 800x1216 --out FILE.json [--no-compile]
                                     [--attn sdpa|eager]

The exporter's model (tools/export/export_mask2former.py: transformers
Mask2FormerForUniversalSegmentation, same config, seeds and random weights) on the exporter's
input, timed as eager fp32 (TF32 off; the reference), eager fp16 and torch.compile fp16
(default mode), both through torch.autocast(float16). GPU ms: CUDA events around the forward,
synchronized before each iteration, median/p90 of --iterations after --warmup. Accuracy of the
fp16 peers against fp32: rel L2 of both outputs, NaN/Inf.
--attn: the attention implementation the peers run (default sdpa, PyTorch's fused attention where
transformers offers it; the exporter builds the model with eager attention for the trace). What
the model ended up with is recorded as attn_implementation.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools", "export"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_timing  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--variant", default="swin-t")
    ap.add_argument("--hw", default="800x1216")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--iterations", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--no-compile", action="store_true")
    ap.add_argument("--attn", choices=["sdpa", "eager"], default="sdpa")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    import export_mask2former as em
    import kiln_export_common as kc

    torch = kc.setup_torch(em.SEED)
    hw = tuple(int(v) for v in a.hw.split("x"))
    _, model, _, _ = em.build_model(torch, a.variant, hw)
    x = em.make_inputs(torch, hw, a.batch)["pixel_values"].cuda()
    attn = "eager"
    if a.attn != "eager":
        try:
            model.set_attn_implementation(a.attn)
            attn = getattr(model.config, "_attn_implementation", a.attn)
        except Exception as e:  # a model without that path keeps eager, and the report says so
            attn = f"eager ({a.attn} refused: {str(e)[:200]})"
    model = model.cuda().eval()

    def outputs(out):
        return out.class_queries_logits.float(), out.masks_queries_logits.float()

    def timed(fn):
        return torch_timing.timed(torch, fn, a.warmup, a.iterations)

    rel = torch_timing.rel_l2

    report = {"gpu": torch.cuda.get_device_name(), "torch": torch.__version__, "variant": a.variant, "hw": a.hw,
              "batch": a.batch, "attn_implementation": attn, "peers": {}}
    with torch.no_grad():
        ref = outputs(model(pixel_values=x))
    report["peers"]["eager fp32"] = {"gpu_ms": timed(lambda: model(pixel_values=x))}

    def accuracy(out):
        got = outputs(out)
        return {"rel_l2_class": rel(got[0], ref[0]), "rel_l2_masks": rel(got[1], ref[1]),
                "finite": bool(all(torch.isfinite(t).all() for t in got))}

    peers = torch_timing.fp16_peers(torch, model, lambda m: m(pixel_values=x), a.no_compile)
    torch_timing.measure_peers(torch, report, peers, timed, accuracy)
    torch_timing.write_report(report, a.out)


if __name__ == "__main__":
    main()
