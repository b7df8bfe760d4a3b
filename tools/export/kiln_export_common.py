"""Shared helpers for kiln's reference-model exporters.

Every exporter builds a transformers model from a config with random weights (fixed seed),
exports it with the legacy TorchScript ONNX exporter (dynamo=False, opset 17, static shapes),
and writes a reference directory:

    <out>/model.onnx                 (+ model.weights.N external-data files when asked)
    <out>/inputs/<input_name>.npy    fixed-seed random inputs
    <out>/golden/<output_name>.npy   PyTorch fp32 outputs (CPU, TF32 off)
    <out>/meta.json                  config, shapes, node count, op histogram, ORT-vs-torch rel-L2

Runs where torch/transformers/onnx/onnxruntime are installed (the GPU machine).
"""

from __future__ import annotations

import collections
import contextlib
import datetime
import json
import os
import platform
import sys
import time
import traceback

import numpy as np

OPSET = 17
EXTERNAL_FILE_PREFIX = "model.weights"
EXTERNAL_MAX_BYTES = 4_500_000  # per external-data file
EXTERNAL_MIN_TENSOR_BYTES = 1024  # smaller initializers stay inline
EXTERNAL_ALIGN = 4096  # offsets of external tensors are page aligned


def log(msg: str) -> None:
    print(f"[{datetime.datetime.now(datetime.timezone.utc).strftime('%H:%M:%S')}] {msg}", flush=True)


def setup_torch(seed: int):
    import torch

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    try:
        torch.set_float32_matmul_precision("highest")
    except Exception:
        pass
    torch.manual_seed(seed)
    np.random.seed(seed)
    return torch


def force_eager_attention(config) -> None:
    """Ask transformers for the plain (matmul + softmax) attention path, not SDPA."""
    for attr in ("_attn_implementation", "_attn_implementation_internal"):
        try:
            setattr(config, attr, "eager")
        except Exception:
            pass


def set_model_eager(model) -> None:
    fn = getattr(model, "set_attn_implementation", None)
    if fn is not None:
        try:
            fn("eager")
        except Exception as e:  # older/newer API differences are not fatal
            log(f"set_attn_implementation('eager') failed: {e!r}")


def _simple_bidirectional_mask(*args, **kwargs):
    """Trace-friendly stand-in for transformers.masking_utils.create_bidirectional_mask.

    Turns a 2-D padding mask [B, kv] (1 = keep) into an additive float mask [B, 1, q, kv]
    (0 where kept, dtype-min where padded), which is what the eager attention path adds to the
    scores. 4-D masks and None pass through unchanged.
    """
    import torch

    names = ["config", "inputs_embeds", "attention_mask"]
    vals = dict(zip(names, args))
    vals.update(kwargs)
    inputs_embeds = vals.get("inputs_embeds", vals.get("input_embeds"))
    attention_mask = vals.get("attention_mask")
    enc = vals.get("encoder_hidden_states")
    if attention_mask is None or attention_mask.dim() == 4:
        return attention_mask
    dtype = (enc if enc is not None else inputs_embeds).dtype
    q_len = inputs_embeds.shape[1]
    keep = attention_mask.to(torch.bool)[:, None, None, :]
    keep = keep.expand(keep.shape[0], 1, q_len, keep.shape[-1])
    zero = torch.zeros((), dtype=dtype, device=inputs_embeds.device)
    neg = torch.full((), torch.finfo(dtype).min, dtype=dtype, device=inputs_embeds.device)
    return torch.where(keep, zero, neg)


def patch_mask_helpers(module_names) -> list:
    """Replace create_bidirectional_mask in the given transformers modules (the TorchScript
    tracer cannot follow the transformers 5 mask factories). Returns the patched module names."""
    patched = []
    for name in module_names:
        mod = sys.modules.get(name)
        if mod is None:
            try:
                __import__(name)
                mod = sys.modules[name]
            except Exception:
                continue
        if hasattr(mod, "create_bidirectional_mask"):
            mod.create_bidirectional_mask = _simple_bidirectional_mask
            patched.append(name)
    return patched


def _holds_tensor(data) -> bool:
    import torch

    if isinstance(data, torch.Tensor):
        return True
    return isinstance(data, (list, tuple)) and any(_holds_tensor(d) for d in data)


