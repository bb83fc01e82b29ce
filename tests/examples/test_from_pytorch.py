"""examples/from_pytorch.py: the torch loop and its gradtx twin end at the same parameters."""

import pathlib
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow  # runs the examples end to end (CI runs it)

EXAMPLE = pathlib.Path(__file__).resolve().parents[2] / "examples" / "from_pytorch.py"


def test_torch_and_gradtx_loops_agree():
    result = subprocess.run(
        [sys.executable, str(EXAMPLE), "--steps", "60", "--print-every", "20"], capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.strip().splitlines()
    torch_lines = [line.split()[1:] for line in lines if line.startswith("torch ")]
    gradtx_lines = [line.split()[1:] for line in lines if line.startswith("gradtx ")]
    assert len(torch_lines) == 3 and torch_lines == gradtx_lines, result.stdout  # same losses and rates, printed
    assert float(lines[-1].split(":")[-1]) < 1e-9, result.stdout
