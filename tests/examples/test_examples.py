"""Smoke tests: every example runs (a few steps) and ends where it says it does."""

import pathlib
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow  # runs the examples end to end (CI runs it)

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


def test_schedules_gallery_plots_every_schedule(tmp_path):
    import inspect

    import gradtx

    out = run_example("schedules_gallery.py", "--out-dir", str(tmp_path))
    written = {pathlib.Path(line).name for line in out.split()}
    assert written == {p.name for p in tmp_path.iterdir()}
    schedules = {
        name
        for name, obj in vars(gradtx).items()
        if inspect.isfunction(obj)
        and obj.__module__.startswith("gradtx._schedules.")
        and name.endswith(("_schedule", "_schedules", "_decay"))
    }
    schedules.remove("onecycle_momentum_schedule")  # drawn on the plots of onecycle_schedule
    assert {f"{name}.png" for name in schedules} <= written
    for png in tmp_path.iterdir():
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000


def test_lr_finder_suggests_a_rate_that_trains_and_plots_it(tmp_path):
    png = tmp_path / "lr_finder.png"
    out = run_example("lr_finder.py", "--steps", "80", "--train-steps", "150", "--out", str(png))
    lines = out.strip().splitlines()
    suggested = float(next(line for line in lines if line.startswith("suggested learning rate")).split()[-1])
    assert 1e-5 < suggested < 10.0, out
    assert float(lines[-1].split("test accuracy")[-1]) > 0.8, out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