def _stack_traced(data, dtype, device):
    """torch.tensor(nested lists) built with torch.stack, so traced sizes stay traced."""
    import torch

    if isinstance(data, (list, tuple)):
        return torch.stack([_stack_traced(d, dtype, device) for d in data])
    t = data if isinstance(data, torch.Tensor) else torch.tensor(data, device=device)
    return t.to(dtype=dtype or t.dtype, device=device or t.device)


@contextlib.contextmanager
def traced_sizes_stay_symbolic():
    """While the legacy exporter traces, a tensor size is a 0-d tensor, but some factories turn it
    back into a Python number and the trace keeps that number as a constant: an export with
    dynamic H/W then computes with the traced sizes in some places and the example's in others
    (Mask2Former's reference points and offset normalizer). Patched while tracing only, with the
    same values:
    - torch.linspace(start, end, steps) → start + arange(steps) · (end − start) / max(steps − 1, 1)
      in the requested dtype; the legacy linspace symbolic also yields float64 whatever dtype was
      asked for, which onnxruntime's GridSample has no kernel for. Exact for the half-integer grids
      used here.
    - torch.tensor / torch.as_tensor of (nested) lists holding traced sizes → torch.stack of them.
    Eager calls, and calls on plain numbers while tracing, are untouched."""
    import torch

    orig_linspace, orig_tensor, orig_as_tensor = torch.linspace, torch.tensor, torch.as_tensor

    def linspace(start, end, steps, *args, dtype=None, device=None, **kwargs):
        if args or kwargs.get("out") is not None or not torch.jit.is_tracing():
            return orig_linspace(start, end, steps, *args, dtype=dtype, device=device, **kwargs)
        dt = dtype or torch.get_default_dtype()
        idx = torch.arange(steps, device=device).to(dt)
        step = (end - start) / torch.clamp(torch.as_tensor(steps) - 1, min=1).to(dt)
        return (start + idx * step).to(dt)

    def factory(orig):
        def patched(data, *args, dtype=None, device=None, **kwargs):
            if args or kwargs or not torch.jit.is_tracing() or not _holds_tensor(data):
                return orig(data, *args, dtype=dtype, device=device, **kwargs)
            return _stack_traced(data, dtype, device)

        return patched

    torch.linspace, torch.tensor, torch.as_tensor = linspace, factory(orig_tensor), factory(orig_as_tensor)
    try:
        yield
    finally:
        torch.linspace, torch.tensor, torch.as_tensor = orig_linspace, orig_tensor, orig_as_tensor


def randomize_trivial_params(model, seed: int) -> dict:
    """transformers initializes biases and some projections to zero and norm weights to one,
    which would let an engine get away with ignoring them. Replace every all-zero floating
    parameter with N(0, 0.02), every all-one parameter with 1 + N(0, 0.1), BatchNorm running
    means with N(0, 0.1) and running variances with U(0.5, 1.5). Deterministic (own generator)."""
    import torch

    g = torch.Generator().manual_seed(seed)
    counts = collections.Counter()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if not p.is_floating_point() or p.numel() == 0:
                continue
            if bool((p == 0).all()):
                p.copy_(torch.randn(p.shape, generator=g) * 0.02)
                counts["zero_params"] += 1
            elif bool((p == 1).all()):
                p.copy_(1.0 + torch.randn(p.shape, generator=g) * 0.1)
                counts["one_params"] += 1
        for name, b in model.named_buffers():
            if not b.is_floating_point() or b.numel() == 0:
                continue
            leaf = name.rsplit(".", 1)[-1]
            if leaf == "running_mean":
                b.copy_(torch.randn(b.shape, generator=g) * 0.1)
                counts["running_mean"] += 1
            elif leaf == "running_var":
                b.copy_(0.5 + torch.rand(b.shape, generator=g))
                counts["running_var"] += 1
            # DETR's frozen batch norm keeps weight/bias as buffers
            elif leaf in ("weight",) and bool((b == 1).all()):
                b.copy_(1.0 + torch.randn(b.shape, generator=g) * 0.1)
                counts["one_buffers"] += 1
            elif leaf in ("bias",) and bool((b == 0).all()):
                b.copy_(torch.randn(b.shape, generator=g) * 0.02)
                counts["zero_buffers"] += 1
    return dict(counts)


