"""Engine files from Python: save, load, and agreement with the CLI's reading of them."""
import numpy as np
import pytest

import kiln
from conftest import rel_l2


def test_save_load_round_trip_gives_identical_outputs(tmp_path, cpu_engine, tiny_input, tiny_golden):
    path = tmp_path / "tiny.kiln"
    cpu_engine.save(str(path))
    assert path.read_bytes()[:8] == b"KILNENG\x1a"
    loaded = kiln.load(str(path))
    assert loaded.device == "cpu" and loaded.precision == "fp32"
    assert [(t.name, t.shape, t.dtype) for t in loaded.inputs] == [(t.name, t.shape, t.dtype) for t in cpu_engine.inputs]
    assert [(t.name, t.shape, t.dtype) for t in loaded.outputs] == [(t.name, t.shape, t.dtype) for t in cpu_engine.outputs]
    a = cpu_engine.run(tiny_input)["logits"]
    b = loaded.run(tiny_input)["logits"]
    np.testing.assert_array_equal(a, b)
    assert rel_l2(b, tiny_golden) <= 1e-5


def test_saved_engine_runs_in_the_cli(tmp_path, cpu_engine, tiny_input, kiln_cli):
    path = tmp_path / "tiny.kiln"
    cpu_engine.save(str(path))
    np.save(tmp_path / "x.npy", tiny_input)
    code, err = kiln_cli("run", path, "--input", f"pixel_values={tmp_path / 'x.npy'}", "-o", tmp_path / "out")
    assert code == 0, err
    np.testing.assert_array_equal(np.load(tmp_path / "out" / "logits.npy"), cpu_engine.run(tiny_input)["logits"])


def test_cli_engine_loads_in_python(tmp_path, tiny_onnx, tiny_input, kiln_cli):
    path = tmp_path / "cli.kiln"
    code, err = kiln_cli("build", tiny_onnx, "-o", path)
    assert code == 0, err
    engine = kiln.load(str(path))
    np.testing.assert_array_equal(engine.run(tiny_input)["logits"],
                                  kiln.build(tiny_onnx, precision="fp32", device="cpu").run(tiny_input)["logits"])


def test_corrupt_engine_is_refused_with_the_cli_message(tmp_path, cpu_engine, kiln_cli):
    path = tmp_path / "corrupt.kiln"
    cpu_engine.save(str(path))
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte in the payload
    path.write_bytes(bytes(data))
    with pytest.raises(kiln.Error) as e:
        kiln.load(str(path))
    code, cli_message = kiln_cli("inspect", path)
    assert code == 2 and e.value.exit_code == 2
    assert str(e.value) == cli_message
    assert "\n" not in str(e.value)


def test_truncated_engine_is_refused(tmp_path, cpu_engine):
    path = tmp_path / "short.kiln"
    cpu_engine.save(str(path))
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(kiln.Error) as e:
        kiln.load(str(path))
    assert str(path) in str(e.value) and e.value.code == "invalid_argument"


def test_load_of_an_onnx_file_says_to_build_it(tiny_onnx):
    with pytest.raises(kiln.Error, match="is not an engine file; build one with kiln.build"):
        kiln.load(tiny_onnx)


def test_load_of_a_missing_file(tmp_path):
    missing = tmp_path / "missing.kiln"
    with pytest.raises(kiln.Error) as e:
        kiln.load(str(missing))
    assert str(missing) in str(e.value) and e.value.exit_code == 2


def test_save_to_a_directory_is_refused(tmp_path, cpu_engine):
    with pytest.raises(kiln.Error, match="is a directory"):
        cpu_engine.save(str(tmp_path))
