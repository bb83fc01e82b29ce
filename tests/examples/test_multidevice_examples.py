"""Smoke tests of the multi-device examples: a few steps each, on the devices they set up themselves.

The examples ask XLA for 8 CPU devices when the machine has no accelerator and the flag is
not set, so they run here without ``XLA_FLAGS``.
"""

from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow  # runs the examples end to end (CI runs it)

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples"


def run_example(name: str, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args], capture_output=True, text=True, timeout=600, env=env
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def number(pattern: str, out: str) -> float:
    match = re.search(pattern, out)
    assert match, f"{pattern!r} not in:\n{out}"
    return float(match.group(1).replace(",", ""))


def test_data_parallel_pmap_matches_one_device_and_trains():
    out = run_example("data_parallel_pmap.py", "--steps", "80")
    devices = int(number(r"^(\d+) devices: (\w+)", out))
    assert devices == 8 or "cpu" not in out.splitlines()[0], out  # 8 simulated CPU devices
    assert number(r"whole batch: max \|difference\| (\S+)", out) < 1e-5, out
    assert number(r"replicas differ by at most (\S+)", out) == 0.0, out
    assert number(r"test accuracy (\S+)", out) > 0.85, out


def test_sharded_training_keeps_an_eighth_of_the_state_per_device():
    out = run_example("sharded_training.py", "--steps", "60", "--hidden", "256")
    devices = int(number(r"mesh: (\d+) ", out))
    assert devices == 8 or " cpu " not in out.splitlines()[0], out
    planned = number(r"planned optimizer state: [\d,]+ bytes in all, ([\d,]+) bytes per device", out)
    per_device = number(r"optimizer state per device: ([\d,]+) bytes", out)
    replicated = number(r"; replicated: ([\d,]+) bytes", out)
    assert planned == per_device, out
    assert per_device / replicated < 1 / devices * 1.01, out
    assert "state still sharded as planned after training: True" in out, out
    assert number(r"test accuracy (\S+)", out) > 0.85, out