class OutputPicker:
    """Builds an nn.Module that calls model(**named inputs) and returns the chosen outputs as a tuple."""

    @staticmethod
    def wrap(model, input_names, output_names):
        import torch

        class _Wrap(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.model = model

            def forward(self, *args):
                out = self.model(**dict(zip(input_names, args)))
                res = []
                for n in output_names:
                    v = getattr(out, n, None)
                    if v is None:
                        v = out[n]
                    res.append(v)
                return tuple(res)

        return _Wrap().eval()


def rel_l2(a: np.ndarray, ref: np.ndarray) -> float:
    a = a.astype(np.float64)
    ref = ref.astype(np.float64)
    den = float(np.linalg.norm(ref))
    num = float(np.linalg.norm(a - ref))
    return num / den if den > 0 else num


def externalize_initializers(model_proto, out_dir: str) -> list:
    """Move initializers >= EXTERNAL_MIN_TENSOR_BYTES into model.weights.N files (several tensors
    per file, each file <= EXTERNAL_MAX_BYTES, offsets aligned), writing location/offset/length."""
    from onnx import TensorProto, numpy_helper

    files = []  # [name, bytes_written]
    handle = None
    cur = 0
    for init in model_proto.graph.initializer:
        if init.data_location == TensorProto.EXTERNAL:
            continue
        if init.HasField("raw_data"):
            raw = bytes(init.raw_data)
        else:  # typed fields; x86 is little-endian, as ONNX raw data must be
            raw = np.ascontiguousarray(numpy_helper.to_array(init)).tobytes()
        if len(raw) < EXTERNAL_MIN_TENSOR_BYTES:
            continue
        # A tensor larger than the limit gets a file of its own (only uncommitted models, e.g. B2).
        start = (cur + EXTERNAL_ALIGN - 1) // EXTERNAL_ALIGN * EXTERNAL_ALIGN
        if handle is None or start + len(raw) > EXTERNAL_MAX_BYTES:
            if handle is not None:
                handle.close()
            fname = f"{EXTERNAL_FILE_PREFIX}.{len(files)}"
            handle = open(os.path.join(out_dir, fname), "wb")
            files.append([fname, 0])
            cur = 0
            start = 0
        if start > cur:
            handle.write(b"\0" * (start - cur))
        handle.write(raw)
        cur = start + len(raw)
        files[-1][1] = cur
        # clear inline payloads, point at the file
        for field in ("raw_data", "float_data", "int32_data", "int64_data", "double_data",
                      "uint64_data", "string_data"):
            init.ClearField(field)
        init.data_location = TensorProto.EXTERNAL
        del init.external_data[:]
        for k, v in (("location", files[-1][0]), ("offset", str(start)), ("length", str(len(raw)))):
            e = init.external_data.add()
            e.key = k
            e.value = v
    if handle is not None:
        handle.close()
    return [{"file": f, "bytes": n} for f, n in files]


def _shape_of(value_info):
    dims = []
    for d in value_info.type.tensor_type.shape.dim:
        dims.append(d.dim_value if d.HasField("dim_value") else (d.dim_param or "?"))
    return dims


def export_and_check(
    *,
    name: str,
    model,
    inputs: "collections.OrderedDict[str, object]",
    output_names: list,
    out_dir: str,
    source: str,
    config_dict: dict,
    external_data: bool = False,
    seed: int = 0,
    extra_meta: dict | None = None,
    dynamic_axes: dict | None = None,
) -> dict:
    """Export `model` (already eval, on CPU, fp32) and write the reference directory.
    dynamic_axes (torch.onnx.export's) makes those dims symbolic; the default is static shapes."""
    import onnx
    import torch

    t0 = time.time()
    os.makedirs(os.path.join(out_dir, "inputs"), exist_ok=True)
    os.makedirs(os.path.join(out_dir, "golden"), exist_ok=True)
    input_names = list(inputs.keys())
    args = tuple(inputs[k] for k in input_names)
    wrapped = OutputPicker.wrap(model, input_names, output_names)

    # 1. PyTorch fp32 reference on CPU (deterministic, no TF32 question)
    with torch.no_grad():
        golden = [o.detach().float().cpu().numpy() for o in wrapped(*args)]
    for n, g in zip(output_names, golden):
        if not np.isfinite(g).all():
            raise RuntimeError(f"golden output {n} has NaN/Inf")
        log(f"{name}: torch output {n} {list(g.shape)} mean={g.mean():.5g} std={g.std():.5g}")

    # 1b. same model on the GPU in fp32 (TF32 off), as a cross-check only
    cuda_rel = {}
    if torch.cuda.is_available():
        try:
            wrapped.cuda()
            with torch.no_grad():
                outs = wrapped(*[a.cuda() for a in args])
            for n, o, g in zip(output_names, outs, golden):
                cuda_rel[n] = rel_l2(o.float().cpu().numpy(), g)
            log(f"{name}: torch cuda fp32 vs cpu rel-L2 {cuda_rel}")
        except Exception as e:
            log(f"{name}: cuda cross-check failed: {e!r}")
        finally:
            wrapped.cpu()
            torch.cuda.empty_cache()

    # 2. export (legacy TorchScript exporter)
    onnx_path = os.path.join(out_dir, "model.onnx")
    tmp_path = os.path.join(out_dir, "_export_tmp.onnx")
    exporter = "torchscript (dynamo=False)"
    # torch 1.x has no dynamo exporter and no `dynamo` argument; its export is the legacy one.
    legacy = {"dynamo": False} if int(torch.__version__.split(".")[0]) >= 2 else {}
    try:
        with torch.no_grad(), traced_sizes_stay_symbolic():
            torch.onnx.export(
                wrapped,
                args,
                tmp_path,
                input_names=input_names,
                output_names=output_names,
                opset_version=OPSET,
                do_constant_folding=True,
                dynamic_axes=dynamic_axes,
                **legacy,
            )
    except Exception as e:
        # Keep going with the dynamo exporter so the run still yields a model; meta.json says so.
        traceback.print_exc()
        if os.environ.get("KILN_EXPORT_NO_FALLBACK") or not legacy:  # torch 1.x: no dynamo exporter
            raise
        log(f"{name}: legacy exporter failed ({e!r}); falling back to dynamo=True")
        exporter = f"dynamo (FALLBACK: legacy exporter failed: {type(e).__name__}: {str(e)[:300]})"
        with torch.no_grad():
            torch.onnx.export(
                wrapped,
                args,
                tmp_path,
                input_names=input_names,
                output_names=output_names,
                opset_version=OPSET,
                dynamo=True,
            )
    log(f"{name}: exported in {time.time() - t0:.1f}s")
    mp = onnx.load(tmp_path)
    for fn in os.listdir(out_dir):  # the dynamo exporter may leave _export_tmp.onnx.data
        if fn.startswith("_export_tmp"):
            os.remove(os.path.join(out_dir, fn))
    ext_files = []
    if external_data:
        ext_files = externalize_initializers(mp, out_dir)
    with open(onnx_path, "wb") as f:
        f.write(mp.SerializeToString())
    onnx.checker.check_model(onnx_path)

    # 3. inputs and goldens
    for n, a in zip(input_names, args):
        np.save(os.path.join(out_dir, "inputs", f"{n}.npy"), a.detach().cpu().numpy())
    for n, g in zip(output_names, golden):
        np.save(os.path.join(out_dir, "golden", f"{n}.npy"), g.astype(np.float32))

    # 4. onnxruntime CPU on the file as written (where it is installed)
    try:
        import onnxruntime as ort
    except ImportError:
        ort = None

    ort_rel = {n: None for n in output_names}
    ort_max = {n: None for n in output_names}
    ort_error = None
    try:
        if ort is None:
            raise RuntimeError("onnxruntime is not installed")
        so = ort.SessionOptions()
        sess = ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])
        feeds = {n: a.detach().cpu().numpy() for n, a in zip(input_names, args)}
        ort_outs = sess.run(output_names, feeds)
        for n, o, g in zip(output_names, ort_outs, golden):
            if list(o.shape) != list(g.shape):
                raise RuntimeError(f"ORT output {n} shape {o.shape} != torch {g.shape}")
            ort_rel[n] = rel_l2(o, g)
            ort_max[n] = float(np.abs(o.astype(np.float64) - g).max())
        log(f"{name}: onnxruntime vs torch rel-L2 {ort_rel} max-abs {ort_max}")
    except Exception as e:  # keep the model; meta.json records why there is no figure
        if ort is not None:
            traceback.print_exc()
        ort_error = f"{type(e).__name__}: {str(e)[:500]}"
        log(f"{name}: onnxruntime check FAILED: {ort_error}")

    # float64 anywhere in the graph (casts/constants), for the record
    f64 = 0
    for node in mp.graph.node:
        for at in node.attribute:
            if node.op_type == "Cast" and at.name == "to" and at.i == onnx.TensorProto.DOUBLE:
                f64 += 1
            if node.op_type == "Constant" and at.name == "value" and at.t.data_type == onnx.TensorProto.DOUBLE:
                f64 += 1

    # 5. meta
    hist = collections.Counter()
    for node in mp.graph.node:
        key = node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}::{node.op_type}"
        hist[key] += 1
    n_params = int(sum(p.numel() for p in model.parameters()))
    files = {}
    for root, _, fnames in os.walk(out_dir):
        for fn in fnames:
            p = os.path.join(root, fn)
            files[os.path.relpath(p, out_dir)] = os.path.getsize(p)
    meta = {
        "model": name,
        "source": source,
        "config": config_dict,
        "opset": OPSET,
        "opset_import": {(o.domain or "ai.onnx"): o.version for o in mp.opset_import},
        "exporter": f"torch {torch.__version__} torch.onnx.export {exporter}, do_constant_folding=True",
        "inputs": {n: list(a.shape) for n, a in zip(input_names, args)},
        "input_dtypes": {n: str(a.dtype).replace("torch.", "") for n, a in zip(input_names, args)},
        "outputs": {n: list(g.shape) for n, g in zip(output_names, golden)},
        "onnx_graph_inputs": {vi.name: _shape_of(vi) for vi in mp.graph.input},
        "onnx_graph_outputs": {vi.name: _shape_of(vi) for vi in mp.graph.output},
        "onnx_nodes": len(mp.graph.node),
        "op_histogram": dict(sorted(hist.items(), key=lambda kv: (-kv[1], kv[0]))),
        "initializers": len(mp.graph.initializer),
        "parameters": n_params,
        "external_data": ext_files,
        "onnxruntime_rel_l2": ort_rel,
        "onnxruntime_max_abs": ort_max,
        "onnxruntime_version": ort.__version__ if ort else None,
        "onnxruntime_error": ort_error,
        "float64_casts_and_constants": f64,
        "export_patches": ["torch.linspace computed as start + arange*step while tracing "
                           "(legacy exporter otherwise emits float64)"],
        "torch_cuda_fp32_vs_cpu_rel_l2": cuda_rel,
        "golden": "PyTorch fp32 on CPU, TF32 disabled (torch.backends.cuda.matmul.allow_tf32=False, "
                  "torch.backends.cudnn.allow_tf32=False)",
        "seed": seed,
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "transformers": _version_of("transformers"),
            "onnx": onnx.__version__,
            "onnxruntime": ort.__version__ if ort else None,
            "numpy": np.__version__,
        },
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "created_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "files_bytes": dict(sorted(files.items())),
    }
    if extra_meta:
        meta.update(extra_meta)
    with open(os.path.join(out_dir, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1, default=str)
        f.write("\n")
    log(f"{name}: done in {time.time() - t0:.1f}s, {len(mp.graph.node)} nodes, files {files}")
    return meta


def _version_of(module: str):
    try:
        return __import__(module).__version__
    except ImportError:
        return None


def config_to_dict(config) -> dict:
    d = config.to_dict()
    for k in ("id2label", "label2id"):
        d.pop(k, None)
    # JSON-safe
    return json.loads(json.dumps(d, default=str))


def main_guard(fn):
    """Run fn(), print the traceback and exit 1 on failure."""
    try:
        fn()
    except Exception:
        traceback.print_exc()
        sys.exit(1)
