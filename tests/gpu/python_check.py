#!/usr/bin/env python3
"""The Python module on the GPU machine (issue 10's acceptance), against PyTorch itself.

    PYTHONPATH=OUT python3 tests/gpu/python_check.py RESULTS_DIR [--kiln build/kiln] [--iterations 200]

OUT is where python/build_ext.sh put the package. Builds HF SegFormer-B2 (transformers
SegformerForSemanticSegmentation, the B2 config and seed of tools/export/export_segformer.py,
random weights, eval, eager attention) at 1x3x1024x1024 and:

  1. fp32: kiln.torch.compile(model, (x,), precision="fp32") against the module on the GPU (TF32
     off): relative L2 of the logits <= 1e-4                                   [acceptance]
  2. the other ways in: Engine.run with kiln-allocated DeviceArray outputs (torch.from_dlpack),
     with numpy arrays, and the compiled module on a side stream: the same logits
  3. fp16: label agreement with the module (README's fp16 criterion: >= 99.9%, reported)
  4. speed at batch 1: the compiled callable, torch tensors in and out (CUDA events around each
     call, synchronized, warm-up, median of --iterations), against `kiln bench` on the same engine
     file (the same method in C++: events around each replay): ratio <= 1.05 [acceptance]

Writes RESULTS_DIR/python_check.json and python_check.md; exits 1 if an acceptance line fails.
"""
import argparse
import datetime
import json
import os
import pathlib
import statistics
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools" / "export"))

import numpy as np  # noqa: E402

import kiln  # noqa: E402


def rel_l2(a, b):
    a = a.double().flatten()
    b = b.double().flatten()
    return float((a - b).norm() / b.norm().clamp_min(1e-30))


def time_calls(torch, fn, iterations, warmup):
    """Median and p90 ms of fn() with CUDA events around each call (synchronized, as kiln bench)."""
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    ms = []
    for _ in range(iterations):
        start.record()
        fn()
        stop.record()
        stop.synchronize()
        ms.append(start.elapsed_time(stop))
    return ms


def time_pipelined(torch, fn, iterations):
    """Mean ms per call of back-to-back calls (no host wait between them: launch overhead hidden)."""
    torch.cuda.synchronize()
    start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(iterations):
        fn()
    stop.record()
    stop.synchronize()
    return start.elapsed_time(stop) / iterations


def summary(ms):
    s = sorted(ms)
    return {"median": statistics.median(s), "p90": s[int(0.9 * (len(s) - 1))], "min": s[0], "n": len(s)}


