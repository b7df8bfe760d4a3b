"""kiln from Python: build engines from ONNX models, load and save engine files, and run them
on numpy arrays (any backend) or, without copies through the host, on CUDA tensors of any
DLPack library (torch, CuPy, JAX).

    import kiln
    engine = kiln.build("model.onnx", precision="fp16", shapes={"pixel_values": (1, 3, 512, 512)})
    engine.save("model.kiln")
    engine = kiln.load("model.kiln")
    out = engine.run({"pixel_values": x})          # numpy in, numpy out (a dict by output name)

    compiled = kiln.torch.compile(model, (x,))      # a PyTorch module, compiled (kiln/torch.py)

Failures raise kiln.Error with the CLI's one-line message; .code and .exit_code say whose fault.
`kiln.torch` is imported on first use, so `import kiln` needs no torch.
"""
import importlib as _importlib
import os as _os

# As the CLI does (tools/kiln/main.cpp): libgomp reads this when it loads, and its default spins
# idle threads between the CPU backend's parallel regions, starving whatever shares the cores.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from ._kiln import Engine, Error, TensorInfo, __version__, build, has_cuda, load

if has_cuda:
    from ._kiln import DeviceArray  # noqa: F401

__all__ = ["Engine", "Error", "TensorInfo", "build", "load", "has_cuda", "__version__"]


def __getattr__(name):
    # PEP 562: kiln.torch loads torch only when asked for.
    if name == "torch":
        return _importlib.import_module(".torch", __name__)
    raise AttributeError(f"module 'kiln' has no attribute {name!r}")
