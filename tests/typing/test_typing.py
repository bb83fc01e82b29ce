"""gradtx type-checks (issue 11): ``mypy --strict`` and ``pyright`` pass on gradtx/ and tests/typing/.

Both run as CI runs them, ``python -m mypy`` and ``python -m pyright`` from the repository root
(their settings are in pyproject.toml), with this interpreter's directory first on ``PATH``:
pyright finds jax through the ``python`` on ``PATH``. ``misuse.py`` holds calls that must stay
errors, so these tests also fail when a factory's signature stops being checked.
"""

from __future__ import annotations

import importlib.util
import math
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _check(*command: str) -> None:
    """Run ``python -m <command>`` in the repository root; fail with its output unless it exits 0."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), env.get("PATH", "")])
    result = subprocess.run(
        [sys.executable, "-m", *command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    output = (result.stdout + result.stderr).strip()
    assert result.returncode == 0, f"`python -m {' '.join(command)}` exited {result.returncode}:\n{output}"


# Slow: .ci/run runs both checkers itself; the everyday run leaves them to the editor and CI.
@pytest.mark.slow
@pytest.mark.parametrize("checker", ["mypy", "pyright"])
def test_the_type_checkers_pass(checker: str) -> None:
    _check(checker)


def test_the_typed_user_script_runs() -> None:
    """What the checkers accept also works: a few jitted steps of each optimizer in user_script.py."""
    spec = importlib.util.spec_from_file_location("user_script", pathlib.Path(__file__).with_name("user_script.py"))
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    losses = script.main()
    assert set(losses) == set(script.OPTIMIZERS)
    assert all(math.isfinite(loss) for loss in losses.values()), losses
