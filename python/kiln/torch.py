"""kiln.torch.compile: a PyTorch module as a kiln engine, called like the module.

    compiled = kiln.torch.compile(model, (x,), precision="fp16")
    y = compiled(x)          # the module's output structure, torch tensors on x's device

The module is exported to ONNX (torch.onnx, the TorchScript exporter, static shapes), built for
the example inputs' device, and run on torch's current CUDA stream: inputs are read and outputs
(allocated by torch) written in device memory, with no host round trip and no host wait.
"""
import inspect
import os
import tempfile

import torch

import kiln

_TORCH_DTYPES = {
    "float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16, "float64": torch.float64,
    "int64": torch.int64, "int32": torch.int32, "int8": torch.int8, "uint8": torch.uint8, "bool": torch.bool,
}
OPSET = 17


def _flatten(value):
    from torch.utils import _pytree
    return _pytree.tree_flatten(value)


def _unflatten(leaves, spec):
    from torch.utils import _pytree
    return _pytree.tree_unflatten(leaves, spec)


class CompiledModule:
    """A kiln engine behind the signature of the module it was compiled from."""

    def __init__(self, engine, signature, input_names, out_spec, device):
        self.engine = engine
        self._signature = signature
        self._input_names = input_names
        self._out_spec = out_spec
        self._device = device
        self._inputs = [(i.name, _TORCH_DTYPES[i.dtype]) for i in engine.inputs]
        self._outputs = [(o.name, tuple(o.shape), _TORCH_DTYPES[o.dtype]) for o in engine.outputs]
        self._output_dims = [shape for _, shape, _ in self._outputs]
        for name, shape, _ in self._outputs:
            if not all(isinstance(d, int) for d in shape):
                raise kiln.Error(f"output '{name}' has shape {shape}: kiln.torch.compile needs static output shapes")

    def save(self, path):
        """Writes the engine file (kiln run/bench/profile read it; kiln.load too)."""
        self.engine.save(path)

    def _tensors(self, args, kwargs):
        # The common call, the module's tensors by position: no signature binding, no pytree.
        if not kwargs and len(args) == len(self._input_names) and all(type(a) is torch.Tensor for a in args):
            return args
        if self._signature is not None:
            bound = self._signature.bind(*args, **kwargs)
            values = list(bound.arguments.values())
        else:
            values = list(args) + list(kwargs.values())
        leaves, _ = _flatten(values)
        if len(leaves) != len(self._input_names):
            raise kiln.Error(f"the compiled module takes {len(self._input_names)} tensors "
                             f"({', '.join(self._input_names)}), got {len(leaves)}")
        for name, t in zip(self._input_names, leaves):
            if not isinstance(t, torch.Tensor):
                raise kiln.Error(f"input '{name}' is {type(t).__name__}, expected a torch.Tensor")
        return leaves

    def _run_cuda(self, leaves):
        # Device pointers straight to the engine (Engine._run_pointers), on torch's current
        # stream: a synchronous caller waits on the host time of this call before the GPU starts,
        # so it does the checks DLPack would do with plain tensor attributes.
        device = leaves[0].device
        if device.type != "cuda":
            raise kiln.Error(f"input '{self._input_names[0]}' is on {device}; the engine runs on cuda "
                             "(give every input on one CUDA device)")
        if device.index not in (None, 0):
            raise kiln.Error(f"input '{self._input_names[0]}' is on {device}; kiln runs on cuda:0 "
                             "(select the GPU with CUDA_VISIBLE_DEVICES)")
        by_position = dict(zip(self._input_names, leaves))
        tensors = []
        for name, dtype in self._inputs:
            t = by_position[name]
            if t.device != device:
                raise kiln.Error(f"input '{name}' is on {t.device}, the others on {device}; give every input on one CUDA device")
            if t.dtype != dtype:
                raise kiln.Error(f"input '{name}' is {t.dtype}, the engine takes {dtype} (convert it with .to({dtype}))")
            tensors.append(t if t.is_contiguous() else t.contiguous())
        outputs = [torch.empty(shape, dtype=dtype, device=device) for _, shape, dtype in self._outputs]
        stream = torch.cuda.current_stream(device).cuda_stream
        self.engine._run_pointers([t.data_ptr() for t in tensors], [tuple(t.shape) for t in tensors],
                                  [o.data_ptr() for o in outputs], self._output_dims, stream)
        return outputs

    def __call__(self, *args, **kwargs):
        leaves = self._tensors(args, kwargs)
        if self._device == "cuda":
            flat = self._run_cuda(leaves)
        else:
            result = self.engine.run({n: t.detach().cpu().numpy() for n, t in zip(self._input_names, leaves)})
            flat = [torch.from_numpy(result[n]) for n, _, _ in self._outputs]
        return _unflatten(flat, self._out_spec)


def export_onnx(module, example_inputs, path, input_names, output_names):
    """The module as an ONNX file at `path` (TorchScript exporter, opset 17, static shapes)."""
    with torch.no_grad():
        torch.onnx.export(module, tuple(example_inputs), path, input_names=input_names,
                          output_names=output_names, opset_version=OPSET, do_constant_folding=True,
                          dynamo=False)


def compile(module, example_inputs, precision="fp16", *, device=None, onnx_path=None):
    """Compiles `module` for the shapes, dtypes and device of `example_inputs` (a tensor or a
    tuple of them, as the module takes them positionally). precision: fp32, tf32 or fp16 (cuda).
    device: where the engine runs (default: the example inputs' device). onnx_path: keep the
    exported model there (default: a temporary file). Returns a CompiledModule."""
    if isinstance(example_inputs, torch.Tensor):
        example_inputs = (example_inputs,)
    example_inputs = tuple(example_inputs)
    leaves, _ = _flatten(list(example_inputs))
    if not leaves or not all(isinstance(t, torch.Tensor) for t in leaves):
        raise kiln.Error("example_inputs must be torch tensors (a tensor or a tuple of them)")
    if device is None:
        device = "cuda" if leaves[0].is_cuda else "cpu"
    module = module.eval()
    try:
        signature = inspect.signature(module.forward)
        params = list(signature.parameters)
    except (TypeError, ValueError):
        signature, params = None, []
    # Input names from forward's parameters where they line up one tensor each, else input_<i>.
    if len(params) >= len(leaves) and len(leaves) == len(example_inputs):
        input_names = params[:len(leaves)]
    else:
        input_names = [f"input_{i}" for i in range(len(leaves))]
    with torch.no_grad():
        reference = module(*example_inputs)
    out_leaves, out_spec = _flatten(reference)
    output_names = [f"output_{i}" for i in range(len(out_leaves))]
    with tempfile.TemporaryDirectory(prefix="kiln-torch-") as tmp:
        path = onnx_path or os.path.join(tmp, "model.onnx")
        export_onnx(module, example_inputs, path, input_names, output_names)
        engine = kiln.build(path, precision=precision, device=device)
    names = [o.name for o in engine.outputs]
    if names != output_names:
        raise kiln.Error(f"the exported model's outputs {names} do not match the module's {len(output_names)} "
                         "output tensors; kiln.torch.compile needs tensor outputs")
    return CompiledModule(engine, signature, input_names, out_spec, device)
