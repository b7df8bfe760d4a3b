#!/usr/bin/env python3
"""PyTorch peers for a SegFormer benchmark, on the GPU (protocol: ../../shared/BENCH.md).

  python3 bench/torch_segformer.py --variant b2 --batch 8 --hw 1024x1024 --out-dir DIR

Builds the same model as tools/export/export_segformer.py (same config and seed, random
weights) and runs, one after the other on one fresh random input (torch.randn, --seed):

  torch eager fp32     TF32 off; its output is the accuracy reference
  torch eager fp16     model.half()
  torch.compile fp16   default mode (skipped with --no-compile)

For each: GPU ms (CUDA events around the forward only, synchronized before each iteration;
median/p90/p99 after --warmup), end-to-end ms (pageable host fp32 tensor -> .cuda() -> .to(dtype)
-> forward -> .float() -> .cpu()), peak activation bytes (max_memory_allocated during one
forward minus what was allocated before it: weights, input, the kept reference), and accuracy
against the fp32 output (rel L2, max abs, label agreement over channel axis 1, NaN/Inf).

Writes into --out-dir: NAME.input.npy (float32 NCHW: feed it to kiln bench), NAME.ref.npz (key
"logits", the fp32 reference), NAME.torch.json (or --json-out); NAME =
segformer_<variant>_<B>x3x<H>x<W>. Exit 1 if the reference fails, 3 if another peer fails (the
JSON is written either way, the failed peer with "error").
"""

import argparse
import datetime
import json
import os
import platform
import sys
import time
import traceback

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools", "export"))
import export_segformer as es  # noqa: E402
import kiln_export_common as kc  # noqa: E402


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--variant", choices=sorted(es.VARIANTS), default="b2")
    ap.add_argument("--batch", type=es.positive_int, default=1)
    ap.add_argument("--hw", type=es.parse_hw, default=None, help="HxW (default: the variant's)")
    ap.add_argument("--iterations", type=es.positive_int, default=50, help="timed iterations (>= 30 for a result)")
    ap.add_argument("--warmup", type=int, default=10, help="untimed iterations first (>= 10 for a result)")
    ap.add_argument("--no-compile", action="store_true", help="skip torch.compile fp16")
    ap.add_argument("--seed", type=int, default=20261122, help="seed of the random input")
    ap.add_argument("--attn", default="default",
                    help="attention implementation: default (transformers' choice), eager (as exported), sdpa")
    ap.add_argument("--no-cudnn-benchmark", action="store_true",
                    help="leave torch.backends.cudnn.benchmark off (default: on, each peer at its best)")
    ap.add_argument("--out-dir", default=".")
    ap.add_argument("--json-out", default=None, help="default: OUT_DIR/NAME.torch.json")
    return ap.parse_args(argv)


def summarize_ms(ms):
    import numpy as np

    a = np.asarray(ms, dtype=np.float64)
    return {"median": float(np.median(a)), "p90": float(np.percentile(a, 90)),
            "p99": float(np.percentile(a, 99)), "mean": float(a.mean()), "min": float(a.min()),
            "max": float(a.max()), "n": int(a.size)}


def accuracy(torch, out, ref):
    """out vs ref (both [B, C, H, W] on the GPU), in float64."""
    finite = bool(torch.isfinite(out).all())
    o, r = out.double(), ref.double()
    diff = o - r
    rel = (diff.norm() / r.norm()).item()
    max_abs = diff.abs().max().item()
    agree = (out.float().argmax(1) == ref.argmax(1)).double().mean().item()
    del o, r, diff
    return {"output": "logits", "max_abs": max_abs, "rel_l2": rel, "label_agreement": agree,
            "finite": finite, "good": finite}


def measure(torch, fn, x_host, dtype, warmup, iterations):
    """Time fn on the GPU; returns (figures, output of one forward on the device)."""
    dev = torch.device("cuda")
    x = x_host.to(dev).to(dtype)
    r = {}
    with torch.no_grad():
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn(x)
        torch.cuda.synchronize()
        r["first_call_s"] = time.perf_counter() - t0  # includes compilation for torch.compile
        for _ in range(warmup):
            fn(x)
        torch.cuda.synchronize()

        torch.cuda.empty_cache()
        before = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        out = fn(x)
        torch.cuda.synchronize()
        r["peak_activation_bytes"] = int(torch.cuda.max_memory_allocated() - before)
        r["memory_before_forward_bytes"] = int(before)

        gpu = []
        for _ in range(iterations):
            start = torch.cuda.Event(enable_timing=True)
            end = torch.cuda.Event(enable_timing=True)
            torch.cuda.synchronize()
            start.record()
            y = fn(x)
            end.record()
            end.synchronize()
            gpu.append(start.elapsed_time(end))
            del y
        r["gpu_ms"] = summarize_ms(gpu)

        e2e = []
        for _ in range(iterations):
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            y = fn(x_host.to(dev).to(dtype)).float().cpu()
            e2e.append((time.perf_counter() - t0) * 1e3)
            del y
        r["e2e_ms"] = summarize_ms(e2e)
    batch = x_host.shape[0]
    r["throughput_img_s"] = batch * 1e3 / r["gpu_ms"]["median"]
    return r, out


