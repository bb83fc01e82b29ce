"""Smoke tests: every example runs (a few steps) and ends where it says it does."""

import pathlib
import subprocess
import sys

import pytest

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples"


def run_example(name: str, *args: str, env: dict | None = None) -> str:
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args], capture_output=True, text=True, timeout=600, env=env
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_quickstart_trains():
    out = run_example("quickstart.py", "--steps", "150")
    accuracy = float(out.strip().splitlines()[-1].split("test accuracy")[-1])
    assert accuracy > 0.8, out
