"""Building from ONNX and running on the CPU backend, against the PyTorch golden."""
import numpy as np
import pytest

import kiln
from conftest import rel_l2


def test_cpu_engine_matches_pytorch_golden(cpu_engine, tiny_input, tiny_golden):
    out = cpu_engine.run({"pixel_values": tiny_input})
    assert list(out) == ["logits"]
    logits = out["logits"]
    assert isinstance(logits, np.ndarray)
    assert logits.dtype == np.float32 and logits.shape == tiny_golden.shape
    assert rel_l2(logits, tiny_golden) <= 1e-5


def test_inputs_as_dict_sequence_or_single_array_agree(cpu_engine, tiny_input):
    by_dict = cpu_engine.run({"pixel_values": tiny_input})["logits"]
    by_list = cpu_engine.run([tiny_input])["logits"]
    by_array = cpu_engine.run(tiny_input)["logits"]
    np.testing.assert_array_equal(by_dict, by_list)
    np.testing.assert_array_equal(by_dict, by_array)


def test_non_contiguous_input_is_read_by_value(cpu_engine, tiny_input):
    # A transposed view holding the same values must give the same logits.
    flipped = np.ascontiguousarray(np.swapaxes(tiny_input, 2, 3))
    view = np.swapaxes(flipped, 2, 3)
    assert not view.flags["C_CONTIGUOUS"]
    np.testing.assert_array_equal(cpu_engine.run(view)["logits"], cpu_engine.run(tiny_input)["logits"])


def test_outputs_depend_on_the_input(cpu_engine, tiny_input):
    a = cpu_engine.run(tiny_input)["logits"]
    b = cpu_engine.run(tiny_input * 0.5)["logits"]
    assert rel_l2(a, b) > 1e-3


def test_output_arrays_survive_the_engine(tiny_onnx, tiny_input, tiny_golden):
    engine = kiln.build(tiny_onnx, precision="fp32", device="cpu")
    logits = engine.run(tiny_input)["logits"]
    del engine
    assert rel_l2(logits, tiny_golden) <= 1e-5


def test_inputs_and_outputs_metadata(cpu_engine):
    assert cpu_engine.device == "cpu"
    assert cpu_engine.precision == "fp32"
    [i] = cpu_engine.inputs
    assert (i.name, i.shape, i.dtype) == ("pixel_values", (1, 3, 128, 128), "float32")
    [o] = cpu_engine.outputs
    assert (o.name, o.shape, o.dtype) == ("logits", (1, 19, 32, 32), "float32")
    assert "pixel_values" in repr(i)


def test_build_with_shapes_fixes_symbolic_dims(tmp_path, tiny_onnx, tiny_input, tiny_golden):
    # The tiny model is static; `shapes` naming its own dims is accepted and changes nothing.
    engine = kiln.build(tiny_onnx, precision="fp32", device="cpu", shapes={"pixel_values": (1, 3, 128, 128)})
    assert engine.inputs[0].shape == (1, 3, 128, 128)
    assert rel_l2(engine.run(tiny_input)["logits"], tiny_golden) <= 1e-5


def test_module_reports_version_and_backends():
    assert kiln.__version__.count(".") == 2
    assert isinstance(kiln.has_cuda, bool)
