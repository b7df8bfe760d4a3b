"""Error paths: every failure is a kiln.Error with a one-line message, the CLI's where both
take the same path, and the CLI's exit code in .exit_code."""
import subprocess
import sys

import numpy as np
import pytest

import kiln


def test_error_is_an_exception_with_code_and_exit_code(tmp_path):
    assert issubclass(kiln.Error, Exception)
    with pytest.raises(kiln.Error) as e:
        kiln.build(str(tmp_path / "missing.onnx"), precision="fp32", device="cpu")
    assert e.value.code == "not_found" or e.value.code == "invalid_argument"
    assert e.value.exit_code == 2


def test_missing_model_has_the_cli_message(tmp_path, kiln_cli):
    missing = tmp_path / "missing.onnx"
    with pytest.raises(kiln.Error) as e:
        kiln.build(str(missing), precision="fp32", device="cpu")
    code, message = kiln_cli("build", missing, "-o", tmp_path / "x.kiln")
    assert code == 2
    assert str(e.value) == message


def test_bad_precision():
    with pytest.raises(kiln.Error, match="precision 'int3': expected fp32, tf32 or fp16") as e:
        kiln.build("unused.onnx", precision="int3", device="cpu")
    assert e.value.exit_code == 2


def test_fp16_needs_cuda(tiny_onnx):
    with pytest.raises(kiln.Error, match=r"precision='fp16' needs device='cuda'"):
        kiln.build(tiny_onnx, precision="fp16", device="cpu")


def test_bad_device(tiny_onnx):
    with pytest.raises(kiln.Error, match="device 'tpu'"):
        kiln.build(tiny_onnx, precision="fp32", device="tpu")


def test_shape_contradicting_the_model_has_the_cli_message(tmp_path, tiny_onnx, kiln_cli):
    with pytest.raises(kiln.Error) as e:
        kiln.build(tiny_onnx, precision="fp32", device="cpu", shapes={"pixel_values": (1, 3, 64, 64)})
    code, message = kiln_cli("build", tiny_onnx, "-o", tmp_path / "x.kiln", "--shape", "pixel_values=1x3x64x64")
    assert code == 2 and str(e.value) == message


def test_wrong_input_name_has_the_cli_message(tmp_path, cpu_engine, tiny_input, kiln_cli):
    with pytest.raises(kiln.Error) as e:
        cpu_engine.run({"image": tiny_input})
    assert str(e.value) == "the model has no input named 'image'"
    np.save(tmp_path / "x.npy", tiny_input)
    cpu_engine.save(str(tmp_path / "tiny.kiln"))
    code, message = kiln_cli("run", tmp_path / "tiny.kiln", "--input", f"image={tmp_path / 'x.npy'}", "-o", tmp_path)
    assert code == 2 and str(e.value) == message


def test_wrong_dtype_has_the_cli_message(tmp_path, cpu_engine, tiny_input, kiln_cli):
    wrong = tiny_input.astype(np.float64)
    with pytest.raises(kiln.Error) as e:
        cpu_engine.run({"pixel_values": wrong})
    assert "input 'pixel_values' is float64" in str(e.value)
    np.save(tmp_path / "x.npy", wrong)
    cpu_engine.save(str(tmp_path / "tiny.kiln"))
    code, message = kiln_cli("run", tmp_path / "tiny.kiln", "--input", f"pixel_values={tmp_path / 'x.npy'}", "-o", tmp_path)
    assert code == 2 and str(e.value) == message


def test_wrong_shape(cpu_engine):
    with pytest.raises(kiln.Error) as e:
        cpu_engine.run({"pixel_values": np.zeros((1, 3, 64, 64), np.float32)})
    assert str(e.value).startswith("input 'pixel_values' has shape float32[1x3x128x128] in the model, got 1x3x64x64")
    assert e.value.exit_code == 2 and "\n" not in str(e.value)


def test_unsupported_numpy_dtype(cpu_engine):
    with pytest.raises(kiln.Error, match="input 'pixel_values' has numpy dtype complex64"):
        cpu_engine.run({"pixel_values": np.zeros((1, 3, 128, 128), np.complex64)})


def test_wrong_number_of_inputs(cpu_engine, tiny_input):
    with pytest.raises(kiln.Error, match=r"run\(\) got 2 inputs, the engine takes 1 \(pixel_values\)"):
        cpu_engine.run([tiny_input, tiny_input])


def test_missing_input(cpu_engine):
    with pytest.raises(kiln.Error, match="missing input 'pixel_values'|input 'pixel_values' is missing"):
        cpu_engine.run({})


def test_outputs_argument_needs_cuda_tensors(cpu_engine, tiny_input):
    with pytest.raises(kiln.Error, match="outputs= takes CUDA tensors"):
        cpu_engine.run(tiny_input, outputs={"logits": np.zeros((1, 19, 32, 32), np.float32)})


def test_engine_stays_usable_after_an_error(cpu_engine, tiny_input, tiny_golden):
    with pytest.raises(kiln.Error):
        cpu_engine.run({"pixel_values": tiny_input[:, :, :64]})
    from conftest import rel_l2
    assert rel_l2(cpu_engine.run(tiny_input)["logits"], tiny_golden) <= 1e-5


def test_import_needs_no_torch():
    # torch blocked: `import kiln` and the CPU API work, `kiln.torch` says torch is missing.
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "import kiln\n"
        "assert callable(kiln.build) and callable(kiln.load)\n"
        "try:\n"
        "    kiln.torch\n"
        "except ImportError:\n"
        "    print('torch-missing-reported')\n"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "torch-missing-reported"


class _FakeCudaTensor:
    """Claims CUDA memory through the DLPack protocol; must never be exported by a CPU engine."""

    def __dlpack_device__(self):
        return (2, 0)

    def __dlpack__(self, stream=None):
        raise AssertionError("a CPU engine must refuse CUDA inputs before taking them")


def test_cuda_inputs_on_a_cpu_engine_are_refused(cpu_engine):
    with pytest.raises(kiln.Error) as e:
        cpu_engine.run({"pixel_values": _FakeCudaTensor()})
    assert e.value.exit_code == 2
    assert ("the engine runs on cpu" in str(e.value)) or ("only the cpu device" in str(e.value))


def test_numpy_arrays_with_dlpack_run_on_the_host(cpu_engine, tiny_input):
    # numpy arrays speak DLPack too, with a CPU device: they take the host path.
    assert hasattr(tiny_input, "__dlpack_device__") and tiny_input.__dlpack_device__()[0] == 1
    assert cpu_engine.run(tiny_input)["logits"].shape == (1, 19, 32, 32)


@pytest.mark.skipif(not kiln.has_cuda, reason="the pointer path exists in CUDA builds only")
def test_pointer_path_refuses_a_cpu_engine_and_wrong_counts(cpu_engine):
    # kiln.torch's fast path: a CPU engine never dereferences the pointers it is given.
    with pytest.raises(kiln.Error) as e:
        cpu_engine._run_pointers([1], [(1, 3, 128, 128)], [1], [(1, 19, 32, 32)], 0)
    assert e.value.exit_code == 2 and "not on CUDA pointers" in str(e.value)
