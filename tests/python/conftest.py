"""Shared fixtures of the Python tests: the tiny SegFormer reference model (tests/models), its
PyTorch golden, a CPU engine built from it, and the kiln CLI binary to compare messages with.
Run with PYTHONPATH=build/python (scripts/test.sh does); KILN_BINARY overrides build/kiln."""
import os
import pathlib
import subprocess

import numpy as np
import pytest

import kiln

ROOT = pathlib.Path(__file__).resolve().parents[2]
TINY = ROOT / "tests" / "models" / "segformer_tiny"


def rel_l2(a, b):
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-30))


@pytest.fixture(scope="session")
def tiny_onnx():
    return str(TINY / "model.onnx")


@pytest.fixture(scope="session")
def tiny_input():
    return np.load(TINY / "inputs" / "pixel_values.npy")


@pytest.fixture(scope="session")
def tiny_golden():
    return np.load(TINY / "golden" / "logits.npy")


@pytest.fixture(scope="session")
def cpu_engine(tiny_onnx):
    return kiln.build(tiny_onnx, precision="fp32", device="cpu")


@pytest.fixture(scope="session")
def kiln_cli():
    """Runs the kiln binary; returns (exit code, its one stderr line without 'kiln: error: ')."""
    binary = os.environ.get("KILN_BINARY", str(ROOT / "build" / "kiln"))
    assert os.access(binary, os.X_OK), f"no kiln binary at {binary} (build it, or set KILN_BINARY)"

    def run(*args):
        p = subprocess.run([binary, *map(str, args)], capture_output=True, text=True, timeout=300)
        err = p.stderr.strip()
        prefix = "kiln: error: "
        return p.returncode, err[len(prefix):] if err.startswith(prefix) else err

    return run
