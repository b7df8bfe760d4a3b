#!/usr/bin/env python3
"""Merge the JSONs of a SegFormer GPU benchmark (bench/segformer.sh) into one markdown table.

  python3 bench/summarize_segformer.py DIR|FILE.json [...] [--out RESULT.md]

Reads, by content: segformer.sh's run record ("tool": "segformer.sh"), bench/torch_segformer.py's
JSONs ("tool": "torch_segformer"), segformer.sh's kiln records ("tool": "kiln-run": precision,
batch, build wall time, exit codes, and the names of the `kiln build --json` and
`kiln bench --json` outputs beside it) and exporter meta.json copies (node counts). Writes the
markdown to --out and prints it; the table comes last. Standard library only.
"""

import argparse
import glob
import json
import math
import os
import sys

TORCH_ORDER = ["torch eager fp32", "torch eager fp16", "torch.compile fp16"]
COLUMNS = ["batch", "peer", "GPU median ms", "p90", "p99", "e2e median ms", "img/s", "peak act. MiB",
           "rel L2", "max abs", "label agr.", "acc. ok"] + ["kiln × eager fp32", "kiln × eager fp16", "kiln × compile fp16"] + ["build s"]


def load_all(paths):
    """-> (run records, torch JSONs, kiln records, export metas); kiln records get _build/_bench."""
    files = []
    for p in paths:
        files += sorted(glob.glob(os.path.join(p, "*.json"))) if os.path.isdir(p) else [p]
    runs, torch, kiln, metas = [], [], [], []
    for f in files:
        with open(f) as fh:
            try:
                d = json.load(fh)
            except json.JSONDecodeError as e:
                print(f"summarize_segformer: skipping {f}: {e}", file=sys.stderr)
                continue
        if not isinstance(d, dict):
            continue
        d["_file"] = f
        tool = d.get("tool")
        if tool == "segformer.sh":
            runs.append(d)
        elif tool == "torch_segformer":
            torch.append(d)
        elif tool == "kiln-run":
            for key in ("build", "bench"):
                name = d.get(f"{key}_json")
                path = os.path.join(os.path.dirname(f), name) if name else None
                d[f"_{key}"] = None
                if path and os.path.exists(path) and os.path.getsize(path) > 0:
                    try:
                        with open(path) as fh:
                            d[f"_{key}"] = json.load(fh)
                    except json.JSONDecodeError as e:
                        d[f"_{key}_error"] = f"{name} is not JSON: {e}"
            kiln.append(d)
        elif "op_histogram" in d and "onnx_nodes" in d:
            metas.append(d)
    return runs, torch, kiln, metas


