"""The teaching examples run (quick mode), write their PNG, and show the numbers docs/tutorial.md quotes.

The expected numbers come from closed forms or from plain numpy re-implementations of the
textbook rules in this file, never from gradtx's own output.
"""

from __future__ import annotations

import importlib.util
import math
import os
import pathlib
import subprocess
import sys

import jax
import numpy as np
import pytest

pytestmark = pytest.mark.slow  # runs the examples end to end (CI runs it)

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def example(monkeypatch):
    """Import ``examples/<name>.py`` as a module (its folder on sys.path for ``_teaching``).

    Its ``main`` runs under JAX's default promotion rules, as it does as a script: the
    suite's strict settings (conftest.py) are for gradtx's own code, and the examples are
    user code that broadcasts a bias the usual way.
    """
    monkeypatch.syspath_prepend(str(EXAMPLES))

    def load(name: str):
        spec = importlib.util.spec_from_file_location(f"teaching_{name}", EXAMPLES / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        main = module.main

        def main_as_script(argv):
            with jax.numpy_rank_promotion("allow"), jax.numpy_dtype_promotion("standard"):
                return main(argv)

        module.main = main_as_script
        return module

    return load


def assert_png(path) -> None:
    data = pathlib.Path(path).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000, path


def test_learning_rate_effect_follows_the_closed_form(example, tmp_path, capsys):
    out = example("learning_rate_effect").main(["--quick", "--out", str(tmp_path / "lr.png")])
    assert_png(out["out"])
    for lr, xs in out["trajectories"].items():
        expected = [2.0]  # x_(k+1) = (1 - 8 lr) x_k, the gradient of 4x^2 being 8x
        for _ in range(len(xs) - 1):
            expected.append((1 - 8 * lr) * expected[-1])
        np.testing.assert_allclose(xs, expected, rtol=1e-5, atol=1e-6)
    first = [2.0, (1 - 8 * 1.0) * 2.0, (1 - 8 * 1.0) ** 2 * 2.0]
    assert first == [2.0, -14.0, 98.0]
    assert " -> ".join(f"{x:g}" for x in first) in capsys.readouterr().out  # the docs quote 2 -> -14 -> 98
    np.testing.assert_allclose(out["trajectories"][0.2][:3], [2.0, -1.2, 0.72], rtol=1e-6)
    assert np.all(out["trajectories"][0.125][1:] == 0)
    losses = out["mlp_losses"]
    assert losses["good"][-1] < losses["too small"][-1] < losses["too small"][0]


def heavy_ball(curvature, start, lr, m, steps, nesterov=False):
    """torch.optim.SGD's momentum rule on 0.5 * sum(c p^2), in float64: the iterates."""
    p, v, out = np.array(start, np.float64), np.zeros(2), []
    out.append(p.copy())
    for _ in range(steps):
        g = curvature * p
        v = m * v + g
        p = p - lr * (g + m * v if nesterov else v)
        out.append(p.copy())
    return np.array(out)


def first_inside(ps, tol):
    inside = np.flatnonzero(np.linalg.norm(ps, axis=1) < tol)
    return int(inside[0]) if inside.size else None


def test_momentum_expansion_and_steps_to_converge(example, tmp_path):
    module = example("momentum")
    out = module.main(["--out", str(tmp_path / "momentum.png")])  # full size: 800 cheap steps
    assert_png(out["out"])
    assert out["expansion_error"]["torch"] < 1e-5 and out["expansion_error"]["ema"] < 1e-5
    assert out["ema_rescaled_vs_torch"] < 1e-5 and out["torch_door_vs_sgd"] == 0
    c, start, lr, m = np.array([1.0, 100.0]), module.START, module.LR, module.M
    expected = {
        f"SGD, lr={lr:g}": heavy_ball(c, start, lr, 0.0, 800),
        f"SGD, lr={module.LR_ZIGZAG:g} (zig-zags)": heavy_ball(c, start, module.LR_ZIGZAG, 0.0, 800),
        f"momentum {m:g}, torch form": heavy_ball(c, start, lr, m, 800),
        f"momentum {m:g}, EMA form, same lr": heavy_ball(c, start, lr * (1 - m), m, 800),
        f"Nesterov {m:g}": heavy_ball(c, start, lr, m, 800, nesterov=True),
    }
    for name, ps in expected.items():
        k = first_inside(ps, module.TOL)
        assert k is not None and abs(out["converged"][name] - k) <= 1, (name, out["converged"][name], k)
    steps = out["converged"]
    assert steps[f"Nesterov {m:g}"] < steps[f"momentum {m:g}, torch form"] < steps[f"SGD, lr={lr:g}"] / 4


def test_adaptive_rates_adagrad_step_sizes(example, tmp_path):
    module = example("adaptive_rates")
    out = module.main(["--quick", "--out", str(tmp_path / "adaptive.png")])
    assert_png(out["out"])
    assert out["adagrad_formula_error"] < 1e-10
    g1 = np.array([100.0, 0.1]) * np.array(module.START)  # the first gradient, c * p0
    np.testing.assert_allclose(
        out["effective"][f"Adagrad lr={module.ADAGRAD_LR:g}"][0], module.ADAGRAD_LR / np.abs(g1), rtol=1e-8
    )  # 0.005 and 1.67: sigma_1 = |g_1|
    np.testing.assert_allclose(out["effective"]["SGD lr=0.019"], 0.019, rtol=1e-8)
    for losses in out["losses"].values():
        assert losses[-1] < losses[0]


def test_lr_schedules_follow_torch(example, tmp_path):
    torch = pytest.importorskip("torch")
    module = example("lr_schedules_training")
    out = module.main(["--steps", "6", "--out", str(tmp_path / "schedules.png")])
    assert_png(out["out"])
    spe, runs = out["steps_per_epoch"], out["runs"]
    step_lr = runs[f"StepLR (step_size={out['step_size']})"].lrs
    np.testing.assert_allclose(
        step_lr, [module.LR * 0.1 ** (t // spe // out["step_size"]) for t in range(len(step_lr))], rtol=1e-6
    )
    # ReduceLROnPlateau: torch's scheduler fed the same validation losses gives the same rate per epoch.
    plateau = runs["ReduceLROnPlateau (patience=3)"]
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=module.LR, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="min", factor=0.1, patience=3)
    for epoch, val_loss in enumerate(plateau.val_loss):
        np.testing.assert_allclose(
            plateau.lrs[epoch * spe : (epoch + 1) * spe], opt.param_groups[0]["lr"], rtol=1e-6
        )
        scheduler.step(val_loss)
    for h in runs.values():
        assert len(h.val_loss) == 6 and all(math.isfinite(v) for v in h.val_loss)


def test_ten_optimizers_table(example, tmp_path, capsys):
    out = example("ten_optimizers").main(["--quick", "--out", str(tmp_path / "ten.png")])
    assert_png(out["out"])
    names = [
        "SGD",
        "Adagrad",
        "RMSprop",
        "Adadelta",
        "Adam",
        "Adamax",
        "SparseAdam",
        "ASGD",
        "Rprop",
        "LBFGS",
    ]
    assert sorted(out["results"]) == sorted(names)
    printed = capsys.readouterr().out
    for name, r in out["results"].items():
        assert r["losses"][0] == pytest.approx(math.log(10), rel=1e-6)  # zero table: uniform logits
        assert np.all(np.isfinite(r["losses"])) and f"\n{name} " in printed
        assert r["rows_updated"] <= out["rows_used"]
    assert out["results"]["LBFGS"]["losses"][-1] < out["results"]["SGD"]["losses"][-1]


def test_lr_finder_saves_its_plot_by_default(tmp_path):
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "lr_finder.py"), "--steps", "60", "--train-steps", "20"],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    png = tmp_path / "gradtx-examples" / "lr_finder.png"
    assert f"wrote {png}" in result.stdout
    assert_png(png)