def main():
    a = parse_args()
    import numpy as np

    v = es.VARIANTS[a.variant]
    h, w = a.hw or v["hw"]
    name = f"segformer_{a.variant}_{a.batch}x3x{h}x{w}"
    os.makedirs(a.out_dir, exist_ok=True)
    input_path = os.path.join(a.out_dir, f"{name}.input.npy")
    ref_path = os.path.join(a.out_dir, f"{name}.ref.npz")
    json_path = a.json_out or os.path.join(a.out_dir, f"{name}.torch.json")

    torch, model, cfg, changed = es.build_model(a.variant, attn=None if a.attn == "default" else a.attn)
    import transformers

    if not torch.cuda.is_available():
        raise SystemExit("torch_segformer: no CUDA device")
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.benchmark = not a.no_cudnn_benchmark

    x_host = torch.randn(a.batch, 3, h, w, generator=torch.Generator().manual_seed(a.seed))
    np.save(input_path, x_host.numpy())

    class Logits(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, x):
            return self.m(pixel_values=x).logits

    fn = Logits(model).eval().cuda()
    res = {
        "tool": "torch_segformer",
        "model": v["name"],
        "variant": a.variant,
        "batch": a.batch,
        "hw": [h, w],
        "input_shape": [a.batch, 3, h, w],
        "num_labels": cfg.num_labels,
        "parameters": int(sum(p.numel() for p in model.parameters())),
        "model_seed": v["seed"],
        "input_seed": a.seed,
        "input": os.path.abspath(input_path),
        "reference": os.path.abspath(ref_path),
        "reference_key": "logits",
        "iterations": a.iterations,
        "warmup": a.warmup,
        "protocol_ok": a.iterations >= 30 and a.warmup >= 10,
        "attn_implementation": getattr(cfg, "_attn_implementation", None),
        "cudnn_benchmark": torch.backends.cudnn.benchmark,
        "e2e_definition": "pageable host fp32 -> .cuda() -> .to(dtype) -> forward -> .float() -> .cpu()",
        "gpu": torch.cuda.get_device_name(0),
        "versions": {"python": platform.python_version(), "torch": torch.__version__,
                     "transformers": transformers.__version__, "cuda": torch.version.cuda,
                     "cudnn": torch.backends.cudnn.version(), "numpy": np.__version__},
        "created_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "peers": [],
    }

    def write():
        with open(json_path, "w") as f:
            json.dump(res, f, indent=1)
            f.write("\n")

    peers = [("torch eager fp32", "fp32", False, torch.float32),
             ("torch eager fp16", "fp16", False, torch.float16)]
    if not a.no_compile:
        peers.append(("torch.compile fp16", "fp16", True, torch.float16))
    ref = None
    failed = []
    for peer, precision, compiled, dtype in peers:
        p = {"peer": peer, "precision": precision, "compile": "default" if compiled else None}
        res["peers"].append(p)
        kc.log(f"{name}: {peer} ...")
        try:
            fn.to(dtype)
            run = torch.compile(fn) if compiled else fn
            figures, out = measure(torch, run, x_host, dtype, a.warmup, a.iterations)
            p.update(figures)
            if ref is None:  # the fp32 peer comes first: it is the reference
                if not bool(torch.isfinite(out).all()):
                    raise RuntimeError("fp32 reference output has NaN/Inf")
                ref = out.float()
                np.savez(ref_path, logits=ref.cpu().numpy())
                p["reference"] = True
                p["output_shape"] = list(ref.shape)
            p["accuracy"] = accuracy(torch, out, ref)
            del out
            g, acc = p["gpu_ms"], p["accuracy"]
            kc.log(f"{name}: {peer}: gpu median {g['median']:.3f} ms p90 {g['p90']:.3f} p99 {g['p99']:.3f}, "
                   f"e2e median {p['e2e_ms']['median']:.3f} ms, {p['throughput_img_s']:.2f} img/s, "
                   f"peak activation {p['peak_activation_bytes'] / 2**20:.1f} MiB, first call {p['first_call_s']:.1f} s, "
                   f"rel L2 {acc['rel_l2']:.3g} max abs {acc['max_abs']:.3g} labels {acc['label_agreement']:.6f} "
                   f"finite {acc['finite']}")
        except Exception as e:
            traceback.print_exc()
            p["error"] = f"{type(e).__name__}: {str(e)[:1000]}"
            failed.append(peer)
            kc.log(f"{name}: {peer} FAILED: {p['error']}")
            if ref is None:
                write()
                sys.exit(1)
        finally:
            torch.cuda.empty_cache()
        write()
    kc.log(f"{name}: wrote {json_path}, {input_path}, {ref_path}")
    if failed:
        kc.log(f"{name}: FAILED peers: {failed}")
        sys.exit(3)


if __name__ == "__main__":
    main()