def num(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def fmt(x, spec):
    if x is None:
        return "—"
    if isinstance(x, float) and not math.isfinite(x):
        return str(x)
    return format(x, spec)


def acc_cells(acc, is_ref=False):
    if is_ref:
        return ["ref", "ref", "ref", "yes" if acc is None or acc.get("finite", True) else "NO: NaN/Inf"]
    if not acc:
        return ["—", "—", "—", "—"]
    agree = acc.get("label_agreement")
    finite = acc.get("finite", True)
    good = acc.get("good", finite)
    ok = "yes" if good and finite else ("NO: NaN/Inf" if not finite else "NO")
    return [fmt(acc.get("rel_l2"), ".2e"), fmt(acc.get("max_abs"), ".2e"),
            fmt(agree * 100 if num(agree) else agree, ".4f") + ("%" if num(agree) else ""), ok]


def timing_cells(batch, gpu, e2e, peak):
    med = gpu.get("median") if gpu else None
    return [fmt(med, ".3f"), fmt(gpu.get("p90") if gpu else None, ".3f"), fmt(gpu.get("p99") if gpu else None, ".3f"),
            fmt(e2e.get("median") if e2e else None, ".3f"),
            fmt(batch * 1e3 / med if num(med) and med > 0 else None, ".2f"),
            fmt(peak / 2**20 if num(peak) else None, ".1f")]


def build_rows(torch_jsons, kiln_runs, notes):
    """One row per (batch, peer): list of (batch, order, cells)."""
    by_batch = {}  # batch -> {"torch": json, "kiln": {precision: record}}
    for t in torch_jsons:
        slot = by_batch.setdefault(t["batch"], {"torch": None, "kiln": {}})
        if slot["torch"] is not None:
            notes.append(f"batch {t['batch']}: several PyTorch JSONs, used {t['_file']}")
        slot["torch"] = t
    for k in kiln_runs:
        slot = by_batch.setdefault(k["batch"], {"torch": None, "kiln": {}})
        if k["precision"] in slot["kiln"]:
            notes.append(f"batch {k['batch']}: several kiln {k['precision']} records, used {k['_file']}")
        slot["kiln"][k["precision"]] = k

    rows = []
    for batch in sorted(by_batch):
        slot = by_batch[batch]
        peer_median = {}
        t = slot["torch"]
        for p in sorted(t["peers"] if t else [], key=lambda p: (TORCH_ORDER + [p["peer"]]).index(p["peer"])):
            if p.get("error"):
                rows.append([str(batch), p["peer"], f"FAILED: {p['error'][:120]}"] + [""] * (len(COLUMNS) - 3))
                notes.append(f"batch {batch}: {p['peer']} failed: {p['error']}")
                continue
            if p.get("accuracy", {}).get("finite", True):  # no speed-up claims against NaN
                peer_median[p["peer"]] = p["gpu_ms"]["median"]
            rows.append([str(batch), p["peer"]] + timing_cells(batch, p["gpu_ms"], p["e2e_ms"], p.get("peak_activation_bytes"))
                        + acc_cells(p.get("accuracy"), is_ref=bool(p.get("reference")))
                        + [""] * len(TORCH_ORDER) + ["—"])
        if t is None:
            notes.append(f"batch {batch}: no PyTorch JSON (no reference, no ratios)")
        for precision in sorted(slot["kiln"], key=lambda s: (["fp32", "tf32", "fp16"] + [s]).index(s)):
            k = slot["kiln"][precision]
            build, bench = k.get("_build"), k.get("_bench")
            label = f"kiln {precision}"
            if bench and bench.get("precision") and bench["precision"] != precision:
                label = f"kiln {precision} (engine says {bench['precision']})"
            if bench and bench.get("cuda_graph"):
                label += " +graph"
            build_s = build.get("build_seconds") if build else None
            build_cell = fmt(build_s, ".1f")
            if num(k.get("build_wall_s")):
                build_cell += f" (wall {k['build_wall_s']:.1f})"
            row = None
            if k.get("build_rc") not in (0, None):
                why = f"FAILED: kiln build exit {k['build_rc']}"
            elif k.get("bench_rc") not in (0, None):
                why = f"FAILED: kiln bench exit {k['bench_rc']}"
            elif not bench or not bench.get("rows"):
                why = "FAILED: " + k.get("_bench_error", "no kiln bench JSON")
            else:
                why = None
                brow = next((r for r in bench["rows"] if r.get("batch") == batch), bench["rows"][0])
                med = brow.get("gpu_ms", {}).get("median")
                ratios = [fmt(peer_median[p] / med, ".2f") + "×" if p in peer_median and num(med) and med > 0 else "—"
                          for p in TORCH_ORDER]
                row = ([str(batch), label] + timing_cells(batch, brow.get("gpu_ms"), brow.get("e2e_ms"),
                                                          brow.get("peak_activation_bytes"))
                       + acc_cells(brow.get("accuracy")) + ratios + [build_cell])
                if brow.get("batch") != batch:
                    notes.append(f"batch {batch}: kiln {precision} bench JSON has no row for batch {batch}")
            if why:
                notes.append(f"batch {batch}: kiln {precision}: {why} (logs: logs/kiln_*_{precision}_b{batch}.log)")
                row = [str(batch), label, why] + [""] * (len(COLUMNS) - 4) + [build_cell]
            rows.append(row)
    for r in rows:
        if r[11].startswith("NO"):
            notes.append(f"batch {r[0]}: {r[1]}: accuracy not good ({r[11]}): rel L2 {r[8]}, label agreement {r[10]}")
    return rows


def markdown(runs, torch_jsons, kiln_runs, metas):
    notes = []
    rows = build_rows(torch_jsons, kiln_runs, notes)
    run = runs[-1] if runs else {}
    t0 = torch_jsons[0] if torch_jsons else {}
    variant = run.get("variant") or t0.get("variant") or "?"
    gpu = run.get("gpu") or t0.get("gpu") or "?"
    date = run.get("date") or (t0.get("created_utc") or "?")[:10]
    hw = run.get("hw") or "x".join(map(str, t0.get("hw", []))) or "?"
    quick = run.get("quick")
    out = [f"# SegFormer-{variant.upper()} at {hw} on {gpu} — {date}" + (" — QUICK SMOKE TEST, not a benchmark" if quick else ""), ""]
    v = t0.get("versions", {})
    kv = (kiln_runs[0] if kiln_runs else {}).get("kiln_version") or run.get("kiln_version", "?")
    out.append(f"One run of `bench/segformer.sh{' --quick' if quick else ''}`: kiln and the PyTorch peers back to back on one GPU. "
               f"{kv}, commit {run.get('commit', '?')}; torch {v.get('torch', '?')}, transformers {v.get('transformers', '?')}, "
               f"CUDA {v.get('cuda', '?')}, cuDNN {v.get('cudnn', '?')}; PyTorch attention `{t0.get('attn_implementation')}`, "
               f"cudnn.benchmark {t0.get('cudnn_benchmark')}.")
    out.append("")
    if t0:
        m = metas[0] if metas else {}
        nodes = f", {m['onnx_nodes']} ONNX nodes (opset {m.get('opset', '?')}, static shapes)" if m else ""
        out.append(f"Model: `tools/export/export_segformer.py --variant {variant}`, random weights (seed {t0.get('model_seed')}), "
                   f"{t0.get('num_labels')} labels, {t0.get('parameters', 0) / 1e6:.1f} M parameters{nodes}. Input: a fresh "
                   f"`torch.randn` tensor (seed {t0.get('input_seed')}), float32 NCHW, the same for every peer.")
        out.append("")
    its = sorted({(t.get("warmup"), t.get("iterations")) for t in torch_jsons})
    kits = sorted({(r.get("kiln_warmup"), r.get("kiln_iterations")) for r in runs if r.get("kiln_iterations")})
    out.append(f"Iterations (warm-up, timed): PyTorch {', '.join(map(str, its)) or '—'}; kiln {', '.join(map(str, kits)) or '—'}. "
               "GPU ms: CUDA events around the forward only. e2e: host fp32 input → device → forward → host output "
               "(PyTorch: pageable tensor, `.cuda().to(dtype)`, `.float().cpu()`), median. img/s = batch / GPU median. "
               "Peak act.: most memory allocated during one forward minus what was allocated before it (weights, input). "
               "Accuracy against PyTorch eager fp32 with TF32 off: rel L2 = ‖out−ref‖/‖ref‖, max abs = max |out−ref|, "
               "label agr. = share of pixels whose argmax over the classes equals the reference's. "
               "kiln × peer = the peer's GPU median / kiln's (above 1: kiln is faster). "
               "build s: `kiln build` build_seconds (wall time of the whole command).")
    out.append("")
    raw = sorted({r["raw_dir"] for r in runs if r.get("raw_dir")})
    if raw:
        out.append("Raw JSONs and full logs: " + ", ".join(f"`{d}/`" for d in raw) + ".")
        out.append("")
    for key in ("gpu", "commit", "kiln_version"):
        if len({r.get(key) for r in runs}) > 1:
            notes.append(f"merged runs differ in {key}: " + ", ".join(sorted({str(r.get(key)) for r in runs})))
    for r in runs:
        if r.get("failed"):
            failed = r["failed"] if isinstance(r["failed"], list) else r["failed"].split(";")
            notes.append(f"steps that failed ({r.get('raw_dir', r['_file'])}): " + ", ".join(failed))
    if notes:
        out.append("**Problems:**")
        out += [f"- {n}" for n in notes]
        out.append("")
    out.append("| " + " | ".join(COLUMNS) + " |")
    out.append("|" + "|".join("---" if i < 2 else "---:" for i in range(len(COLUMNS))) + "|")
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("paths", nargs="+", help="folders of JSONs and/or JSON files")
    ap.add_argument("--out", help="markdown file to write")
    a = ap.parse_args(argv)
    runs, torch_jsons, kiln_runs, metas = load_all(a.paths)
    if not torch_jsons and not kiln_runs:
        print(f"summarize_segformer: no benchmark JSON in {a.paths}", file=sys.stderr)
        return 1
    md = markdown(runs, torch_jsons, kiln_runs, metas)
    if a.out:
        with open(a.out, "w") as f:
            f.write(md)
    sys.stdout.write(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