def cli_bench(kiln_bin, engine_path, iterations, warmup):
    p = subprocess.run([kiln_bin, "bench", engine_path, "--batch", "1", "--iterations", str(iterations),
                        "--warmup", str(warmup), "--json"], capture_output=True, text=True, timeout=1200)
    if p.returncode != 0:
        raise RuntimeError(f"kiln bench failed ({p.returncode}): {p.stderr.strip()}")
    return json.loads(p.stdout)["rows"][0]["gpu_ms"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results", help="directory for python_check.json and python_check.md")
    ap.add_argument("--kiln", default=str(ROOT / "build" / "kiln"), help="the kiln CLI (for kiln bench)")
    ap.add_argument("--iterations", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=20)
    a = ap.parse_args()
    if a.iterations < 100:
        ap.error("--iterations must be >= 100")
    os.makedirs(a.results, exist_ok=True)

    import export_segformer
    torch, model, cfg, _ = export_segformer.build_model("b2", attn="eager")  # seeded, TF32 off
    import kiln.torch as kt

    model = model.cuda()
    x = torch.randn(1, 3, 1024, 1024, generator=torch.Generator().manual_seed(7)).cuda()
    with torch.no_grad():
        ref = model(x)
    ref_logits = ref.logits.float()
    checks, report = [], {"model": "SegFormer-B2 (HF transformers, random weights, 19 labels)", "input": [1, 3, 1024, 1024],
                          "gpu": torch.cuda.get_device_name(), "torch": torch.__version__, "kiln": kiln.__version__,
                          "date": datetime.date.today().isoformat()}

    def check(name, ok, detail, acceptance=False):
        checks.append({"check": name, "ok": bool(ok), "detail": detail, "acceptance": acceptance})
        print(f"{'PASS' if ok else 'FAIL'}{' [acceptance]' if acceptance else ''}  {name}: {detail}", flush=True)

    # 1. fp32 accuracy
    t0 = time.time()
    c32 = kt.compile(model, (x,), precision="fp32")
    report["compile_fp32_s"] = time.time() - t0
    out32 = c32(x)
    torch.cuda.synchronize()
    check("compiled output has the module's type", type(out32) is type(ref), f"{type(out32).__name__}")
    rel32 = rel_l2(out32.logits, ref_logits)
    report["fp32_rel_l2"] = rel32
    check("fp32 logits vs the module", rel32 <= 1e-4, f"rel L2 {rel32:.3e} (<= 1e-4)", acceptance=True)

    # 2. the other ways in give the same logits
    engine = c32.engine
    stream = torch.cuda.current_stream().cuda_stream
    in_name, out_name = engine.inputs[0].name, engine.outputs[0].name
    dev = engine.run({in_name: x}, stream=stream)[out_name]
    via_dlpack = torch.from_dlpack(dev)
    check("Engine.run -> DeviceArray -> torch.from_dlpack", torch.equal(via_dlpack, out32.logits),
          f"{tuple(via_dlpack.shape)} {via_dlpack.dtype}, bitwise equal to the compiled call")
    host = engine.run({in_name: x.cpu().numpy()})[out_name]
    check("Engine.run with numpy", np.array_equal(host, out32.logits.cpu().numpy()), "bitwise equal")
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        x2 = x * 1.0  # made on the side stream: the run must wait for it
        y_side = c32(x2).logits
    torch.cuda.current_stream().wait_stream(side)
    check("compiled call on a side stream", torch.equal(y_side, out32.logits), "bitwise equal")

    # 3. fp16
    t0 = time.time()
    c16 = kt.compile(model, (x,), precision="fp16")
    report["compile_fp16_s"] = time.time() - t0
    out16 = c16(x).logits.float()
    agree = float((out16.argmax(1) == ref_logits.argmax(1)).double().mean())
    report["fp16_label_agreement"] = agree
    report["fp16_rel_l2"] = rel_l2(out16, ref_logits)
    check("fp16 labels vs the module", agree >= 0.999,
          f"label agreement {100 * agree:.3f}% (README criterion >= 99.9%), rel L2 {report['fp16_rel_l2']:.3e}")

    # 4. speed: compiled callable vs kiln bench on the same engine file, both precisions
    report["timing"] = {}
    for precision, compiled in (("fp32", c32), ("fp16", c16)):
        path = os.path.join(a.results, f"segformer_b2_{precision}.kiln")
        compiled.save(path)
        call = lambda: compiled(x)  # noqa: E731
        py_ms = time_calls(torch, call, a.iterations, a.warmup)
        cli = cli_bench(a.kiln, path, a.iterations, a.warmup)
        py_ms += time_calls(torch, call, a.iterations, a.warmup)  # after the CLI too: drift shows
        py = summary(py_ms)
        pipelined = time_pipelined(torch, call, a.iterations)
        # Host time of one call, what a synchronous caller waits before the GPU starts: each
        # call timed alone after a synchronize (median of 200), for the compiled callable and
        # for its parts — Engine.run through DLPack and Engine._run_pointers with the tensors
        # prepared, and the output allocation and stream lookup the callable adds.
        engine = compiled.engine
        ins = {engine.inputs[0].name: x}
        outs = {o.name: torch.empty(tuple(o.shape), dtype=getattr(torch, o.dtype), device="cuda") for o in engine.outputs}
        stream = torch.cuda.current_stream().cuda_stream
        in_ptrs, in_dims = [x.data_ptr()], [tuple(x.shape)]
        out_ptrs, out_dims = [t.data_ptr() for t in outs.values()], [tuple(t.shape) for t in outs.values()]
        host_us = {}
        for label, fn in (("compiled call", call),
                          ("Engine.run, DLPack, tensors prepared", lambda: engine.run(ins, outputs=outs, stream=stream)),
                          ("Engine._run_pointers, prepared",
                           lambda: engine._run_pointers(in_ptrs, in_dims, out_ptrs, out_dims, stream)),
                          ("torch.empty outputs + current_stream",
                           lambda: ([torch.empty(tuple(o.shape), dtype=getattr(torch, o.dtype), device="cuda")
                                     for o in engine.outputs], torch.cuda.current_stream().cuda_stream))):
            samples = []
            for _ in range(200):
                torch.cuda.synchronize()
                t0 = time.perf_counter()
                fn()
                samples.append((time.perf_counter() - t0) * 1e6)
            host_us[label] = statistics.median(samples)
        torch.cuda.synchronize()
        print(f"{precision}: host time of one call (median, GPU idle before it): " + ", ".join(f"{k} {v:.0f} us" for k, v in host_us.items()))
        ratio = py["median"] / cli["median"]
        report["timing"][precision] = {"python_ms": py, "python_pipelined_ms": pipelined, "cli_bench_gpu_ms": cli,
                                       "ratio": ratio, "host_us_per_call": host_us}
        os.remove(path)
        check(f"{precision} speed: compiled callable vs kiln bench", ratio <= 1.05,
              f"median {py['median']:.3f} ms vs {cli['median']:.3f} ms, ratio {ratio:.3f} (<= 1.05); "
              f"back-to-back {pipelined:.3f} ms/call", acceptance=True)

    report["checks"] = checks
    ok = all(c["ok"] for c in checks if c["acceptance"])
    report["acceptance_passed"] = ok
    with open(os.path.join(a.results, "python_check.json"), "w") as f:
        json.dump(report, f, indent=2)
    with open(os.path.join(a.results, "python_check.md"), "w") as f:
        f.write(f"# kiln Python module on {report['gpu']} ({report['date']})\n\n")
        f.write(f"{report['model']}, input 1x3x1024x1024, torch {report['torch']}, kiln {report['kiln']}\n\n")
        f.write("| check | result | detail |\n|---|---|---|\n")
        for c in checks:
            f.write(f"| {c['check']}{' (acceptance)' if c['acceptance'] else ''} | {'PASS' if c['ok'] else 'FAIL'} | {c['detail']} |\n")
        f.write("\n| precision | compiled callable median (ms) | p90 | kiln bench GPU median (ms) | ratio | back-to-back (ms/call) |\n")
        f.write("|---|---|---|---|---|---|\n")
        for p, t in report["timing"].items():
            f.write(f"| {p} | {t['python_ms']['median']:.3f} | {t['python_ms']['p90']:.3f} | "
                    f"{t['cli_bench_gpu_ms']['median']:.3f} | {t['ratio']:.3f} | {t['python_pipelined_ms']:.3f} |\n")
    print(f"\nacceptance: {'PASSED' if ok else 'FAILED'}; results in {a.results}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
